package dev.offload.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ch.qos.logback.classic.spi.LogbackServiceProvider;
import dev.offload.sdk.JobHandler;
import dev.offload.wire.PluginJars;
import dev.offload.wire.WorkerLaunch;
import org.junit.jupiter.api.Test;

/** The names the wire spells out (it cannot see the worker's classes) are the worker's own. */
class WireNamesTest {

  @Test
  void theLaunchNamesTheWorkersMainClassAndLoggingProvider() {
    assertEquals(WorkerMain.class.getName(), WorkerLaunch.MAIN_CLASS);
    assertEquals(LogbackServiceProvider.class.getName(), WorkerLaunch.LOGGING_PROVIDER);
  }

  @Test
  void pluginJarsReadTheServicesFileOfTheSdksHandlerInterface() {
    assertEquals("META-INF/services/" + JobHandler.class.getName(), PluginJars.SERVICES);
  }
}
