package dev.offload.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import picocli.CommandLine;

/**
 * The deployment files in deploy/ and the image configuration in cli/pom.xml: the Kubernetes
 * manifests parsed as YAML (probes on the health port, ports that match the arguments, a non-root
 * user, secrets that exist, no secret inline), the systemd unit checked by systemd-analyze where it
 * is installed and by its keys, and every serve option they pass known to serve.
 */
class DeploymentFilesIT {

  private static final Path ROOT = Path.of(System.getProperty("offload.test.projectRoot", "..")).toAbsolutePath().normalize();
  private static final Path KUBERNETES = ROOT.resolve("deploy/kubernetes");
  private static final Path UNIT = ROOT.resolve("deploy/systemd/offload.service");

  @TempDir Path tmp;

  // ---- Kubernetes ----

  @Test
  void deployment_runsThreeSupervisorsAsNonRoot() throws IOException {
    Map<String, Object> deployment = only("Deployment");
    Map<String, Object> spec = map(deployment, "spec");
    Map<String, Object> pod = map(map(spec, "template"), "spec");
    Map<String, Object> podSecurity = map(pod, "securityContext");
    Map<String, Object> container = container();
    Map<String, Object> containerSecurity = map(container, "securityContext");

    assertEquals(3, spec.get("replicas"));
    assertEquals(map(spec, "selector").get("matchLabels"), map(map(spec, "template"), "metadata").get("labels"));
    assertEquals(true, podSecurity.get("runAsNonRoot"));
    assertNotEquals(0, podSecurity.get("runAsUser"));
    assertTrue(podSecurity.get("runAsUser") instanceof Integer, "runAsUser must be a number: " + podSecurity.get("runAsUser"));
    assertEquals(false, containerSecurity.get("allowPrivilegeEscalation"));
    assertEquals(true, containerSecurity.get("readOnlyRootFilesystem"));
    assertEquals(List.of("ALL"), map(containerSecurity, "capabilities").get("drop"));
    assertEquals("serve", args().getFirst());
  }

  @Test
  void deployment_portsMatchTheArguments() throws IOException {
    Map<String, String> options = options(args());
    Map<String, Integer> ports = containerPorts();

    assertEquals(port(options.get("--listen")), ports.get("grpc"), "the grpc port is --listen's");
    assertEquals(port(options.get("--health")), ports.get("health"), "the health port is --health's");
    assertTrue(options.get("--listen").startsWith("0.0.0.0:"), "a pod must listen beyond loopback: " + options.get("--listen"));
  }

  @Test
  void deployment_probesAreGrpcOnTheHealthPort() throws IOException {
    Map<String, Object> container = container();
    int health = containerPorts().get("health");

    for (String probe : List.of("startupProbe", "readinessProbe", "livenessProbe")) {
      Map<String, Object> grpc = map(map(container, probe), "grpc");
      assertEquals(health, resolvePort(grpc.get("port")), probe + " must ask the health port, the one a probe can reach without token or TLS");
    }
    assertEquals("offload.v1.Offload", map(map(container, "readinessProbe"), "grpc").get("service"),
        "ready means a worker is ready: offload.v1.Offload's status");
  }

  @Test
  void deployment_givesACleanShutdownTime() throws IOException {
    Map<String, Object> pod = map(map(map(only("Deployment"), "spec"), "template"), "spec");
    long grace = ((Number) pod.get("terminationGracePeriodSeconds")).longValue();
    long shutdownGrace = new DurationConverter().convert(options(args()).get("--shutdown-grace")).toSeconds();
    Map<String, Object> liveness = map(container(), "livenessProbe");
    long livenessFailsAfter = ((Number) liveness.get("periodSeconds")).longValue() * ((Number) liveness.get("failureThreshold")).longValue();

    assertTrue(grace >= shutdownGrace + 5, "terminationGracePeriodSeconds " + grace + " must outlast --shutdown-grace " + shutdownGrace
        + " s plus the cancel grace and the server's stop");
    assertTrue(livenessFailsAfter > grace, "a liveness probe failing through a shutdown (" + livenessFailsAfter
        + " s) must not restart the container before its grace (" + grace + " s) ends");
  }

  @Test
  void deployment_secretsAreMountedFilesThatExistInTheSecrets() throws IOException {
    Map<String, Object> pod = map(map(map(only("Deployment"), "spec"), "template"), "spec");
    Map<String, Map<String, Object>> volumes = new LinkedHashMap<>();
    for (Object volume : list(pod, "volumes")) {
      volumes.put((String) ((Map<?, ?>) volume).get("name"), cast(volume));
    }
    Map<String, Set<String>> secrets = new LinkedHashMap<>();
    for (Map<String, Object> secret : all("Secret")) {
      Map<String, Object> values = secret.containsKey("stringData") ? map(secret, "stringData") : map(secret, "data");
      secrets.put((String) map(secret, "metadata").get("name"), values.keySet());
    }
    Map<String, String> options = options(args());

    for (String option : List.of("--token-file", "--store-password-file", "--tls-cert", "--tls-key")) {
      Path file = Path.of(options.get(option));
      Map<String, Object> mount = mountOf(file);
      Map<String, Object> secretVolume = map(volumes.get((String) mount.get("name")), "secret");
      String key = keyOf(secretVolume, Path.of((String) mount.get("mountPath")).relativize(file).toString());
      String secretName = (String) secretVolume.get("secretName");

      assertEquals(true, mount.get("readOnly"), option + "'s mount must be read-only");
      assertTrue(secrets.containsKey(secretName), option + " comes from secret " + secretName + ", which secret.yaml does not define");
      assertTrue(secrets.get(secretName).contains(key), option + " comes from key " + key + " of " + secretName + ", which it lacks");
      int mode = (Integer) secretVolume.get("defaultMode");
      assertTrue(mode == 0400 || mode == 0600, secretName + "'s defaultMode must be 0400 or 0600, is 0" + Integer.toOctalString(mode));
    }
  }

  @Test
  void deployment_holdsNoSecretValue() throws IOException {
    Map<String, Object> container = container();
    String store = options(args()).get("--store");

    assertNotNull(store);
    String userInfo = URI.create(store).getRawUserInfo();
    assertTrue(userInfo == null || !userInfo.contains(":"), "the --store URL must not carry a password: " + store);
    for (Object env : container.containsKey("env") ? list(container, "env") : List.of()) {
      Map<String, Object> variable = cast(env);
      String name = ((String) variable.get("name")).toUpperCase();
      boolean secretLike = name.contains("PASSWORD") || name.contains("TOKEN") || name.contains("SECRET") || name.contains("KEY");
      assertFalse(secretLike && variable.containsKey("value"), "environment variable " + name + " holds a secret inline;"
          + " take it from a Secret (valueFrom.secretKeyRef), or better, mount it as a file");
    }
    String text = Files.readString(KUBERNETES.resolve("deployment.yaml"));
    assertFalse(text.contains("BEGIN") || text.contains("PRIVATE KEY"), "deployment.yaml holds key material");
  }

  @Test
  void secretTemplate_holdsNoValue() throws IOException {
    for (Map<String, Object> secret : all("Secret")) {
      Map<String, Object> values = secret.containsKey("stringData") ? map(secret, "stringData") : map(secret, "data");
      values.forEach((key, value) -> assertEquals("", value, "secret.yaml must stay a template: " + key + " holds a value"));
    }
  }

  @Test
  void service_exposesTheContainersNamedPorts() throws IOException {
    Map<String, Object> service = only("Service");
    Map<String, Object> spec = map(service, "spec");
    Map<String, Integer> ports = containerPorts();

    assertEquals(map(map(map(only("Deployment"), "spec"), "selector"), "matchLabels"), spec.get("selector"));
    Set<Object> targets = new HashSet<>();
    for (Object port : list(spec, "ports")) {
      Object target = ((Map<?, ?>) port).get("targetPort");
      assertTrue(target instanceof String name ? ports.containsKey(name) : ports.containsValue(target),
          "the Service's targetPort " + target + " is no port of the container " + ports);
      targets.add(target);
    }
    assertTrue(targets.contains("grpc"), "the Service must expose the gRPC port");
  }

  @Test
  void kustomization_appliesTheDeploymentAndServiceButNeverTheSecretTemplate() throws IOException {
    Map<String, Object> kustomization = cast(load(KUBERNETES.resolve("kustomization.yaml")).getFirst());
    List<Object> resources = list(kustomization, "resources");

    assertEquals(Set.of("deployment.yaml", "service.yaml"), new HashSet<>(resources));
    for (Object resource : resources) {
      assertTrue(Files.isRegularFile(KUBERNETES.resolve((String) resource)), resource + " is missing");
    }
  }

  @Test
  void deployment_passesOnlyOptionsServeKnows() throws IOException {
    assertServeKnows(args(), "deployment.yaml");
  }

  // ---- systemd ----

  @Test
  void systemdUnit_passesSystemdAnalyzeVerify() throws Exception {
    assumeTrue(onPath("systemd-analyze"), "systemd-analyze is not installed here: the unit is checked by its keys only");
    // verify insists that ExecStart's program exists: point it at the launcher the distribution installs.
    Path launcher = ROOT.resolve("cli/src/dist/bin/offload");
    Path unit = tmp.resolve("offload.service");
    Files.writeString(unit, Files.readString(UNIT).replace("/opt/offload/bin/offload", launcher.toString()));

    Process verify = new ProcessBuilder("systemd-analyze", "verify", unit.toString()).redirectErrorStream(true).start();
    String output;
    try (InputStream in = verify.getInputStream()) {
      output = new String(in.readAllBytes(), StandardCharsets.UTF_8);
    }
    if (!verify.waitFor(60, TimeUnit.SECONDS)) {
      verify.destroyForcibly().waitFor();
      fail("systemd-analyze verify did not finish in 60 s");
    }

    // verify reports unknown keys and bad values on its output but still exits 0: both must be clean.
    assertEquals(0, verify.exitValue(), output);
    assertEquals("", output.strip(), "systemd-analyze verify found problems");
  }

  @Test
  void systemdUnit_stopsCleanly_andRestartsOnFailure() throws IOException {
    Map<String, String> service = unit().get("Service");
    List<String> exec = execStart();
    long shutdownGrace = new DurationConverter().convert(options(exec.subList(1, exec.size())).get("--shutdown-grace")).toSeconds();

    assertEquals("SIGTERM", service.get("KillSignal"), "SIGTERM is offload's clean shutdown");
    assertEquals("mixed", service.get("KillMode"), "SIGTERM must reach the supervisor only, not its worker JVMs");
    assertTrue(seconds(service.get("TimeoutStopSec")) >= shutdownGrace + 5,
        "TimeoutStopSec must outlast --shutdown-grace plus the cancel grace and the server's stop");
    assertEquals("on-failure", service.get("Restart"));
    assertNotEquals("yes", service.get("MemoryDenyWriteExecute"), "worker JVMs need W+X memory for their JIT");
  }

  @Test
  void systemdUnit_runsAsItsOwnUser_withSecretsAsCredentials() throws IOException {
    Map<String, String> service = unit().get("Service");
    Map<String, String> options = options(execStart().subList(1, execStart().size()));
    Set<String> credentials = Arrays.stream(service.get("LoadCredential").split("\n"))
        .map(line -> line.substring(0, line.indexOf(':'))).collect(Collectors.toSet());

    assertNotNull(service.get("User"));
    assertFalse(Set.of("root", "0").contains(service.get("User")), "the service must not run as root");
    for (String option : List.of("--token-file", "--store-password-file", "--tls-key")) {
      String file = options.get(option);
      assertTrue(file.startsWith("%d/"), option + " must come from the credentials directory (%d), is " + file);
      assertTrue(credentials.contains(file.substring(3)), option + " names credential " + file.substring(3)
          + ", which no LoadCredential= loads: " + credentials);
    }
    String store = options.get("--store");
    assertFalse(URI.create(store).getRawUserInfo().contains(":"), "the --store URL must not carry a password: " + store);
  }

  @Test
  void systemdUnit_startsTheInstalledDistribution_withOptionsServeKnows() throws IOException {
    List<String> exec = execStart();

    assertEquals("/opt/offload/bin/offload", exec.getFirst(), "deploy/README.md installs the distribution in /opt/offload");
    assertTrue(Files.readString(ROOT.resolve("cli/src/assembly/dist.xml")).contains("<outputDirectory>bin</outputDirectory>"),
        "the distribution must hold bin/offload");
    assertServeKnows(exec.subList(1, exec.size()), "offload.service");
  }

  // ---- the image (Jib) ----

  @Test
  void image_runsServeAsNonRoot_withTheLaunchersJvmOptions() throws Exception {
    Element jib = jibConfiguration();
    Element container = child(jib, "container");
    String user = text(child(container, "user"));
    List<String> flags = texts(child(container, "jvmFlags"));
    List<String> args = texts(child(container, "args"));
    String workerInto = text(child(child(child(child(jib, "extraDirectories"), "paths"), "path"), "into"));
    Set<String> exposed = new HashSet<>(texts(child(container, "ports")));

    assertTrue(user.matches("[1-9][0-9]*:[1-9][0-9]*"), "the image must run as a numeric non-root uid:gid, is " + user);
    assertEquals("dev.offload.cli.Main", text(child(container, "mainClass")));
    assertTrue(flags.contains("-Doffload.worker.home=" + workerInto), "workers start from the worker distribution the image"
        + " carries at " + workerInto + ": " + flags);
    String launcher = Files.readString(ROOT.resolve("scripts/offload"));
    String installed = Files.readString(ROOT.resolve("cli/src/dist/bin/offload"));
    for (String flag : List.of("--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow", "-Dio.netty.jfr.enabled=false",
        "-XX:+ExitOnOutOfMemoryError", "-XX:+DisplayVMOutputToStderr")) {
      assertTrue(launcher.contains(flag.split("=")[0]), "scripts/offload no longer passes " + flag + ": check the image's jvmFlags");
      assertTrue(installed.contains(flag.split("=")[0]), "the installed bin/offload does not pass " + flag + " as scripts/offload does");
      assertTrue(flags.contains(flag), "the image's JVM must get " + flag + " as scripts/offload's does: " + flags);
    }
    assertEquals("serve", args.getFirst());
    Map<String, String> options = options(args.subList(1, args.size()));
    assertTrue(exposed.contains(String.valueOf(port(options.get("--listen")))), "the image must expose --listen's port");
    assertTrue(exposed.contains(String.valueOf(port(options.get("--health")))), "the image must expose --health's port");
    assertServeKnows(args.subList(1, args.size()), "cli/pom.xml's image");
  }

  // ---- helpers ----

  private static void assertServeKnows(List<String> args, String where) {
    CommandLine.Model.CommandSpec serve = OffloadCommand.newCommandLine().getSubcommands().get("serve").getCommandSpec();
    for (String arg : args) {
      if (arg.startsWith("--")) {
        assertNotNull(serve.findOption(arg), where + " passes " + arg + ", which offload serve does not know");
      }
    }
  }

  private static List<Object> load(Path file) throws IOException {
    Yaml yaml = new Yaml(new SafeConstructor(new LoaderOptions()));
    List<Object> documents = new ArrayList<>();
    for (Object document : yaml.loadAll(Files.readString(file))) {
      if (document != null) {
        documents.add(document);
      }
    }
    return documents;
  }

  private static List<Map<String, Object>> all(String kind) throws IOException {
    List<Map<String, Object>> found = new ArrayList<>();
    for (String file : List.of("deployment.yaml", "service.yaml", "secret.yaml")) {
      for (Object document : load(KUBERNETES.resolve(file))) {
        Map<String, Object> manifest = cast(document);
        assertNotNull(manifest.get("apiVersion"), file + " has a document without apiVersion");
        if (kind.equals(manifest.get("kind"))) {
          found.add(manifest);
        }
      }
    }
    return found;
  }

  private static Map<String, Object> only(String kind) throws IOException {
    List<Map<String, Object>> found = all(kind);
    assertEquals(1, found.size(), "one " + kind + " expected");
    return found.getFirst();
  }

  private static Map<String, Object> container() throws IOException {
    List<Object> containers = list(map(map(map(only("Deployment"), "spec"), "template"), "spec"), "containers");
    assertEquals(1, containers.size());
    return cast(containers.getFirst());
  }

  private static List<String> args() throws IOException {
    return list(container(), "args").stream().map(String::valueOf).toList();
  }

  private static Map<String, Integer> containerPorts() throws IOException {
    Map<String, Integer> ports = new LinkedHashMap<>();
    for (Object port : list(container(), "ports")) {
      ports.put((String) ((Map<?, ?>) port).get("name"), (Integer) ((Map<?, ?>) port).get("containerPort"));
    }
    return ports;
  }

  private static int resolvePort(Object port) throws IOException {
    // A grpc probe takes a number only; a name would be refused by the API server.
    assertTrue(port instanceof Integer, "a grpc probe's port must be a number, is " + port);
    return (Integer) port;
  }

  private static Map<String, Object> mountOf(Path file) throws IOException {
    for (Object mount : list(container(), "volumeMounts")) {
      if (file.startsWith(Path.of((String) ((Map<?, ?>) mount).get("mountPath")))) {
        return cast(mount);
      }
    }
    throw new AssertionError(file + " is in no volume the container mounts");
  }

  private static String keyOf(Map<String, Object> secretVolume, String path) {
    if (!secretVolume.containsKey("items")) {
      return path;
    }
    for (Object item : list(secretVolume, "items")) {
      if (path.equals(((Map<?, ?>) item).get("path"))) {
        return (String) ((Map<?, ?>) item).get("key");
      }
    }
    throw new AssertionError(path + " is no item of secret " + secretVolume.get("secretName"));
  }

  /** Options and their values; every option the deployment files pass takes one. */
  private static Map<String, String> options(List<String> args) {
    Map<String, String> options = new LinkedHashMap<>();
    for (int i = 0; i < args.size(); i++) {
      if (args.get(i).startsWith("--")) {
        assertTrue(i + 1 < args.size() && !args.get(i + 1).startsWith("--"), args.get(i) + " has no value");
        options.put(args.get(i), args.get(i + 1));
      }
    }
    return options;
  }

  private static int port(String hostPort) {
    assertNotNull(hostPort);
    return Integer.parseInt(hostPort.substring(hostPort.lastIndexOf(':') + 1));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> cast(Object value) {
    assertTrue(value instanceof Map, "a mapping expected, found " + value);
    return (Map<String, Object>) value;
  }

  private static Map<String, Object> map(Map<String, Object> parent, String key) {
    assertTrue(parent.containsKey(key), key + " is missing from " + parent.keySet());
    return cast(parent.get(key));
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Map<String, Object> parent, String key) {
    Object value = parent.get(key);
    assertTrue(value instanceof List, key + " must be a list, is " + value);
    return (List<Object>) value;
  }

  /** The unit's keys by section; a key given more than once has its values joined by newlines. */
  private static Map<String, Map<String, String>> unit() throws IOException {
    Map<String, Map<String, String>> sections = new LinkedHashMap<>();
    Map<String, String> section = null;
    StringBuilder logical = new StringBuilder();
    for (String raw : Files.readAllLines(UNIT)) {
      String line = raw.strip();
      if (logical.isEmpty() && (line.isEmpty() || line.startsWith("#") || line.startsWith(";"))) {
        continue;
      }
      if (line.endsWith("\\")) {
        logical.append(line, 0, line.length() - 1).append(' ');
        continue;
      }
      logical.append(line);
      String whole = logical.toString();
      logical.setLength(0);
      if (whole.startsWith("[")) {
        section = sections.computeIfAbsent(whole.substring(1, whole.indexOf(']')), name -> new LinkedHashMap<>());
        continue;
      }
      assertNotNull(section, "a key before any section: " + whole);
      int eq = whole.indexOf('=');
      assertTrue(eq > 0, "not a key=value line: " + whole);
      section.merge(whole.substring(0, eq).strip(), whole.substring(eq + 1).strip(), (a, b) -> a + "\n" + b);
    }
    return sections;
  }

  private static List<String> execStart() throws IOException {
    return Arrays.asList(unit().get("Service").get("ExecStart").trim().split("\\s+"));
  }

  private static long seconds(String systemdTime) {
    assertTrue(systemdTime.matches("[0-9]+s?"), "a time in seconds expected: " + systemdTime);
    return Duration.ofSeconds(Long.parseLong(systemdTime.replace("s", ""))).toSeconds();
  }

  private static boolean onPath(String program) {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
        return true;
      }
    }
    return false;
  }

  private static Element jibConfiguration() throws Exception {
    Document pom = DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(ROOT.resolve("cli/pom.xml").toFile());
    NodeList plugins = pom.getElementsByTagName("plugin");
    for (int i = 0; i < plugins.getLength(); i++) {
      Element plugin = (Element) plugins.item(i);
      if ("jib-maven-plugin".equals(text(child(plugin, "artifactId")))) {
        Node profile = plugin.getParentNode().getParentNode().getParentNode();
        assertEquals("profile", profile.getNodeName(), "Jib must live in a profile, so that the normal build does not run it");
        return child(plugin, "configuration");
      }
    }
    throw new AssertionError("cli/pom.xml has no jib-maven-plugin");
  }

  private static Element child(Element parent, String name) {
    for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element && element.getTagName().equals(name)) {
        return element;
      }
    }
    throw new AssertionError("<" + parent.getTagName() + "> has no <" + name + ">");
  }

  private static String text(Element element) {
    return element.getTextContent().strip();
  }

  private static List<String> texts(Element parent) {
    List<String> values = new ArrayList<>();
    for (Node node = parent.getFirstChild(); node != null; node = node.getNextSibling()) {
      if (node instanceof Element element) {
        values.add(text(element));
      }
    }
    return values;
  }
}
