package dev.offload.supervisor.store;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Lists of any length through the statements prepared for 1, 2, 4 … 64 rows, on an in-memory SQLite. */
class MultiRowStatementTest {

  private static Connection database() throws SQLException {
    Connection c = DriverManager.getConnection("jdbc:sqlite::memory:");
    try (Statement s = c.createStatement()) {
      s.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)");
    }
    return c;
  }

  private static MultiRowStatement<Long> insert(Connection c) {
    return new MultiRowStatement<>(c, "INSERT INTO t (id, v) VALUES ", 2, "", (p, first, id) -> {
      p.setLong(first, id);
      p.setString(first + 1, "v" + id);
    });
  }

  private static List<String> rows(Connection c) throws SQLException {
    List<String> rows = new ArrayList<>();
    try (Statement s = c.createStatement(); ResultSet r = s.executeQuery("SELECT id, v FROM t ORDER BY id")) {
      while (r.next()) {
        rows.add(r.getLong(1) + "=" + r.getString(2));
      }
    }
    return rows;
  }

  @ParameterizedTest
  @ValueSource(ints = {0, 1, 2, 3, 63, 64, 65, 130, 1000})
  void everyRowGoesIn_once_whateverTheLength(int length) throws SQLException {
    try (Connection c = database(); MultiRowStatement<Long> insert = insert(c)) {
      List<Long> ids = LongStream.rangeClosed(1, length).boxed().toList();
      assertEquals(length, insert.execute(ids), "the rows changed, as SQLite counts them");
      assertEquals(ids.stream().map(id -> id + "=v" + id).toList(), rows(c));
    }
  }

  @Test
  void oneRow_takesItsOwnForm_withTheSameBinder_andAnUpdateCountsOnlyTheRowsThereAre() throws SQLException {
    try (Connection c = database(); MultiRowStatement<Long> insert = insert(c);
        MultiRowStatement<Long> update = new MultiRowStatement<>(c, "UPDATE t SET v = v.column2 FROM (VALUES ", 2,
            ") AS v WHERE t.id = v.column1", "UPDATE t SET v = ?2 || '!' WHERE id = ?1", (p, first, id) -> {
              p.setLong(first, id);
              p.setString(first + 1, "w" + id);
            })) {
      insert.execute(List.of(1L, 2L, 3L));
      assertEquals(1, update.execute(List.of(2L)));
      assertEquals(2, update.execute(List.of(1L, 99L, 3L)), "99 has no row");
      // Three rows go as two (1 and 99, in the multi-row form) and one (3, in its own form, which marks it here).
      assertEquals(List.of("1=w1", "2=w2!", "3=w3!"), rows(c));
    }
  }

  @Test
  void afterClose_theStatementsArePreparedAgain() throws SQLException {
    try (Connection c = database(); MultiRowStatement<Long> insert = insert(c)) {
      insert.execute(List.of(1L, 2L));
      insert.close();
      assertEquals(3, insert.execute(List.of(3L, 4L, 5L)));
      assertEquals(5, rows(c).size());
    }
  }
}
