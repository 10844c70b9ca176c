package dev.offload.supervisor.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.List;

/**
 * One SQL statement that writes many rows per execution: an {@code INSERT … VALUES (…), (…)}, an
 * {@code UPDATE … FROM (VALUES (…), (…))} or a {@code DELETE … WHERE id IN (VALUES (…), (…))}.
 * Through sqlite-jdbc, each execution of a statement costs several microseconds besides its rows'
 * own work (measured: a job's 18-column insert took 7.4 µs one row per execution, 2.6 µs at 30
 * rows per execution), so a group's rows go in as few executions as its size allows.
 *
 * <p>It is prepared for 1, 2, 4 … {@link #MOST_ROWS} rows, each size once, when first used: a list
 * of any length goes in at most one execution per bit of its length (and one per {@link #MOST_ROWS}
 * rows beyond that), without a statement prepared for every length. A statement may have a form of
 * its own for one row: an {@code UPDATE … FROM (VALUES (…))} of one row took twice as long as the
 * plain {@code UPDATE … WHERE id = ?} (SQLite materializes the values first), and one row is what a
 * lone job's commit carries. Not thread-safe: its store's committer uses it.
 *
 * @param <T> what one row is made from
 */
final class MultiRowStatement<T> implements AutoCloseable {

  /** The most rows one execution writes: 64 rows of 18 parameters are well within SQLite's 32,766. */
  static final int MOST_ROWS = 64;

  /** Binds one row's parameters. */
  @FunctionalInterface
  interface Binder<T> {
    /**
     * @param first the index of the row's first parameter (1-based, as JDBC counts)
     */
    void bind(PreparedStatement statement, int first, T row) throws SQLException;
  }

  private final Connection connection;
  private final String head;
  private final String rowPlaceholders;
  private final String tail;
  /** The statement for one row, or null to make it from head and tail as for any other size. */
  private final String oneRow;
  private final int parametersPerRow;
  private final Binder<T> binder;
  /** By the base-2 logarithm of their rows: 1, 2, 4 … MOST_ROWS. */
  private final PreparedStatement[] bySize = new PreparedStatement[Integer.numberOfTrailingZeros(MOST_ROWS) + 1];

  /**
   * @param head the statement up to its first row, such as {@code INSERT INTO t (a, b) VALUES }
   * @param parametersPerRow how many {@code ?} one row has, in the order the binder binds them
   * @param tail the statement after its last row (may be empty)
   */
  MultiRowStatement(Connection connection, String head, int parametersPerRow, String tail, Binder<T> binder) {
    this(connection, head, parametersPerRow, tail, null, binder);
  }

  /**
   * @param oneRow the statement for one row, its parameters numbered ({@code ?1}, {@code ?2} …) in
   *     the order the binder binds them
   */
  MultiRowStatement(Connection connection, String head, int parametersPerRow, String tail, String oneRow, Binder<T> binder) {
    this.connection = connection;
    this.head = head;
    this.rowPlaceholders = "(" + "?, ".repeat(parametersPerRow - 1) + "?)";
    this.tail = tail;
    this.oneRow = oneRow;
    this.parametersPerRow = parametersPerRow;
    this.binder = binder;
  }

  /**
   * Writes the rows, in their order, in as few executions as their number allows.
   *
   * @return how many rows the executions changed, as SQLite counts them
   */
  int execute(List<T> rows) throws SQLException {
    int changed = 0;
    for (int from = 0; from < rows.size(); ) {
      int size = Math.min(MOST_ROWS, Integer.highestOneBit(rows.size() - from));
      PreparedStatement statement = prepared(size);
      for (int i = 0; i < size; i++) {
        binder.bind(statement, 1 + i * parametersPerRow, rows.get(from + i));
      }
      changed += statement.executeUpdate();
      from += size;
    }
    return changed;
  }

  private PreparedStatement prepared(int rows) throws SQLException {
    int slot = Integer.numberOfTrailingZeros(rows);
    if (bySize[slot] == null && rows == 1 && oneRow != null) {
      bySize[slot] = connection.prepareStatement(oneRow);
    } else if (bySize[slot] == null) {
      StringBuilder sql = new StringBuilder(head);
      for (int i = 0; i < rows; i++) {
        sql.append(i == 0 ? "" : ", ").append(rowPlaceholders);
      }
      bySize[slot] = connection.prepareStatement(sql.append(tail).toString());
    }
    return bySize[slot];
  }

  /** Closes the statements prepared so far; a later {@link #execute} prepares them again. */
  @Override
  public void close() {
    for (int i = 0; i < bySize.length; i++) {
      try {
        if (bySize[i] != null) {
          bySize[i].close();
        }
      } catch (SQLException e) {
        // Finalized already, by the driver's handling of its failure.
      }
      bySize[i] = null;
    }
  }
}
