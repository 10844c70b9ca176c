package dev.offload.cli;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import java.util.Locale;

/**
 * The job log of {@code offload each --joblog FILE}, in GNU parallel's format, so that what reads
 * parallel's joblogs reads it: a header line, then one tab-separated line per job that ended, as it
 * ends: {@code Seq, Host, Starttime} (seconds since the epoch, 3 decimals), {@code JobRuntime}
 * (seconds, 3 decimals, right-aligned in 10 characters, as parallel pads it), {@code Send},
 * {@code Receive} (bytes of the job's output line), {@code Exitval}, {@code Signal} and {@code
 * Command}. Each line is written whole and flushed at once, so a run cut off leaves whole lines,
 * and an earlier run's log is read back for {@code --resume} and {@code --resume-failed}. Thread-safe.
 */
final class JobLog implements Closeable {

  /** The header, parallel's. */
  static final String HEADER = "Seq\tHost\tStarttime\tJobRuntime\tSend\tReceive\tExitval\tSignal\tCommand";

  /**
   * What an earlier run's log says, by sequence number (sequence numbers are counted in an
   * {@code int}: a log holds at most 2^31 - 1 jobs).
   *
   * @param logged the jobs with a line in the log ({@code --resume} skips them)
   * @param succeeded the jobs with a line whose Exitval and Signal are 0 ({@code --resume-failed}
   *     skips them, and runs the others again)
   */
  record Earlier(BitSet logged, BitSet succeeded) {

    /** Nothing logged: a run afresh. */
    static Earlier none() {
      return new Earlier(new BitSet(), new BitSet());
    }
  }

  private final Path path;
  private final Writer out;
  private final Earlier earlier;

  private JobLog(Path path, Writer out, Earlier earlier) {
    this.path = path;
    this.out = out;
    this.earlier = earlier;
  }

  /**
   * Opens a log: afresh (the file emptied and the header written), or, to resume, appended to,
   * after reading what an earlier run logged (see {@link #earlier}). A missing file is an empty
   * log, as parallel has it. A last line without its line end (cut off mid-write, by a run killed
   * at once) is removed first: its job did not get a whole line, so it counts as not logged.
   *
   * @throws IOException if the file cannot be read or written
   * @throws IllegalArgumentException if, to resume, a line of it is not a joblog line; the message
   *     names it
   */
  static JobLog open(Path path, boolean resume) throws IOException {
    Earlier earlier = Earlier.none();
    if (resume && Files.exists(path)) {
      dropCutOffLine(path);
      earlier = read(path);
    }
    Writer out = Files.newBufferedWriter(path, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        resume ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING);
    JobLog log = new JobLog(path, out, earlier);
    if (!resume || Files.size(path) == 0) {
      log.append(HEADER);
    }
    return log;
  }

  /** What the log held when it was opened to resume; nothing when opened afresh. */
  Earlier earlier() {
    return earlier;
  }

  /** Reads a log whose every line is whole, line by line: a log of a million jobs is not held in memory. */
  private static Earlier read(Path path) throws IOException {
    Earlier earlier = Earlier.none();
    try (BufferedReader lines = Files.newBufferedReader(path, StandardCharsets.UTF_8)) {
      String line;
      int number = 0;
      while ((line = lines.readLine()) != null) {
        number++;
        if (line.isEmpty() || (number == 1 && line.startsWith("Seq\t"))) {
          continue;
        }
        String[] fields = line.split("\t", 9);
        int seq;
        int exitval;
        int signal;
        try {
          if (fields.length < 9) {
            throw new NumberFormatException("it has " + fields.length + " fields, not 9");
          }
          seq = Integer.parseInt(fields[0]);
          exitval = Integer.parseInt(fields[6]);
          signal = Integer.parseInt(fields[7]);
          if (seq < 1) {
            throw new NumberFormatException("its Seq is " + seq);
          }
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException(path + " line " + number + " is not a joblog line (Seq, Host, Starttime,"
              + " JobRuntime, Send, Receive, Exitval, Signal, Command, tab-separated): " + e.getMessage()
              + "; name the joblog that an earlier 'offload each --joblog' or 'parallel --joblog' wrote");
        }
        earlier.logged().set(seq);
        if (exitval == 0 && signal == 0) {
          earlier.succeeded().set(seq);
        }
      }
    }
    return earlier;
  }

  /**
   * One job's line.
   *
   * @param seq the job's sequence number
   * @param host where it ran: the service
   * @param startMillis when it started, in milliseconds since the epoch
   * @param runtimeMillis how long it ran
   * @param received the bytes of its output line (0 for none)
   * @param exitval its exit value: offload's exit code for the job
   * @param command the handler and its input JSON
   * @return the line, without its end
   */
  static String line(long seq, String host, long startMillis, long runtimeMillis, long received, int exitval, String command) {
    // parallel writes a command's line ends as NUL bytes, so that a line is a job; an input JSON
    // has none, but a handler name from the command line might.
    return String.format(Locale.ROOT, "%d\t%s\t%.3f\t%10.3f\t%d\t%d\t%d\t%d\t%s", seq, host, startMillis / 1000.0,
        runtimeMillis / 1000.0, 0, received, exitval, 0, command.replace('\n', '\0'));
  }

  /**
   * Appends one job's line (see {@link #line}) and flushes it.
   *
   * @throws IOException if it cannot be written
   */
  void write(long seq, String host, long startMillis, long runtimeMillis, long received, int exitval, String command)
      throws IOException {
    append(line(seq, host, startMillis, runtimeMillis, received, exitval, command));
  }

  Path path() {
    return path;
  }

  /** One write of the whole line, flushed, so that no other line and no cut comes between its parts. */
  private synchronized void append(String line) throws IOException {
    out.write(line + "\n");
    out.flush();
  }

  @Override
  public synchronized void close() throws IOException {
    out.close();
  }

  /** Cuts a last line that has no line end: it was cut off mid-write, and the next line must start a line. */
  private static void dropCutOffLine(Path path) throws IOException {
    if (!Files.exists(path)) {
      return;
    }
    try (RandomAccessFile file = new RandomAccessFile(path.toFile(), "rw")) {
      long end = file.length();
      while (end > 0) {
        file.seek(end - 1);
        if (file.read() == '\n') {
          break;
        }
        end--;
      }
      file.setLength(end);
    }
  }
}
