#include "schema/store/sqlite.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

namespace pum {
namespace sql {
namespace {

using Code = Status::Code;

class TempDb {
 public:
  TempDb() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "pum_sqlite_XXXXXX").string();
    EXPECT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    EXPECT_TRUE(db.Open(dir_ + "/test.db").ok());
  }
  ~TempDb() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Database db;

 private:
  std::string dir_;
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

}  // namespace
}  // namespace sql
}  // namespace pum
