#include "schema/store/sqlite.h"

#include <sqlite3.h>
#include <time.h>

#include <algorithm>
#include <cassert>
#include <chrono>
#include <string>
#include <utility>

namespace pum {
namespace sql {

Status StatusFromSqlite(int rc, std::string message) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return Status::Ok();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy(std::move(message));
    case SQLITE_FULL:
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_NOMEM:
    case SQLITE_PERM:
    case SQLITE_NOLFS:
    case SQLITE_PROTOCOL:
    case SQLITE_INTERRUPT:
    case SQLITE_ABORT:
      return Status::IoError(std::move(message));
    default:  // SQLITE_NOTADB, SQLITE_CORRUPT, SQLITE_ERROR (wrong schema)...
      return Status::Corruption(std::move(message));
  }
}

// Statement ------------------------------------------------------------------

Statement::~Statement() { Finalize(); }

void Statement::Finalize() {
  if (stmt_ != nullptr) sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  db_ = nullptr;
}

void Statement::Reset() {
  if (stmt_ == nullptr || !needs_reset_) return;
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
  bind_rc_ = SQLITE_OK;
  needs_reset_ = false;
}

void Statement::NoteBindError(int rc) {
  needs_reset_ = true;
  if (rc != SQLITE_OK && bind_rc_ == SQLITE_OK) bind_rc_ = rc;
}

void Statement::BindInt64(int index, int64_t value) {
  assert(is_valid());
  NoteBindError(sqlite3_bind_int64(stmt_, index + 1, value));
}

void Statement::BindDouble(int index, double value) {
  assert(is_valid());
  NoteBindError(sqlite3_bind_double(stmt_, index + 1, value));
}

void Statement::BindText(int index, std::string_view value) {
  assert(is_valid());
  NoteBindError(sqlite3_bind_text64(stmt_, index + 1, value.data(),
                                    value.size(), SQLITE_TRANSIENT,
                                    SQLITE_UTF8));
}

void Statement::BindBlob(int index, std::string_view value) {
  assert(is_valid());
  // A zero-length blob still binds as a blob, not NULL: the pointer must be
  // non-null.
  static const char kEmpty = 0;
  const char* data = value.empty() ? &kEmpty : value.data();
  NoteBindError(sqlite3_bind_blob64(stmt_, index + 1, data, value.size(),
                                    SQLITE_TRANSIENT));
}

Status Statement::Step(bool* has_row) {
  *has_row = false;
  if (stmt_ == nullptr) {
    return Status::Corruption("sqlite: step on an unprepared statement");
  }
  if (bind_rc_ != SQLITE_OK) {
    return db_->Error(bind_rc_, std::string("binding ") + sqlite3_sql(stmt_));
  }
  needs_reset_ = true;
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) {
    *has_row = true;
    return Status::Ok();
  }
  if (rc == SQLITE_DONE) return Status::Ok();
  return db_->Error(rc, sqlite3_sql(stmt_));
}

Status Statement::Run() {
  bool has_row = true;
  while (has_row) {
    Status s = Step(&has_row);
    if (!s.ok()) return s;
  }
  return Status::Ok();
}

int64_t Statement::ColumnInt64(int index) const {
  assert(is_valid());
  return sqlite3_column_int64(stmt_, index);
}

double Statement::ColumnDouble(int index) const {
  assert(is_valid());
  return sqlite3_column_double(stmt_, index);
}

std::string Statement::ColumnBytes(int index) const {
  assert(is_valid());
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return std::string();
  return std::string(static_cast<const char*>(data), size);
}

std::string_view Statement::ColumnView(int index) const {
  assert(is_valid());
  const void* data = sqlite3_column_blob(stmt_, index);
  int size = sqlite3_column_bytes(stmt_, index);
  if (data == nullptr || size <= 0) return std::string_view();
  return std::string_view(static_cast<const char*>(data), size);
}

// Database -------------------------------------------------------------------

namespace {

struct BlobFunction {
  Database::BlobMerge merge;
  std::string name;
};

std::string_view BlobArgument(sqlite3_value* value) {
  const void* data = sqlite3_value_blob(value);
  int size = sqlite3_value_bytes(value);
  if (data == nullptr || size <= 0) return std::string_view();
  return std::string_view(static_cast<const char*>(data), size);
}

extern "C" void CallBlobFunction(sqlite3_context* context, int argc,
                                 sqlite3_value** argv) {
  assert(argc == 2);
  (void)argc;
  const auto* function =
      static_cast<const BlobFunction*>(sqlite3_user_data(context));
  // One buffer per thread: its capacity is reused from call to call.
  thread_local std::string out;
  out.clear();
  if (!function->merge(BlobArgument(argv[0]), BlobArgument(argv[1]), &out)) {
    const std::string message = function->name + ": bad argument";
    sqlite3_result_error(context, message.c_str(), -1);
    return;
  }
  static const char kEmpty = 0;
  sqlite3_result_blob64(context, out.empty() ? &kEmpty : out.data(), out.size(),
                        SQLITE_TRANSIENT);
}

extern "C" void DestroyBlobFunction(void* function) {
  delete static_cast<BlobFunction*>(function);
}

}  // namespace

Database::Database() = default;

Database::~Database() { Close(); }

void Database::Close() {
  begin_immediate_.Finalize();
  begin_deferred_.Finalize();
  commit_.Finalize();
  rollback_.Finalize();
  // close_v2: if a caller still holds a Statement, the connection lingers
  // until that Statement is finalized instead of leaking.
  if (db_ != nullptr) sqlite3_close_v2(db_);
  db_ = nullptr;
}

Status Database::Open(const std::string& path) {
  Close();
  path_ = path;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status s = Error(rc, "cannot open");
    Close();
    return s;
  }
  sqlite3_extended_result_codes(db_, 1);
  return Status::Ok();
}

namespace {

int64_t SteadyNanoseconds() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

// SQLite calls it while a lock is held elsewhere; `count` is how many times
// for this wait. Returns 0 (give up: SQLITE_BUSY) past the limit.
int BusyNap(void* database, int count) {
  auto* db = static_cast<Database*>(database);
  const int64_t now = SteadyNanoseconds();
  if (count == 0) db->busy_since_ns_ = now;
  const int64_t waited = now - db->busy_since_ns_;
  if (waited >= int64_t{db->busy_wait_ms_} * 1000000) return 0;
  // 50 us, then longer the longer it waits, at most 500 us (and not past
  // the limit).
  int64_t nap = std::min<int64_t>(50000 + int64_t{count} * 10000, 500000);
  nap = std::min(nap, int64_t{db->busy_wait_ms_} * 1000000 - waited);
  struct timespec ts = {0, static_cast<long>(nap)};
  nanosleep(&ts, nullptr);
  return 1;
}

extern "C" int CallBusyNap(void* database, int count) {
  return BusyNap(database, count);
}

void Database::SetBusyTimeout(int ms) {
  assert(is_open());
  busy_timeout_ms_ = ms;
  busy_wait_ms_ = ms;
  if (ms <= 0) {
    sqlite3_busy_handler(db_, nullptr, nullptr);  // fail at once
  } else {
    sqlite3_busy_handler(db_, &CallBusyNap, this);
  }
}

Status Database::Execute(const char* sql) {
  assert(is_open());
  int rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, sql);
}

Status Database::CreateBlobFunction(const char* name, BlobMerge merge) {
  assert(is_open());
  auto* function = new BlobFunction{merge, name};
  // On failure SQLite calls DestroyBlobFunction itself.
  int rc = sqlite3_create_function_v2(
      db_, name, 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC, function,
      &CallBlobFunction, nullptr, nullptr, &DestroyBlobFunction);
  return rc == SQLITE_OK ? Status::Ok()
                         : Error(rc, std::string("creating function ") + name);
}

Status Database::Prepare(const char* sql, Statement* out) {
  assert(is_open());
  out->Finalize();
  sqlite3_stmt* stmt = nullptr;
  int rc = sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Error(rc, std::string("preparing ") + sql);
  }
  out->db_ = this;
  out->stmt_ = stmt;
  out->bind_rc_ = SQLITE_OK;
  out->needs_reset_ = false;
  return Status::Ok();
}

Status Database::StepToFirstRow(const char* sql, Statement* statement) {
  Status s = Prepare(sql, statement);
  bool has_row = false;
  if (s.ok()) s = statement->Step(&has_row);
  if (!s.ok()) return s;
  if (!has_row) return Status::Corruption(path_ + ": no result from " + sql);
  return Status::Ok();
}

Status Database::QueryInt64(const char* sql, int64_t* out) {
  Statement statement;
  Status s = StepToFirstRow(sql, &statement);
  if (s.ok()) *out = statement.ColumnInt64(0);
  return s;
}

Status Database::QueryText(const char* sql, std::string* out) {
  Statement statement;
  Status s = StepToFirstRow(sql, &statement);
  if (s.ok()) *out = statement.ColumnBytes(0);
  return s;
}

Status Database::CheckpointPassive(bool* complete) {
  assert(is_open());
  int log_frames = -1;
  int checkpointed = -1;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                     &log_frames, &checkpointed);
  if (complete != nullptr) {
    *complete =
        rc == SQLITE_OK && log_frames >= 0 && checkpointed == log_frames;
  }
  // A passive checkpoint never waits; BUSY means another one is running.
  if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY) return Status::Ok();
  return Error(rc, "checkpoint");
}

Status Database::CheckpointTruncate(int wait_ms) {
  assert(is_open());
  const int restore = busy_timeout_ms_;
  SetBusyTimeout(wait_ms);
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                     nullptr, nullptr);
  SetBusyTimeout(restore);
  return rc == SQLITE_OK ? Status::Ok() : Error(rc, "truncating checkpoint");
}

Status Database::RunCached(Statement* statement, const char* sql) {
  if (!statement->is_valid()) {
    Status s = Prepare(sql, statement);
    if (!s.ok()) return s;
  }
  AutoReset reset(statement);
  return statement->Run();
}

Status Database::BeginImmediate() {
  return RunCached(&begin_immediate_, "BEGIN IMMEDIATE");
}

Status Database::BeginDeferred() {
  return RunCached(&begin_deferred_, "BEGIN DEFERRED");
}

Status Database::Commit() { return RunCached(&commit_, "COMMIT"); }

Status Database::Rollback() { return RunCached(&rollback_, "ROLLBACK"); }

bool Database::InTransaction() const {
  return db_ != nullptr && sqlite3_get_autocommit(db_) == 0;
}

int64_t Database::LastInsertRowId() const {
  assert(is_open());
  return sqlite3_last_insert_rowid(db_);
}

int64_t Database::Changes() const {
  assert(is_open());
  return sqlite3_changes64(db_);
}

Status Database::Error(int rc, std::string_view what) const {
  std::string message = "sqlite " + path_ + ": ";
  message.append(what.data(), what.size());
  message += ": ";
  // sqlite3_errmsg() describes the last failed call; sqlite3_errstr() the
  // code itself, for failures that did not go through the connection.
  const char* detail = db_ != nullptr ? sqlite3_errmsg(db_) : nullptr;
  if (detail == nullptr || std::string_view(detail) == "not an error") {
    detail = sqlite3_errstr(rc);
  }
  message += detail;
  message += " (code " + std::to_string(rc) + ")";
  return StatusFromSqlite(rc, std::move(message));
}

// Transaction ----------------------------------------------------------------

Transaction::~Transaction() { Rollback(); }

void Transaction::AbandonStale() {
  // Transactions do not nest: one still open here is left over from a
  // ROLLBACK that failed, and would make every later BEGIN fail. If this
  // ROLLBACK fails too, the BEGIN that follows reports it.
  if (db_->InTransaction()) db_->Rollback().IgnoreError();
}

Status Transaction::BeginImmediate() {
  AbandonStale();
  Status s = db_->BeginImmediate();
  open_ = s.ok();
  return s;
}

Status Transaction::BeginDeferred() {
  AbandonStale();
  Status s = db_->BeginDeferred();
  open_ = s.ok();
  return s;
}

Status Transaction::Commit() {
  if (!open_) return Status::Corruption("sqlite: commit without a begin");
  Status s = db_->Commit();
  if (s.ok()) open_ = false;
  return s;  // on failure the destructor rolls back
}

void Transaction::Rollback() {
  if (!open_) return;
  open_ = false;
  // Some errors (SQLITE_FULL, SQLITE_IOERR, ...) roll the transaction back by
  // themselves; a second ROLLBACK would only fail. A ROLLBACK that fails
  // leaves the transaction open; the next Begin*() abandons it
  // (AbandonStale()), and nothing of it was committed.
  if (db_->InTransaction()) db_->Rollback().IgnoreError();
}

}  // namespace sql
}  // namespace pum
