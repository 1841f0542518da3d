// RAII wrappers around the SQLite C API (after Chromium's sql/): Database
// owns a sqlite3*, Statement owns a sqlite3_stmt*, Transaction rolls back
// unless committed. Errors come back as pum::Status; see StatusFromSqlite()
// for how SQLite result codes map onto Status codes.
//
// sqlite3.h is deliberately not included here: only the .cc files that
// implement the store see the C API.
//
// None of these types is thread-safe; a Database and its Statements are used
// by one thread at a time (the connection is opened with SQLITE_OPEN_NOMUTEX).
#ifndef PUM_SCHEMA_STORE_SQLITE_H_
#define PUM_SCHEMA_STORE_SQLITE_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "schema/base/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace pum {
namespace sql {

// Maps a SQLite result code (primary or extended) onto a Status:
//   SQLITE_BUSY, SQLITE_LOCKED                      -> Busy
//   SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN,
//   SQLITE_READONLY, SQLITE_NOMEM, SQLITE_PERM, ... -> IoError
//   SQLITE_NOTADB, SQLITE_CORRUPT, anything else    -> Corruption
// SQLITE_OK, SQLITE_ROW and SQLITE_DONE give OK. `message` becomes the
// Status message.
Status StatusFromSqlite(int rc, std::string message);

class Database;

// A prepared statement, made by Database::Prepare(). Bind and Column
// indices start at 0. Binding and reading columns need a prepared
// statement (asserted); Step() on an unprepared one fails with Corruption.
class Statement {
 public:
  Statement() = default;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // True once prepared (until the Database closes it).
  bool is_valid() const { return stmt_ != nullptr; }

  // Makes the statement ready to run again (ending any read it holds) and
  // clears its bindings. Does nothing to an unprepared statement.
  void Reset();

  // Bind a parameter (the value is copied). A bind that fails, e.g. an
  // index out of range, is reported by the next Step(), which then does not
  // run the statement.
  void BindInt64(int index, int64_t value);
  void BindDouble(int index, double value);
  // UTF-8 text; the bytes are stored as given.
  void BindText(int index, std::string_view value);
  // A blob; an empty one binds as a zero-length blob, not NULL.
  void BindBlob(int index, std::string_view value);

  // Steps once. On OK, *has_row says whether a row is available. After a
  // failure the statement needs Reset() before it runs again.
  Status Step(bool* has_row);
  // Steps until done, ignoring any rows.
  Status Run();

  // A column of the current row: only after Step() gave a row. NULL reads
  // as 0, 0.0 or "".
  int64_t ColumnInt64(int index) const;
  double ColumnDouble(int index) const;
  // Text or blob bytes, exactly (embedded NULs included).
  std::string ColumnBytes(int index) const;
  // The same bytes without a copy: valid until the next Step() or Reset().
  std::string_view ColumnView(int index) const;

 private:
  friend class Database;

  void Finalize();
  void NoteBindError(int rc);

  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
  int bind_rc_ = 0;  // the first failed bind, reported by Step()
  // Bound or stepped since the last Reset() (which is free otherwise).
  bool needs_reset_ = false;
};

// One connection to one database file. Every method but Open(),
// is_open(), path(), InTransaction() and Error() needs an open connection
// (asserted).
class Database {
 public:
  Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  // Opens (creating if absent) `path` for reading and writing, with
  // extended result codes; closes the connection this held first. On
  // failure the Database is left closed.
  Status Open(const std::string& path);
  bool is_open() const { return db_ != nullptr; }
  const std::string& path() const { return path_; }

  // How long a statement waits for a lock before failing with Busy. It
  // waits in short naps (50 us, growing to 500 us) rather than SQLite's
  // own busy handler's sleeps (1 ms growing to 100 ms each), so that a lock
  // another process holds for a millisecond is taken about when it is
  // released.
  void SetBusyTimeout(int ms);

  // Runs one or more statements that return no rows the caller wants; stops
  // at the first that fails.
  Status Execute(const char* sql);

  // A deterministic SQL function `name`(a, b) of two blobs (NULL reads as
  // the empty blob) whose result is the blob `merge` writes into `out`
  // (empty on entry). When `merge` returns false the statement that called
  // the function fails (Corruption: "<name>: bad argument").
  using BlobMerge = bool (*)(std::string_view a, std::string_view b,
                             std::string* out);
  Status CreateBlobFunction(const char* name, BlobMerge merge);

  // Prepares `sql` into `out`, to be reused. The Statement must be
  // destroyed before this Database.
  Status Prepare(const char* sql, Statement* out);

  // Runs `sql`, a statement that returns (at least) one row, and reads the
  // first column of its first row into `out`, e.g. of a PRAGMA. Corruption
  // if it returns no row; `out` is unchanged on failure.
  Status QueryInt64(const char* sql, int64_t* out);
  Status QueryText(const char* sql, std::string* out);

  // A passive WAL checkpoint: never waits for readers or writers. When
  // `complete` is given, it says whether every frame of the WAL is now in
  // the database file (so the WAL could be truncated).
  Status CheckpointPassive(bool* complete = nullptr);

  // A TRUNCATE checkpoint that waits at most `wait_ms` for other
  // connections (it holds the write lock meanwhile): on success the WAL
  // file is empty. kBusy when a reader or writer did not let it finish in
  // time; nothing is lost then, the WAL just keeps its size.
  Status CheckpointTruncate(int wait_ms);

  // BEGIN IMMEDIATE, BEGIN DEFERRED, COMMIT and ROLLBACK, each prepared once
  // (used by Transaction).
  Status BeginImmediate();
  Status BeginDeferred();
  Status Commit();
  Status Rollback();

  // True while a transaction is open on this connection (false when
  // closed).
  bool InTransaction() const;
  // The rowid of the last successful INSERT on this connection.
  int64_t LastInsertRowId() const;
  // The rows changed by the last INSERT, UPDATE or DELETE that completed.
  int64_t Changes() const;

  // A Status for `rc`, with this database's path and its last error message.
  Status Error(int rc, std::string_view what) const;

 private:
  friend class Statement;

  Status RunCached(Statement* statement, const char* sql);
  // Prepares `sql` into `statement` and steps it once: OK when it is on a
  // row (the one QueryInt64() and QueryText() read), Corruption if `sql`
  // returns none.
  Status StepToFirstRow(const char* sql, Statement* statement);
  void Close();

  sqlite3* db_ = nullptr;
  std::string path_;
  friend int BusyNap(void* database, int count);

  int busy_timeout_ms_ = 0;    // restored after CheckpointTruncate()
  int busy_wait_ms_ = 0;       // the busy handler's current limit
  int64_t busy_since_ns_ = 0;  // when the current wait began (steady clock)
  Statement begin_immediate_;
  Statement begin_deferred_;
  Statement commit_;
  Statement rollback_;
};

// Resets a Statement (and clears its bindings) when it goes out of scope,
// so that no statement is left holding a read snapshot.
class AutoReset {
 public:
  explicit AutoReset(Statement* statement) : statement_(statement) {
    statement_->Reset();
  }
  AutoReset(const AutoReset&) = delete;
  AutoReset& operator=(const AutoReset&) = delete;
  ~AutoReset() { statement_->Reset(); }

 private:
  Statement* statement_;
};

// A transaction that is rolled back on destruction unless Commit() succeeded.
class Transaction {
 public:
  explicit Transaction(Database* db) : db_(db) {}
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();

  // BEGIN IMMEDIATE: takes the write lock now (waiting up to the busy
  // timeout), so the transaction can never fail later for want of it.
  // A transaction left open on the connection by a failed ROLLBACK is
  // rolled back first (transactions do not nest). Once per Transaction.
  Status BeginImmediate();
  // BEGIN DEFERRED: a read snapshot taken at the first read; as above.
  Status BeginDeferred();
  // COMMIT; Corruption if no Begin*() succeeded. On failure the
  // transaction stays open and the destructor rolls it back.
  Status Commit();
  // Rolls back an open transaction; does nothing otherwise. A ROLLBACK that
  // fails is left for the next Begin*() to clean up.
  void Rollback();

 private:
  void AbandonStale();

  Database* db_;
  bool open_ = false;
};

}  // namespace sql
}  // namespace pum

#endif  // PUM_SCHEMA_STORE_SQLITE_H_
