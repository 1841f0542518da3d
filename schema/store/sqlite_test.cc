#include "schema/store/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "schema/testing/temp_dir.h"

namespace pum {
namespace sql {
namespace {

using Code = Status::Code;

// A database in a fresh directory, removed at the end of the test.
struct TempDb {
  TempDb() { EXPECT_TRUE(db.Open(dir.Path("test.db")).ok()); }

  testing::TempDir dir;  // before db: made before it, removed after it closes
  Database db;
};

TEST(Sqlite, MapsResultCodesOntoStatusCodes) {
  struct Case {
    int rc;
    Code code;
  };
  const std::vector<Case> cases = {
      {SQLITE_OK, Code::kOk},
      {SQLITE_DONE, Code::kOk},
      {SQLITE_BUSY, Code::kBusy},
      {SQLITE_BUSY_SNAPSHOT, Code::kBusy},
      {SQLITE_LOCKED, Code::kBusy},
      {SQLITE_FULL, Code::kIoError},
      {SQLITE_IOERR, Code::kIoError},
      {SQLITE_IOERR_WRITE, Code::kIoError},
      {SQLITE_IOERR_FSYNC, Code::kIoError},
      {SQLITE_CANTOPEN, Code::kIoError},
      {SQLITE_READONLY, Code::kIoError},
      {SQLITE_NOMEM, Code::kIoError},
      {SQLITE_NOTADB, Code::kCorruption},
      {SQLITE_CORRUPT, Code::kCorruption},
      {SQLITE_ERROR, Code::kCorruption},
  };
  for (const Case& c : cases) {
    Status s = StatusFromSqlite(c.rc, "message");
    EXPECT_EQ(s.code(), c.code) << "rc " << c.rc;
    if (!s.ok()) {
      EXPECT_EQ(s.message(), "message");
    }
  }
}

TEST(Sqlite, TransactionRollsBackUnlessCommitted) {
  TempDb t;
  ASSERT_TRUE(t.db.Execute("CREATE TABLE t (x INTEGER)").ok());
  {
    Transaction transaction(&t.db);
    ASSERT_TRUE(transaction.BeginImmediate().ok());
    ASSERT_TRUE(t.db.Execute("INSERT INTO t VALUES (1)").ok());
    EXPECT_TRUE(t.db.InTransaction());
  }
  EXPECT_FALSE(t.db.InTransaction());
  {
    Transaction transaction(&t.db);
    ASSERT_TRUE(transaction.BeginDeferred().ok());
    ASSERT_TRUE(t.db.Execute("INSERT INTO t VALUES (2)").ok());
    ASSERT_TRUE(transaction.Commit().ok());
  }
  int64_t sum = 0;
  ASSERT_TRUE(t.db.QueryInt64("SELECT total(x) FROM t", &sum).ok());
  EXPECT_EQ(sum, 2);
}

TEST(Sqlite, StatementIsReusedAfterReset) {
  TempDb t;
  ASSERT_TRUE(t.db.Execute("CREATE TABLE t (x BLOB)").ok());
  Statement insert;
  ASSERT_TRUE(t.db.Prepare("INSERT INTO t (x) VALUES (?)", &insert).ok());
  const std::vector<std::string> values = {std::string("a\0b", 3), "",
                                           "\xff\n\""};
  for (const std::string& value : values) {
    AutoReset reset(&insert);
    insert.BindBlob(0, value);
    ASSERT_TRUE(insert.Run().ok());
  }
  Statement select;
  ASSERT_TRUE(
      t.db.Prepare("SELECT x, typeof(x) FROM t ORDER BY rowid", &select).ok());
  AutoReset reset(&select);
  for (const std::string& value : values) {
    bool has_row = false;
    ASSERT_TRUE(select.Step(&has_row).ok());
    ASSERT_TRUE(has_row);
    EXPECT_EQ(select.ColumnBytes(0), value);
    EXPECT_EQ(select.ColumnBytes(1), "blob");  // the empty one is not NULL
  }
}

TEST(Sqlite, InfinityRoundTripsAndNaNBecomesNull) {
  TempDb t;
  ASSERT_TRUE(t.db.Execute("CREATE TABLE t (x REAL)").ok());
  Statement insert;
  ASSERT_TRUE(t.db.Prepare("INSERT INTO t (x) VALUES (?)", &insert).ok());
  for (double value : {std::numeric_limits<double>::infinity(), std::nan("")}) {
    AutoReset reset(&insert);
    insert.BindDouble(0, value);
    ASSERT_TRUE(insert.Run().ok());
  }
  Statement select;
  ASSERT_TRUE(
      t.db.Prepare("SELECT x, typeof(x) FROM t ORDER BY rowid", &select).ok());
  AutoReset reset(&select);
  bool has_row = false;
  ASSERT_TRUE(select.Step(&has_row).ok());
  EXPECT_TRUE(std::isinf(select.ColumnDouble(0)));
  EXPECT_GT(select.ColumnDouble(0), 0);
  EXPECT_EQ(select.ColumnBytes(1), "real");
  ASSERT_TRUE(select.Step(&has_row).ok());
  EXPECT_EQ(select.ColumnBytes(1), "null");  // why the store refuses NaN
}

TEST(Sqlite, ErrorsNameTheStatement) {
  TempDb t;
  Statement statement;
  Status s = t.db.Prepare("SELECT * FROM missing_table", &statement);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("no such table: missing_table"), std::string::npos)
      << s.message();
  EXPECT_FALSE(statement.is_valid());

  ASSERT_TRUE(t.db.Prepare("SELECT ?", &statement).ok());
  AutoReset reset(&statement);
  statement.BindInt64(5, 1);  // out of range
  bool has_row = false;
  EXPECT_FALSE(statement.Step(&has_row).ok());
}

TEST(Sqlite, QueriesReadTheFirstColumnOfTheFirstRow) {
  TempDb t;
  int64_t number = -1;
  ASSERT_TRUE(
      t.db.QueryInt64("SELECT 42, 7 UNION ALL SELECT 1, 2", &number).ok());
  EXPECT_EQ(number, 42);
  std::string text;
  ASSERT_TRUE(t.db.QueryText("SELECT 'a' || char(0) || 'b'", &text).ok());
  EXPECT_EQ(text, std::string("a\0b", 3));
  ASSERT_TRUE(t.db.QueryText("PRAGMA journal_mode", &text).ok());
  EXPECT_EQ(text, "delete");

  // No row: Corruption naming the statement, and `out` unchanged.
  Status s = t.db.QueryInt64("SELECT 1 WHERE 0", &number);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_NE(s.message().find("no result from SELECT 1 WHERE 0"),
            std::string::npos)
      << s.message();
  EXPECT_EQ(number, 42);
  s = t.db.QueryText("SELECT nope", &text);
  EXPECT_EQ(s.code(), Code::kCorruption);
  EXPECT_EQ(text, "delete");
}

// Concatenates its arguments; refuses an argument "bad".
bool ConcatUnlessBad(std::string_view a, std::string_view b, std::string* out) {
  if (a == "bad" || b == "bad") return false;
  out->append(a);
  out->append(b);
  return true;
}

TEST(Sqlite, BlobFunctionsComputeBlobsAndFailTheStatementOnBadArguments) {
  TempDb t;
  ASSERT_TRUE(t.db.CreateBlobFunction("concat2", &ConcatUnlessBad).ok());
  struct Case {
    const char* sql;
    bool ok;
    std::string result;
  };
  const Case cases[] = {
      {"SELECT concat2(X'6162', X'00')", true, std::string("ab\0", 3)},
      {"SELECT concat2(NULL, X'63')", true, "c"},
      {"SELECT typeof(concat2(NULL, NULL))", true, "blob"},
      {"SELECT concat2(X'626164', X'')", false, ""},
  };
  for (const Case& c : cases) {
    Statement select;
    ASSERT_TRUE(t.db.Prepare(c.sql, &select).ok());
    bool has_row = false;
    Status s = select.Step(&has_row);
    EXPECT_EQ(s.ok(), c.ok) << c.sql << ": " << s.ToString();
    if (!c.ok) {
      EXPECT_EQ(s.code(), Code::kCorruption);
      EXPECT_NE(s.message().find("concat2: bad argument"), std::string::npos)
          << s.message();
      continue;
    }
    ASSERT_TRUE(has_row);
    EXPECT_EQ(select.ColumnBytes(0), c.result) << c.sql;
    EXPECT_EQ(select.ColumnView(0), c.result) << c.sql;
  }
}

}  // namespace
}  // namespace sql
}  // namespace pum
