package dev.offload.supervisor.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.offload.supervisor.store.StoreException;
import dev.offload.wire.RefusalTrailers;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import org.junit.jupiter.api.Test;

/** What the service answers a submission its job store could not record. */
class OffloadServiceTest {

  @Test
  void storeRefusal_fullDisk_isResourceExhausted_withTheStoresWords_andItsReason() {
    StatusRuntimeException e = OffloadService.storeRefusal(
        new StoreException("the job store /s/jobs.db cannot record jobs: its disk is full (x); free space", null, true));
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().startsWith("the job store /s/jobs.db cannot record jobs: its disk is full"),
        e.getStatus().getDescription());
    assertTrue(e.getStatus().getDescription().contains("the job was not accepted"), e.getStatus().getDescription());
    assertEquals(RefusalTrailers.STORE_CANNOT_WRITE, e.getTrailers().get(RefusalTrailers.REASON));
  }

  @Test
  void storeRefusal_readOnlyOrFailingDisk_isUnavailable_withItsReason() {
    StatusRuntimeException e = OffloadService.storeRefusal(
        new StoreException("the job store /s/jobs.db cannot record jobs: it is read-only (x); make it writable", null, false));
    assertEquals(Status.Code.UNAVAILABLE, e.getStatus().getCode());
    assertTrue(e.getStatus().getDescription().contains("read-only"), e.getStatus().getDescription());
    assertEquals(RefusalTrailers.STORE_CANNOT_WRITE, e.getTrailers().get(RefusalTrailers.REASON));
  }
}
