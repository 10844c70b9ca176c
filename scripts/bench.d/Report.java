import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Properties;

/**
 * Puts together what {@code scripts/bench} measured (the raw files in RAW_DIR) into
 * OUT_DIR/results.json, OUT_DIR/results.md and the chart's data and gnuplot script
 * (RAW_DIR/chart.dat, RAW_DIR/chart.gp). Run with offload's class path, for Jackson:
 * {@code java -cp 'cli/target/lib/*' scripts/bench.d/Report.java RAW_DIR OUT_DIR}. With {@code --only
 * cli-startup} first it writes OUT_DIR/cli-startup.json and cli-startup.md from that section alone.
 *
 * <p>Every figure it reports was measured by the same bench run; nothing is carried over from an
 * earlier one. A peer that was not measured (python3 missing) leaves its rows "not measured".
 */
public final class Report {

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private final Path raw;
  private final Properties values = new Properties();
  private final ArrayNode targets = NODES.arrayNode();
  private final List<String> notes = new ArrayList<>();

  private Report(Path raw) throws IOException {
    this.raw = raw;
    try (Reader in = Files.newBufferedReader(raw.resolve("values.properties"))) {
      values.load(in);
    }
  }

  public static void main(String[] args) throws Exception {
    boolean cliStartupOnly = args.length == 4 && args[0].equals("--only") && args[1].equals("cli-startup");
    if (args.length != 2 && !cliStartupOnly) {
      System.err.println("usage: java -cp 'cli/target/lib/*' Report.java [--only cli-startup] RAW_DIR OUT_DIR");
      System.exit(2);
    }
    Path out = Path.of(args[args.length - 1]);
    Files.createDirectories(out);
    Report report = new Report(Path.of(args[args.length - 2]));
    if (cliStartupOnly) {
      report.writeCliStartup(out);
    } else {
      report.write(out);
    }
  }

  /** The one-CLI-call section alone ({@code scripts/bench --only cli-startup}). */
  private void writeCliStartup(Path out) throws IOException {
    JsonNode cliStartup = json("cli_startup.json");
    ObjectNode root = NODES.objectNode();
    root.put("date", value("date"));
    ObjectNode m = root.putObject("machine");
    m.put("nproc", Integer.parseInt(value("nproc")));
    m.put("cpu_model", value("cpu_model"));
    m.put("jdk", value("jdk"));
    m.put("offload_commit", value("commit"));
    m.put("load_average_before", value("load_before"));
    m.put("load_average_after", value("load_after"));
    root.set("cli_startup", cliStartup);
    addCliStartupTargets(cliStartup);
    root.set("targets", targets);
    Files.writeString(out.resolve("cli-startup.json"), JSON.writeValueAsString(root) + "\n");
    StringBuilder md = new StringBuilder("# offload: one CLI call\n\n");
    md.append(String.format(Locale.ROOT, "Run %s by `scripts/bench --only cli-startup` on %s (%s cores), %s; load average %s before"
            + " and %s after the %s rounds.%n%n", value("date"), value("cpu_model"), value("nproc"), value("jdk"),
        cliStartup.path("load_before").asText(), cliStartup.path("load_after").asText(), cliStartup.path("runs").asInt()));
    targetTable(md);
    cliStartupTable(md, cliStartup);
    Files.writeString(out.resolve("cli-startup.md"), md.toString());
  }

  /**
   * The targets of one CLI call (issue 17): {@code offload run echo 1} against the warm service
   * within 4x {@code java -version}'s wall time and {@code offload --version} within 3x, p50s of
   * the same rounds.
   */
  private void addCliStartupTargets(JsonNode cliStartup) {
    double java = cliCommand(cliStartup, "java -version");
    String rounds = " (p50 of " + cliStartup.path("runs").asInt() + " rounds of the three in turn)";
    lower("`offload run echo 1` against the warm service vs `java -version`" + rounds,
        cliCommand(cliStartup, "offload run echo 1") * 1000, "ms", java * 1000, 4.0);
    lower("`offload --version` vs `java -version`" + rounds, cliCommand(cliStartup, "offload --version") * 1000, "ms", java * 1000, 3.0);
  }

  private static double cliCommand(JsonNode cliStartup, String name) {
    for (JsonNode c : cliStartup.path("results")) {
      if (c.path("command").asText().equals(name)) {
        return c.path("p50_s").asDouble();
      }
    }
    return Double.NaN;
  }

  private static void cliStartupTable(StringBuilder md, JsonNode cliStartup) {
    md.append("\n## One CLI call (p50 of ").append(cliStartup.path("runs").asInt())
        .append(" rounds; load average ").append(cliStartup.path("load_before").asText()).append(" before, ")
        .append(cliStartup.path("load_after").asText()).append(" after)\n\n| command | p50 ms | min ms | max ms |\n|---|---|---|---|\n");
    for (JsonNode c : cliStartup.path("results")) {
      double min = Double.MAX_VALUE;
      double max = 0;
      for (JsonNode t : c.path("times_s")) {
        min = Math.min(min, t.asDouble());
        max = Math.max(max, t.asDouble());
      }
      md.append(String.format(Locale.ROOT, "| `%s` | %s | %s | %s |%n", c.path("command_line").asText(), fmt(c.path("p50_s").asDouble() * 1000),
          fmt(min * 1000), fmt(max * 1000)));
    }
  }

  private void write(Path out) throws IOException {
    int workers = Integer.parseInt(value("workers"));
    JsonNode unixEcho = json("unix_echo.json");
    JsonNode unixPrime = json("unix_is_prime.json");
    JsonNode tcpEcho = json("tcp_echo.json");
    JsonNode threads = json("threads.json");
    JsonNode threadsWarm = json("threads_warm.json");
    JsonNode python = json("python.json");
    JsonNode startup = json("startup.json");

    ObjectNode root = NODES.objectNode();
    root.put("date", value("date"));
    root.set("machine", machine());
    root.set("config", config());

    ObjectNode offload = root.putObject("offload");
    ObjectNode unix = offload.putObject("unix");
    unix.put("target", value("unix_target"));
    unix.put("ready_s", number("unix_ready_s"));
    unix.set("bench_echo", unixEcho);
    unix.set("bench_is_prime", unixPrime);
    ObjectNode tcp = offload.putObject("tcp");
    tcp.put("target", value("tcp_target"));
    tcp.put("ready_s", number("tcp_ready_s"));
    tcp.set("bench_echo", tcpEcho);
    ObjectNode cpu = offload.putObject("bench_seed_primes");
    cpu.put("description", "the seed's 20 numbers x" + value("prime_rounds") + " as is_prime jobs through `offload bench` on the warm"
        + " Unix-socket service, all in flight, from the first send to the last result, after " + value("bench_cpu_warmup")
        + " of the same checks ran unmeasured");
    cpu.put("checks", (int) number("batch_checks"));
    cpu.put("warm_up_jobs", (int) number("bench_cpu_warmup"));
    cpu.put("seconds", number("bench_cpu_s"));
    cpu.set("seconds_runs", list("bench_cpu_runs_s"));
    ObjectNode batch = offload.putObject("batch_seed_primes");
    batch.put("description", "the seed's 20 numbers x" + value("prime_rounds") + " as is_prime jobs through `offload batch` on the Unix-socket service");
    batch.put("checks", (int) number("batch_checks"));
    batch.put("primes", (int) number("batch_primes"));
    batch.put("wall_s", number("batch_wall_s"));
    batch.set("wall_s_runs", list("batch_walls_s"));
    batch.put("wall_note", "the whole `offload batch` process (better of two runs): its JVM start, connection and exit included");

    ObjectNode baselines = root.putObject("baselines");
    ObjectNode threadsNode = baselines.putObject("one_jvm_n_threads");
    threadsNode.set("in_process_warm", threadsWarm);
    threadsNode.set("in_process_warm_s_runs", list("threads_warm_runs_s"));
    threadsNode.set("in_process", threads);
    threadsNode.set("in_process_s_runs", list("threads_inproc_s"));
    threadsNode.put("wall_s", number("threads_wall_s"));
    threadsNode.set("wall_s_runs", list("threads_walls_s"));
    threadsNode.put("wall_note", "the whole `java ThreadsBaseline` process (precompiled), JVM start included");
    ObjectNode perJob = baselines.putObject("one_jvm_per_job");
    perJob.put("parallelism", workers);
    perJob.put("prime_checks", (int) number("perjob_prime_checks"));
    perJob.put("prime_primes", (int) number("perjob_prime_primes"));
    perJob.put("prime_wall_s", number("perjob_prime_wall_s"));
    perJob.put("noop_jvms", (int) number("perjob_noop_jvms"));
    perJob.put("noop_wall_s", number("perjob_noop_wall_s"));
    perJob.put("noop_jvms_per_s", number("perjob_noop_jvms") / number("perjob_noop_wall_s"));
    perJob.put("command", value("perjob_command"));
    baselines.set("python_process_pool", python == null ? NODES.textNode("not measured: " + value("python_missing")) : python);

    ObjectNode start = root.putObject("startup");
    start.put("pool_ready_unix_s", number("unix_ready_s"));
    start.put("pool_ready_tcp_s", number("tcp_ready_s"));
    ArrayNode workerStarts = list("worker_ready_s");
    start.set("one_worker_jvm_ready_s", workerStarts);
    start.put("one_worker_jvm_ready_median_s", median(workerStarts));
    start.put("one_worker_jvm_command", value("worker_command"));
    start.put("timing_tool", value("timing_tool"));
    start.set("commands", startup.path("results"));
    ObjectNode lines = start.putObject("command_lines");
    for (String key : List.of("java -version", "java -version (worker flags + archive)", "offload run echo 1")) {
      lines.put(key, value("command." + key.replace(' ', '_')));
    }

    JsonNode cliStartup = json("cli_startup.json");
    root.set("cli_startup", cliStartup);
    JsonNode batchScripts = json("batch_scripts.json");
    root.set("batch_scripts", batchScripts == null ? NODES.textNode("not measured") : batchScripts);

    addTargets(workers, unixEcho, tcpEcho, threads, threadsWarm, python, startup, workerStarts, cliStartup);
    ObjectNode durability = durability(python);
    root.set("durability", durability);
    addDurabilityTargets(durability, python);
    root.set("targets", targets);
    notes.addAll(List.of(value("notes").split("\\|")).stream().filter(s -> !s.isBlank()).toList());
    ArrayNode notesNode = root.putArray("notes");
    notes.forEach(notesNode::add);

    Files.writeString(out.resolve("results.json"), JSON.writeValueAsString(root) + "\n");
    Files.writeString(out.resolve("results.md"), markdown(root, unixEcho, tcpEcho, python));
    writeChart(unixEcho, tcpEcho, python, workers);
  }

  private void addTargets(int n, JsonNode unixEcho, JsonNode tcpEcho, JsonNode threads, JsonNode threadsWarm, JsonNode python,
      JsonNode startup, ArrayNode workerStarts, JsonNode cliStartup) {
    JsonNode unixBest = best(unixEcho);
    JsonNode tcpBest = best(tcpEcho);
    double pySubmit = python == null ? Double.NaN : python.path("submit").path("tasks_per_s").asDouble();
    double pyAsync = python == null ? Double.NaN : python.path("run_in_executor").path("tasks_per_s").asDouble();
    double pyP50 = python == null ? Double.NaN : python.path("round_trip").path("p50_us").asDouble();

    String level = " (in-flight " + unixBest.path("in_flight").asInt() + ")";
    higher("no-op jobs/s, Unix socket" + level + " vs ProcessPoolExecutor submit(), N=" + n,
        unixBest.path("jobs_per_s").asDouble(), "jobs/s", pySubmit, 3.0, "ratio");
    higher("no-op jobs/s, TCP (in-flight " + tcpBest.path("in_flight").asInt() + ") vs ProcessPoolExecutor submit(), N=" + n,
        tcpBest.path("jobs_per_s").asDouble(), "jobs/s", pySubmit, 3.0, "ratio");
    higher("no-op jobs/s, Unix socket" + level + " vs loop.run_in_executor(ProcessPoolExecutor), N=" + n,
        unixBest.path("jobs_per_s").asDouble(), "jobs/s", pyAsync, 3.0, "ratio");
    JsonNode sequential = level(unixEcho, 1);
    lower("sequential round trip p50 (Java client, Unix socket) vs submit().result() p50",
        sequential == null ? Double.NaN : sequential.path("p50_us").asDouble(), "µs", pyP50, 0.5);

    int checks = (int) number("batch_checks");
    higher(checks + " seed primality checks on N=" + n + " workers, warm service (`offload bench`, first send to last result) vs one"
        + " JVM with N threads, warm (first submit to last result)",
        checks / number("bench_cpu_s"), "checks/s", threadsWarm.path("checks_per_s").asDouble(), 0.97, "percent");
    higher(checks + " seed primality checks, end to end from the shell (`offload batch` vs `java ThreadsBaseline`, each one JVM start)",
        checks / number("batch_wall_s"), "checks/s", threads.path("checks").asInt() / number("threads_wall_s"), 0.97, "percent");

    higher("small (no-op) jobs/s, Unix socket" + level + " vs one JVM per job (`xargs -P " + n + "`, no-op JVMs)",
        unixBest.path("jobs_per_s").asDouble(), "jobs/s", number("perjob_noop_jvms") / number("perjob_noop_wall_s"), 100.0, "ratio");
    higher(checks + " seed primality checks: `offload batch` vs one JVM per check (`xargs -P " + n + "`)",
        checks / number("batch_wall_s"), "checks/s", number("perjob_prime_checks") / number("perjob_prime_wall_s"), Double.NaN, "ratio");

    double pool = number("unix_ready_s");
    lower("pool of N=" + n + " ready (`offload serve` spawn to \"serving on\") vs one worker JVM spawn to ready, same archive",
        pool * 1000, "ms", median(workerStarts) * 1000, 2.0);
    JsonNode javaWorkerFlags = command(startup, "java -version (worker flags + archive)");
    lower("pool of N=" + n + " ready vs `java -version` with the workers' flags and archive",
        pool * 1000, "ms", javaWorkerFlags == null ? Double.NaN : javaWorkerFlags.path("median").asDouble() * 1000, 2.0);
    addCliStartupTargets(cliStartup);
  }

  /** The stores measured by the durability section, in the order of its tables. */
  private static final List<String> STORES = List.of("memory", "process", "machine");

  /** The stores the bench runs at once, taking turns round after round: their figures are the rounds' medians. */
  private static final List<String> TAKING_TURNS = List.of("memory", "process");

  /**
   * The durability section's figures: per store (memory:, sqlite: with process and machine
   * durability) jobs/s at in-flight 256, the sequential round trip and the durable submit; one
   * commit and one hand-off on their own; and the bounds the targets are checked against, each
   * computed from figures of this run.
   */
  private ObjectNode durability(JsonNode python) throws IOException {
    ObjectNode d = NODES.objectNode();
    d.put("description", "a service of its own per store, with the same --workers; memory: and process at once, each warmed as the"
        + " main services, then taking turns for `rounds` rounds, their figures the median round's; machine alone after them:"
        + " `offload bench` no-op echo"
        + " jobs at in-flight 256 (jobs/s) and 1 (sequential round trip), and `offload bench --submit-only` at in-flight 1 (SubmitJob"
        + " until its acknowledgement, which comes once the job is committed); one single-row SQLite commit (WAL, synchronous NORMAL"
        + " and FULL, the store's pragmas) and one thread hand-off (unpark of a parked platform thread until it runs) timed on their"
        + " own by scripts/bench.d/CommitCost.java on the stores' filesystem");
    d.put("store_filesystem", value("store_filesystem"));
    d.put("store_device", value("store_device"));
    JsonNode cost = json("commit_cost.json");
    d.set("commit_and_handoff", cost);
    ObjectNode stores = d.putObject("stores");
    int rounds = (int) number("durability_rounds");
    d.put("rounds", rounds);
    d.put("settle_jobs_per_pass", (int) number("echo_warmup"));
    d.put("settle_below_compiler_permille", (int) number("settle_permille"));
    d.put("settle_most_passes", (int) number("settle_passes"));
    for (String store : STORES) {
      ObjectNode node = stores.putObject(store);
      node.put("store", storeName(store));
      node.put("ready_s", number("durability_" + store + "_ready_s"));
      if (TAKING_TURNS.contains(store)) {
        List<JsonNode> at256 = new ArrayList<>();
        List<JsonNode> at1 = new ArrayList<>();
        ArrayNode each = node.putArray("rounds");
        for (int round = 1; round <= rounds; round++) {
          JsonNode bench = json("durability_" + store + "_round" + round + ".json");
          at256.add(level(bench, 256));
          at1.add(level(bench, 1));
          each.addObject().put("round", round).put("jobs_per_s_in_flight_256", level(bench, 256).path("jobs_per_s").asDouble())
              .put("sequential_p50_us", level(bench, 1).path("p50_us").asDouble());
        }
        node.set("in_flight_256", medianBy(at256, "jobs_per_s"));
        node.set("sequential", medianBy(at1, "p50_us"));
        node.put("sequential_warm_up_jobs", (int) number("echo_warmup"));
        node.put("settle_passes", (int) number("durability_" + store + "_settle_passes"));
        node.put("settle_last_pass_compiler_permille", (int) number("durability_" + store + "_settle_compiler_permille"));
      } else {
        node.set("in_flight_256", level(json("durability_" + store + ".json"), 256));
        node.set("sequential", level(json("durability_" + store + "_seq.json"), 1));
        node.put("sequential_warm_up_jobs", (int) number("durability_" + store + "_seq_warmup"));
      }
      if ("memory".equals(store)) {
        // One job at a time with a pause between a job's end and the next send: jobs that come to an idle service.
        node.set("sequential_after_idle", level(json("durability_memory_paused.json"), 1));
      }
      node.set("submit", level(json("durability_" + store + "_submit.json"), 1));
      node.set("stats", json("durability_" + store + ".stats.json"));
    }
    double memory256 = jobsPerSecond(stores, "memory");
    double process256 = jobsPerSecond(stores, "process");
    double pySubmit = python == null ? Double.NaN : python.path("submit").path("tasks_per_s").asDouble();
    ObjectNode ratios = d.putObject("ratios");
    ratios.put("process_vs_memory_jobs_per_s", process256 / memory256);
    ratios.put("machine_vs_memory_jobs_per_s", jobsPerSecond(stores, "machine") / memory256);
    if (Double.isNaN(pySubmit)) {
      ratios.putNull("process_vs_python_submit");
    } else {
      ratios.put("process_vs_python_submit", process256 / pySubmit);
    }
    ObjectNode bounds = d.putObject("bounds_us");
    double memoryP50 = p50(stores, "memory", "sequential");
    bounds.put("process_sequential_p50", memoryP50 + cost.path("normal").path("p50_us").asDouble()
        + cost.path("handoff").path("p50_us").asDouble());
    bounds.put("process_sequential_p50_formula", "memory: sequential p50 + one NORMAL commit p50 + one hand-off p50");
    bounds.put("machine_sequential_p50", memoryP50 + cost.path("full").path("p50_us").asDouble());
    bounds.put("machine_sequential_p50_formula", "memory: sequential p50 + one FULL commit p50");
    d.put("idle_pause_ms", (int) number("durability_idle_pause_ms"));
    bounds.put("machine_sequential_p50_after_idle", p50(stores, "memory", "sequential_after_idle")
        + cost.path("full_spaced").path("p50_us").asDouble());
    bounds.put("machine_sequential_p50_after_idle_formula", "memory: sequential p50 with a pause between jobs + one FULL commit p50"
        + " the same pause after the last");
    return d;
  }

  private void addDurabilityTargets(ObjectNode d, JsonNode python) {
    JsonNode stores = d.path("stores");
    double process256 = jobsPerSecond(stores, "process");
    double pySubmit = python == null ? Double.NaN : python.path("submit").path("tasks_per_s").asDouble();
    higher("durability: `process` no-op jobs/s at in-flight 256 vs `memory:`'s (same run, same --workers)",
        process256, "jobs/s", jobsPerSecond(stores, "memory"), 0.70, "percent");
    higher("durability: `process` no-op jobs/s at in-flight 256 vs ProcessPoolExecutor submit()",
        process256, "jobs/s", pySubmit, 5.0, "ratio");
    JsonNode cost = d.path("commit_and_handoff");
    lower(String.format(Locale.ROOT, "durability: `process` sequential p50 vs `memory:`'s + one NORMAL commit + one hand-off (%s + %s + %s µs)",
            fmt(p50(stores, "memory", "sequential")), fmt(cost.path("normal").path("p50_us").asDouble()),
            fmt(cost.path("handoff").path("p50_us").asDouble())),
        p50(stores, "process", "sequential"), "µs", d.path("bounds_us").path("process_sequential_p50").asDouble(), 1.0);
    lower(String.format(Locale.ROOT, "durability: `machine` sequential p50 vs `memory:`'s + one FULL commit (%s + %s µs)",
            fmt(p50(stores, "memory", "sequential")), fmt(cost.path("full").path("p50_us").asDouble())),
        p50(stores, "machine", "sequential"), "µs", d.path("bounds_us").path("machine_sequential_p50").asDouble(), 1.0);
    lower(String.format(Locale.ROOT, "durability: `machine` sequential p50 vs `memory:`'s with %d ms between jobs + one FULL commit %d ms"
            + " after the last (%s + %s µs): what idleness costs on this machine", d.path("idle_pause_ms").asInt(), d.path("idle_pause_ms").asInt(),
            fmt(p50(stores, "memory", "sequential_after_idle")), fmt(cost.path("full_spaced").path("p50_us").asDouble())),
        p50(stores, "machine", "sequential"), "µs", d.path("bounds_us").path("machine_sequential_p50_after_idle").asDouble(), Double.NaN);
  }

  private static String storeName(String store) {
    return "memory".equals(store) ? "memory:" : "sqlite:, --durability " + store;
  }

  private static double jobsPerSecond(JsonNode stores, String store) {
    JsonNode level = stores.path(store).path("in_flight_256");
    return level.isMissingNode() || level.isNull() ? Double.NaN : level.path("jobs_per_s").asDouble();
  }

  private static double p50(JsonNode stores, String store, String figure) {
    JsonNode level = stores.path(store).path(figure);
    return level.isMissingNode() || level.isNull() ? Double.NaN : level.path("p50_us").asDouble();
  }

  private void durabilityMarkdown(StringBuilder md, JsonNode root) {
    JsonNode d = root.path("durability");
    JsonNode stores = d.path("stores");
    JsonNode cost = d.path("commit_and_handoff");
    md.append("\n## Durability: the job store\n\n");
    md.append(String.format(Locale.ROOT, "A service of its own per store, N=%s workers, the store on %s (%s). No-op `echo` jobs;"
        + " \"sequential\" is in-flight 1, send to result; \"durable submit\" is SubmitJob until its acknowledgement, which comes once the"
        + " job is committed (`offload bench --submit-only`), one at a time. `memory:` and `process` ran at once: each was warmed by"
        + " in-flight 1, 8, 64 and 256, as the main services, then by passes of %d jobs at in-flight 256 until its JIT compilers used"
        + " under %d‰ of a core over one, at most %d (`memory:` ran %d, its compilers at %d‰ in the last; `process` %d, at %d‰),"
        + " and then they took turns for %d rounds of in-flight 1 and then 256 (which service went first alternating); their figures"
        + " are the median round's. `machine` ran alone after them:"
        + " in-flight 256, then in-flight 1.%n%n", value("workers"), d.path("store_filesystem").asText(), d.path("store_device").asText(),
        d.path("settle_jobs_per_pass").asInt(), d.path("settle_below_compiler_permille").asInt(), d.path("settle_most_passes").asInt(),
        stores.path("memory").path("settle_passes").asInt(), stores.path("memory").path("settle_last_pass_compiler_permille").asInt(),
        stores.path("process").path("settle_passes").asInt(), stores.path("process").path("settle_last_pass_compiler_permille").asInt(),
        d.path("rounds").asInt()));
    md.append("| store | jobs/s, in-flight 256 | sequential p50 µs | sequential p99 µs | durable submit p50 µs | durable submit p99 µs |\n");
    md.append("|---|---|---|---|---|---|\n");
    for (String store : STORES) {
      JsonNode s = stores.path(store);
      md.append(String.format(Locale.ROOT, "| `%s` | %s | %s | %s | %s | %s |%n", storeName(store), fmt(jobsPerSecond(stores, store)),
          fmt(s.path("sequential").path("p50_us").asDouble()), fmt(s.path("sequential").path("p99_us").asDouble()),
          fmt(s.path("submit").path("p50_us").asDouble()), fmt(s.path("submit").path("p99_us").asDouble())));
    }
    for (String store : TAKING_TURNS) {
      StringBuilder each = new StringBuilder();
      for (JsonNode round : stores.path(store).path("rounds")) {
        each.append(each.isEmpty() ? "" : ", ").append(fmt(round.path("jobs_per_s_in_flight_256").asDouble())).append(" jobs/s and ")
            .append(fmt(round.path("sequential_p50_us").asDouble())).append(" µs");
      }
      md.append(String.format(Locale.ROOT, "%n`%s`, round by round (jobs/s at in-flight 256; sequential p50): %s.", storeName(store), each));
    }
    md.append("\n");
    md.append(String.format(Locale.ROOT, "%nMeasured on their own in this run, on the same filesystem (`scripts/bench.d/CommitCost.java`, %d of"
        + " each):%n%n", cost.path("normal").path("n").asInt()));
    md.append("| what | p50 µs | p99 µs |\n|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| one commit of one row, WAL, `synchronous=NORMAL` (`process`) | %s | %s |%n",
        fmt(cost.path("normal").path("p50_us").asDouble()), fmt(cost.path("normal").path("p99_us").asDouble())));
    md.append(String.format(Locale.ROOT, "| one commit of one row, WAL, `synchronous=FULL` (`machine`) | %s | %s |%n",
        fmt(cost.path("full").path("p50_us").asDouble()), fmt(cost.path("full").path("p99_us").asDouble())));
    md.append(String.format(Locale.ROOT, "| one commit of one row, WAL, `synchronous=FULL`, each %d ms after the last | %s | %s |%n",
        d.path("idle_pause_ms").asInt(), fmt(cost.path("full_spaced").path("p50_us").asDouble()),
        fmt(cost.path("full_spaced").path("p99_us").asDouble())));
    md.append(String.format(Locale.ROOT, "| one no-op job through `memory:`, one at a time, each sent %d ms after the last one's result"
            + " (`offload bench --pause`) | %s | %s |%n", d.path("idle_pause_ms").asInt(),
        fmt(p50(stores, "memory", "sequential_after_idle")), fmt(stores.path("memory").path("sequential_after_idle").path("p99_us").asDouble())));
    md.append(String.format(Locale.ROOT, "| one thread hand-off (unpark of a parked platform thread until it runs; %d of them) | %s | %s |%n",
        cost.path("handoff").path("n").asInt(), fmt(cost.path("handoff").path("p50_us").asDouble()),
        fmt(cost.path("handoff").path("p99_us").asDouble())));
    JsonNode ratios = d.path("ratios");
    md.append(String.format(Locale.ROOT, "%nRatios: `process` keeps %s%% of `memory:`'s jobs/s at in-flight 256 (`machine` %s%%), and makes %s"
            + " ProcessPoolExecutor submit()'s. Bounds, from this run's figures: `process` sequential p50 ≤ %s µs (%s), `machine`"
            + " sequential p50 ≤ %s µs (%s); and, for information, `machine` against jobs and commits that come after %d ms of"
            + " idleness (longer than its own, a few hundred µs): %s µs (%s; the paused `memory:` figure from one run after the rounds). The targets' verdicts are in the table at the top (rows \"durability: ...\").%n",
        fmt(ratios.path("process_vs_memory_jobs_per_s").asDouble() * 100), fmt(ratios.path("machine_vs_memory_jobs_per_s").asDouble() * 100),
        ratios.path("process_vs_python_submit").isNull() ? "— (Python not measured)"
            : fmt(ratios.path("process_vs_python_submit").asDouble()) + "×",
        fmt(d.path("bounds_us").path("process_sequential_p50").asDouble()), d.path("bounds_us").path("process_sequential_p50_formula").asText(),
        fmt(d.path("bounds_us").path("machine_sequential_p50").asDouble()), d.path("bounds_us").path("machine_sequential_p50_formula").asText(),
        d.path("idle_pause_ms").asInt(), fmt(d.path("bounds_us").path("machine_sequential_p50_after_idle").asDouble()),
        d.path("bounds_us").path("machine_sequential_p50_after_idle_formula").asText()));
  }

  /** A figure where more is better: met when offload/peer >= target. */
  private void higher(String figure, double offload, String unit, double peer, double target, String style) {
    ObjectNode row = row(figure, offload, unit, peer, offload / peer);
    if ("percent".equals(style)) {
      row.put("target", Double.isNaN(target) ? "—" : "≥ " + plain(target * 100) + "%");
      row.put("ratio_text", Double.isNaN(peer) ? "—" : closeTo(offload / peer * 100, target * 100) + "%");
    } else {
      row.put("target", Double.isNaN(target) ? "—" : "≥ " + plain(target) + "×");
      row.put("ratio_text", Double.isNaN(peer) ? "—" : closeTo(offload / peer, target) + "×");
    }
    met(row, Double.isNaN(target) ? null : offload / peer >= target, peer);
  }

  /** A figure where less is better: met when offload/peer <= target. */
  private void lower(String figure, double offload, String unit, double peer, double target) {
    ObjectNode row = row(figure, offload, unit, peer, offload / peer);
    row.put("target", Double.isNaN(target) ? "—" : "≤ " + plain(target) + "×");
    row.put("ratio_text", Double.isNaN(peer) ? "—" : closeTo(offload / peer, target) + "×");
    met(row, Double.isNaN(target) ? null : offload / peer <= target, peer);
  }

  private ObjectNode row(String figure, double offload, String unit, double peer, double ratio) {
    ObjectNode row = targets.addObject();
    row.put("figure", figure);
    row.put("unit", unit);
    row.put("offload", offload);
    if (Double.isNaN(peer)) {
      row.putNull("peer");
      row.putNull("ratio");
    } else {
      row.put("peer", peer);
      row.put("ratio", ratio);
    }
    return row;
  }

  private static void met(ObjectNode row, Boolean met, double peer) {
    if (Double.isNaN(peer)) {
      row.put("met", "not measured");
    } else if (met == null) {
      row.put("met", "info");
    } else {
      row.put("met", met ? "yes" : "no");
    }
  }

  private String markdown(JsonNode root, JsonNode unixEcho, JsonNode tcpEcho, JsonNode python) {
    StringBuilder md = new StringBuilder();
    JsonNode m = root.path("machine");
    md.append("# offload benchmark\n\n");
    md.append(String.format(Locale.ROOT, "Run %s by `scripts/bench` with N=%s workers on %s (%s cores, %s MiB memory), %s; %s.%s%n%n",
        root.path("date").asText(), value("workers"), m.path("cpu_model").asText(), m.path("nproc").asText(),
        m.path("memory_mib").asText(), m.path("jdk").asText(),
        python == null ? "no Python" : "Python " + python.path("python").asText(),
        String.format(Locale.ROOT, " Other processes used %.0f%% of the machine's CPU during the run (%s CPU seconds; `machine.cpu_during_run` in results.json).",
            m.path("cpu_during_run").path("other_processes_share").asDouble() * 100,
            fmt(m.path("cpu_during_run").path("other_processes_s").asDouble()))));
    md.append("Every figure below was measured in this one run. `offload` is the Unix-socket service unless a row says TCP.\n\n");
    targetTable(md);
    md.append("\n## Throughput and latency by in-flight level (no-op `echo` jobs)\n\n");
    md.append("| transport | in-flight | jobs | jobs/s | p50 µs | p90 µs | p99 µs |\n|---|---|---|---|---|---|---|\n");
    for (var entry : List.of(new Object[] {"Unix socket", unixEcho}, new Object[] {"TCP loopback", tcpEcho})) {
      for (JsonNode r : ((JsonNode) entry[1]).path("results")) {
        md.append(String.format(Locale.ROOT, "| %s | %d | %d | %s | %d | %d | %d |%n", entry[0], r.path("in_flight").asInt(),
            r.path("jobs").asInt(), fmt(r.path("jobs_per_s").asDouble()), r.path("p50_us").asLong(),
            r.path("p90_us").asLong(), r.path("p99_us").asLong()));
      }
    }
    if (python != null) {
      md.append(String.format(Locale.ROOT, "| Python ProcessPoolExecutor submit() (%s) | all | %d | %s | | | |%n",
          python.path("start_method").asText(), python.path("submit").path("tasks").asInt(),
          fmt(python.path("submit").path("tasks_per_s").asDouble())));
      md.append(String.format(Locale.ROOT, "| Python loop.run_in_executor | all | %d | %s | | | |%n",
          python.path("run_in_executor").path("tasks").asInt(), fmt(python.path("run_in_executor").path("tasks_per_s").asDouble())));
      JsonNode rt = python.path("round_trip");
      md.append(String.format(Locale.ROOT, "| Python submit().result() | 1 | %d | | %s | %s | %s |%n", rt.path("round_trips").asInt(),
          fmt(rt.path("p50_us").asDouble()), fmt(rt.path("p90_us").asDouble()), fmt(rt.path("p99_us").asDouble())));
    }
    durabilityMarkdown(md, root);
    md.append("\n## CPU-bound work: the seed's primality checks\n\n| how | checks | seconds | checks/s |\n|---|---|---|---|\n");
    JsonNode warm = root.path("offload").path("bench_seed_primes");
    cpu(md, "`offload bench` on the warm service, first send to last result (" + warm.path("warm_up_jobs").asInt()
        + " checks before, unmeasured; better of 2 runs)", warm.path("checks").asInt(), warm.path("seconds").asDouble());
    JsonNode th = root.path("baselines").path("one_jvm_n_threads");
    cpu(md, "one JVM, " + value("workers") + " platform threads, warm: first submit to last result (the same warm-up; better of 2 runs)",
        th.path("in_process_warm").path("checks").asInt(), th.path("in_process_warm").path("seconds").asDouble());
    JsonNode b = root.path("offload").path("batch_seed_primes");
    cpu(md, "`offload batch` on the service, whole process (better of 2 runs)", b.path("checks").asInt(), b.path("wall_s").asDouble());
    cpu(md, "one JVM, " + value("workers") + " platform threads, cold: first submit to last result (better of 2 runs)", th.path("in_process").path("checks").asInt(),
        th.path("in_process").path("seconds").asDouble());
    cpu(md, "... the whole process (JVM start included)", th.path("in_process").path("checks").asInt(), th.path("wall_s").asDouble());
    JsonNode pj = root.path("baselines").path("one_jvm_per_job");
    cpu(md, "one JVM per check, `xargs -P " + value("workers") + "`", pj.path("prime_checks").asInt(), pj.path("prime_wall_s").asDouble());
    if (python != null && python.has("primes")) {
      JsonNode p = python.path("primes");
      cpu(md, "Python ProcessPoolExecutor.map (" + p.path("rounds").asInt() + " round" + (p.path("rounds").asInt() == 1 ? "" : "s")
          + " of the 20 numbers)", p.path("checks").asInt(), p.path("seconds").asDouble());
    }
    md.append(String.format(Locale.ROOT, "%nOne JVM per job, no-op: %d JVMs in %s s with `xargs -P %s` (%s JVMs/s).%n",
        pj.path("noop_jvms").asInt(), fmt(pj.path("noop_wall_s").asDouble()), value("workers"), fmt(pj.path("noop_jvms_per_s").asDouble())));
    batchScriptsMarkdown(md, root.path("batch_scripts"));
    md.append("\n## Start-up (" + value("timing_tool") + ")\n\n| what | median ms |\n|---|---|\n");
    md.append(String.format(Locale.ROOT, "| `offload serve --workers %s` spawn to \"serving on\", Unix socket | %s |%n", value("workers"),
        fmt(number("unix_ready_s") * 1000)));
    md.append(String.format(Locale.ROOT, "| the same, TCP | %s |%n", fmt(number("tcp_ready_s") * 1000)));
    md.append(String.format(Locale.ROOT, "| one worker JVM spawn to ready line, same flags and archive | %s |%n",
        fmt(root.path("startup").path("one_worker_jvm_ready_median_s").asDouble() * 1000)));
    for (JsonNode c : root.path("startup").path("commands")) {
      md.append(String.format(Locale.ROOT, "| `%s` | %s |%n", c.path("command").asText(), fmt(c.path("median").asDouble() * 1000)));
    }
    cliStartupTable(md, root.path("cli_startup"));
    md.append("\n## Notes\n\n");
    for (String note : notes) {
      md.append("- ").append(note).append('\n');
    }
    md.append("\nAll numbers: `results.json` beside this file. Chart: `results.png` (when gnuplot was available).\n");
    return md.toString();
  }

  private void targetTable(StringBuilder md) {
    md.append("| figure | offload | peer | ratio | target | met? |\n|---|---|---|---|---|---|\n");
    for (JsonNode t : targets) {
      String unit = t.path("unit").asText();
      md.append("| ").append(t.path("figure").asText())
          .append(" | ").append(fmt(t.path("offload").asDouble())).append(' ').append(unit)
          .append(" | ").append(t.path("peer").isNull() ? "not measured" : fmt(t.path("peer").asDouble()) + " " + unit)
          .append(" | ").append(t.path("ratio_text").asText())
          .append(" | ").append(t.path("target").asText())
          .append(" | ").append(t.path("met").asText()).append(" |\n");
    }
  }

  /**
   * The batch-scripts section (scripts/bench.d/batch_scripts.sh): the same small jobs run four ways
   * from a shell script, each the whole command line's wall time.
   */
  private static void batchScriptsMarkdown(StringBuilder md, JsonNode scripts) {
    if (!scripts.has("rows")) {
      return;
    }
    md.append(String.format(Locale.ROOT, "%n## Batch scripts: %d small jobs (is_prime of 1000003 on), whole command lines%n%n"
        + "| how | seconds | jobs/s | ms per job |%n|---|---|---|---|%n", scripts.path("jobs").asInt()));
    for (JsonNode row : scripts.path("rows")) {
      if (row.has("skipped")) {
        md.append(String.format(Locale.ROOT, "| %s | not measured: %s | | |%n", row.path("how").asText(), row.path("skipped").asText()));
        continue;
      }
      double seconds = row.path("seconds").asDouble();
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s |%n", row.path("how").asText(), fmt(seconds),
          fmt(row.path("jobs_per_s").asDouble()), fmt(seconds * 1000 / scripts.path("jobs").asInt())));
    }
  }

  private static void cpu(StringBuilder md, String how, int checks, double seconds) {
    md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s |%n", how, checks, fmt(seconds), fmt(checks / seconds)));
  }

  private void writeChart(JsonNode unixEcho, JsonNode tcpEcho, JsonNode python, int workers) throws IOException {
    StringBuilder dat = new StringBuilder("# in_flight unix_jobs_per_s tcp_jobs_per_s\n");
    for (JsonNode r : unixEcho.path("results")) {
      JsonNode t = level(tcpEcho, r.path("in_flight").asInt());
      dat.append(r.path("in_flight").asInt()).append(' ').append(r.path("jobs_per_s").asDouble()).append(' ')
          .append(t == null ? "NaN" : t.path("jobs_per_s").asDouble()).append('\n');
    }
    Files.writeString(raw.resolve("chart.dat"), dat.toString());
    StringBuilder gp = new StringBuilder();
    gp.append("set terminal pngcairo size 1000,620 enhanced font 'sans,11'\n");
    gp.append("set output '").append(raw.resolve("results.png")).append("'\n");
    gp.append("set title \"offload: no-op (echo) jobs/s by in-flight level, N=").append(workers).append(" workers\"\n");
    gp.append("set xlabel 'jobs in flight (log scale)'\nset ylabel 'jobs/s'\nset logscale x 2\nset grid\n");
    gp.append("set key below\nset yrange [0:*]\nset xrange [0.8:*]\n");
    gp.append("plot '").append(raw.resolve("chart.dat")).append("' using 1:2 with linespoints lw 2 pt 7 title 'offload, Unix socket', \\\n");
    gp.append("     '' using 1:3 with linespoints lw 2 pt 5 title 'offload, TCP loopback'");
    if (python != null) {
      gp.append(String.format(Locale.ROOT, ", \\%n     %f with lines lw 2 dt 2 lc rgb '#cc0000' title 'Python ProcessPoolExecutor submit()'",
          python.path("submit").path("tasks_per_s").asDouble()));
      gp.append(String.format(Locale.ROOT, ", \\%n     %f with lines lw 2 dt 3 lc rgb '#cc6600' title 'Python loop.run\\_in\\_executor'",
          python.path("run_in_executor").path("tasks_per_s").asDouble()));
    }
    gp.append('\n');
    Files.writeString(raw.resolve("chart.gp"), gp.toString());
  }

  private ObjectNode machine() {
    ObjectNode m = NODES.objectNode();
    m.put("nproc", Integer.parseInt(value("nproc")));
    m.put("memory_mib", Long.parseLong(value("memory_kib")) / 1024);
    m.put("cpu_model", value("cpu_model"));
    m.put("kernel", value("kernel"));
    m.put("jdk", value("jdk"));
    m.put("java", value("java"));
    m.put("load_average_before", value("load_before"));
    m.put("load_average_after", value("load_after"));
    m.put("offload_commit", value("commit"));
    ObjectNode cpu = m.putObject("cpu_during_run");
    cpu.put("wall_s", number("run_wall_s"));
    cpu.put("machine_busy_s", number("cpu_machine_s"));
    cpu.put("bench_processes_s", number("cpu_bench_s"));
    cpu.put("other_processes_s", number("cpu_others_s"));
    cpu.put("other_processes_share", number("cpu_others_share"));
    cpu.put("note", "busy CPU time of the machine (/proc/stat) over the run, less what the bench's own processes used (bash `times`): what other work on the machine took");
    return m;
  }

  private ObjectNode config() {
    ObjectNode c = NODES.objectNode();
    for (String key : List.of("workers", "echo_jobs", "cpu_jobs", "py_tasks", "py_round_trips", "prime_rounds", "py_prime_rounds",
        "noop_jvms", "startup_runs", "cli_startup_runs", "echo_warmup", "commits", "handoffs", "machine_seq_jobs", "machine_seq_warmup",
        "durability_rounds")) {
      c.put(key, Integer.parseInt(value(key)));
    }
    return c;
  }

  private String value(String key) {
    String v = values.getProperty(key);
    if (v == null) {
      throw new IllegalStateException("the bench did not record " + key);
    }
    return v;
  }

  /** A recorded list of numbers, written space-separated. */
  private ArrayNode list(String key) {
    ArrayNode list = NODES.arrayNode();
    for (String s : value(key).trim().split("\\s+")) {
      list.add(Double.parseDouble(s));
    }
    return list;
  }

  private double number(String key) {
    return Double.parseDouble(value(key));
  }

  private JsonNode json(String name) throws IOException {
    Path file = raw.resolve(name);
    return Files.exists(file) ? JSON.readTree(file.toFile()) : null;
  }

  /** The bench row with the most jobs/s. */
  private static JsonNode best(JsonNode bench) {
    JsonNode best = null;
    for (JsonNode r : bench.path("results")) {
      if (best == null || r.path("jobs_per_s").asDouble() > best.path("jobs_per_s").asDouble()) {
        best = r;
      }
    }
    return best;
  }

  private static JsonNode level(JsonNode bench, int inFlight) {
    for (JsonNode r : bench.path("results")) {
      if (r.path("in_flight").asInt() == inFlight) {
        return r;
      }
    }
    return null;
  }

  private static JsonNode command(JsonNode startup, String name) {
    for (JsonNode c : startup.path("results")) {
      if (c.path("command").asText().equals(name)) {
        return c;
      }
    }
    return null;
  }

  /**
   * The level whose figure is the median of the rounds' (the bench runs an odd number of them), so
   * that its other figures are one round's, as measured.
   */
  private static JsonNode medianBy(List<JsonNode> levels, String figure) {
    List<JsonNode> sorted = new ArrayList<>(levels);
    sorted.sort(Comparator.comparingDouble(l -> l.path(figure).asDouble()));
    return sorted.get((sorted.size() - 1) / 2);
  }

  private static double median(ArrayNode values) {
    double[] v = new double[values.size()];
    for (int i = 0; i < v.length; i++) {
      v[i] = values.get(i).asDouble();
    }
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }

  /** A target as written: 3, 0.5, 97. */
  private static String plain(double v) {
    return java.math.BigDecimal.valueOf(v).round(new java.math.MathContext(6)).stripTrailingZeros().toPlainString();
  }

  /**
   * A ratio as {@link #fmt} writes it, with more digits while it would read as its target without
   * being it (a p50 of 134 µs against a bound of 133.5 is 1.004×, not met; {@code fmt} says 1.00).
   */
  private static String closeTo(double ratio, double target) {
    String text = fmt(ratio);
    if (Double.isNaN(ratio) || Double.isNaN(target)) {
      return text; // a missing figure, or a row without a target: nothing to tell apart
    }
    for (int digits = 3; digits <= 6 && ratio != target && Double.parseDouble(text.replace(",", "")) == target; digits++) {
      text = String.format(Locale.ROOT, "%." + digits + "f", ratio);
    }
    return text;
  }

  /** Three significant digits or so, without scientific notation. */
  private static String fmt(double v) {
    if (Double.isNaN(v)) {
      return "—";
    }
    double a = Math.abs(v);
    String s = a >= 100 ? String.format(Locale.ROOT, "%,.0f", v)
        : a >= 10 ? String.format(Locale.ROOT, "%.1f", v)
        : a >= 1 ? String.format(Locale.ROOT, "%.2f", v)
        : String.format(Locale.ROOT, "%.3f", v);
    return s;
  }
}
