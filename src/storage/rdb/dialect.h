// Dialect: what one database does differently under Optuna's RDB schema (internal to the
// storage module). RdbStorage (knob/storage/rdb_storage.h) is written once in `?`-placeholder
// SQL against this interface; a dialect owns the connection and supplies placeholders, the
// transaction kinds and their locking, identity columns, error classification and retry, the
// SQL fragments that differ (row locks, clocks, id lists) and how the schema is opened.
// Used from one thread at a time (RdbStorage holds its mutex around every call).
//
// Example (in RdbStorage):
//   run_transaction(dialect, Tx::kWrite, [&] {
//     dialect.run("UPDATE trials SET state = ? WHERE trial_id = ?", {"FAIL", trial_id});
//   });
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <variant>
#include <vector>

#include "knob/core/error.h"
#include "knob/storage/schema_revision.h"

namespace knob::detail {

// A failure after which the whole transaction may be run again (a lost connection, a
// serialization failure or deadlock); the dialect's connection throws it.
class TransientError : public StorageError {
 public:
  using StorageError::StorageError;
};

// The kinds of transaction RdbStorage asks for.
enum class Tx {
  kRead,      // reads that need no common snapshot (SQLite: none; PostgreSQL: as kSnapshot)
  kSnapshot,  // several reads of one snapshot
  kWrite,     // writes, serialized with other writers as the dialect does it
};

// A value bound to a statement's next `?`: NULL, an integer, a double (NaN binds as NULL) or
// text. Text from a named string is viewed, not copied: a SqlValue lives only as long as the
// call it is passed to (a temporary string is moved in and owned).
class SqlValue {
 public:
  SqlValue(std::nullopt_t) {}  // NOLINT: implicit, as in {std::nullopt, ...}
  SqlValue(int value) : value_(int64_t{value}) {}
  SqlValue(int64_t value) : value_(value) {}
  SqlValue(double value) : value_(value) {}
  SqlValue(const std::string& value) : value_(std::string_view(value)) {}
  SqlValue(std::string&& value) : value_(std::move(value)) {}
  SqlValue(const char* value) : value_(std::string_view(value)) {}
  SqlValue(const std::optional<std::string>& value) {
    if (value) value_ = std::string_view(*value);
  }
  SqlValue(std::optional<std::string>&& value) {
    if (value) value_ = std::move(*value);
  }
  // Calls `f` with std::nullopt (NULL), an int64_t, a double or a std::string_view.
  template <class F>
  decltype(auto) visit(F&& f) const {
    return std::visit(
        [&](const auto& v) -> decltype(auto) {
          if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::monostate>) {
            return f(std::nullopt);
          } else if constexpr (std::is_same_v<std::decay_t<decltype(v)>, std::string>) {
            return f(std::string_view(v));
          } else {
            return f(v);
          }
        },
        value_);
  }

 private:
  std::variant<std::monostate, int64_t, double, std::string_view, std::string> value_;
};
using SqlValues = std::vector<SqlValue>;

// One row of a result, read by column index.
class SqlRow {
 public:
  virtual ~SqlRow() = default;
  virtual bool is_null(int column) const = 0;
  virtual int64_t int64(int column) const = 0;
  virtual double real(int column) const = 0;
  virtual std::string text(int column) const = 0;
  std::optional<std::string> optional_text(int column) const {
    if (is_null(column)) return std::nullopt;
    return text(column);
  }
};

// A callable taking each row, by reference (the caller's lambda outlives the call; nothing is
// allocated).
class RowFn {
 public:
  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, RowFn>>>
  RowFn(F&& f)  // NOLINT: implicit, as lambdas are passed
      : object_(const_cast<void*>(static_cast<const void*>(&f))),
        call_([](void* object, const SqlRow& row) {
          (*static_cast<std::remove_reference_t<F>*>(object))(row);
        }) {}
  void operator()(const SqlRow& row) const { call_(object_, row); }

 private:
  void* object_;
  void (*call_)(void*, const SqlRow&);
};

// An SqlRow over a connection's own row type (anything with is_null/int64/real/text(column)).
template <class Row>
class SqlRowOf : public SqlRow {
 public:
  explicit SqlRowOf(const Row& row) : row_(row) {}
  bool is_null(int column) const override { return row_.is_null(column); }
  int64_t int64(int column) const override { return row_.int64(column); }
  double real(int column) const override { return row_.real(column); }
  std::string text(int column) const override { return row_.text(column); }

 private:
  const Row& row_;
};

// The SQL fragments that differ; the shared statements splice them in.
struct SqlSpelling {
  // Row locks appended to a SELECT, held until the transaction ends ("" where the database
  // write lock of a write transaction already serializes writers, as in SQLite).
  const char* lock_study;        // the study row while trial numbers are allocated
  const char* lock_for_update;   // a trial row about to change state
  const char* lock_for_share;    // a trial row that must not finish meanwhile
  const char* skip_locked;       // rows another worker is claiming are passed over
  const char* skip_locked_of_t;  // the same, for the trials (alias t) of a join
  // A join the planner must walk in the order written (SQLite's CROSS JOIN).
  const char* ordered_join;
  // Turns off the index on trials.study_id for the column after it (SQLite's unary +).
  const char* no_index;
  // The database clock heartbeats are written and judged by (as Optuna's).
  const char* heartbeat_now;
  // Seconds a heartbeat h.heartbeat has been silent, and the condition (one `?`, the grace
  // period in seconds) that makes it stale; the silence may be named `silent` in it.
  const char* heartbeat_silence;
  const char* heartbeat_stale;
  // A condition on t.trial_id being in a list bound as one value, id_list(ids) (one `?`).
  const char* trial_id_in_list;
};

// Runs `body` in a transaction of `kind`, committing unless it throws (a body may return a
// value). After a TransientError the dialect may roll back, pause and run the whole body again;
// when it gives up, the error is thrown as StorageError naming the attempts.
template <class Dialect, class F>
auto run_transaction(Dialect& dialect, Tx kind, F&& body) {
  for (int attempt = 1;; ++attempt) {
    try {
      dialect.begin(kind);
      if constexpr (std::is_void_v<decltype(body())>) {
        body();
        dialect.commit(kind);
        return;
      } else {
        auto result = body();
        dialect.commit(kind);
        return result;
      }
    } catch (const TransientError& e) {
      dialect.rollback(kind);
      if (attempt >= dialect.max_attempts()) {
        throw StorageError(std::string(e.what()) + " (gave up after " + std::to_string(attempt) +
                           " attempts)");
      }
      std::this_thread::sleep_for(dialect.pause_before_retry(attempt));
    } catch (...) {
      dialect.rollback(kind);
      throw;
    }
  }
}

class Dialect {
 public:
  virtual ~Dialect() = default;
  Dialect(const Dialect&) = delete;
  Dialect& operator=(const Dialect&) = delete;

  // The database as errors name it (a path, or a URL without its password).
  const std::string& where() const { return where_; }
  const SqlSpelling& sql() const { return sql_; }

  // Creates the schema in an empty database at `requested` (default kDefaultSchemaRevision),
  // or checks that an existing one is a revision knob reads, and `requested` if given
  // (schema.h); refuses anything else, leaving it untouched. Returns the database's revision.
  virtual SchemaRevision open_schema(std::optional<SchemaRevision> requested) = 0;
  // The names of the database's tables (in PostgreSQL: of the current schema).
  virtual std::set<std::string> table_names() = 0;

  // ---- transactions (see run_transaction)
  virtual void begin(Tx kind) = 0;
  virtual void commit(Tx kind) = 0;
  virtual void rollback(Tx kind) noexcept = 0;
  // How many times a transaction is tried, and the pause after the failed `attempt`.
  virtual int max_attempts() const = 0;
  virtual std::chrono::milliseconds pause_before_retry(int attempt) const = 0;

  // ---- statements with `?` placeholders bound in order
  // Calls `each` for every row.
  virtual void query(const std::string& sql, const SqlValues& params, const RowFn& each) = 0;
  // Calls `each` for the first row only; false if there is none.
  virtual bool query_first(const std::string& sql, const SqlValues& params, const RowFn& each) = 0;
  // Runs a statement without results; returns the number of rows it inserted/updated/deleted.
  virtual int64_t run(const std::string& sql, const SqlValues& params = {}) = 0;
  // Runs an INSERT of one row and returns the row's `id_column`, or nullopt if it inserted
  // nothing (ON CONFLICT DO NOTHING).
  virtual std::optional<int64_t> insert_returning_id(const std::string& sql,
                                                     const SqlValues& params,
                                                     const char* id_column) = 0;
  // Runs several statements without parameters (DDL).
  virtual void run_script(const std::string& sql) = 0;
  // The value bound to sql().trial_id_in_list for these ids.
  virtual SqlValue id_list(const std::vector<int64_t>& ids) const = 0;

  // ---- conveniences over query_first
  bool exists(const std::string& sql, const SqlValues& params) {
    return query_first(sql, params, [](const SqlRow&) {});
  }
  std::optional<int64_t> query_int64(const std::string& sql, const SqlValues& params = {}) {
    std::optional<int64_t> out;
    query_first(sql, params, [&](const SqlRow& row) {
      if (!row.is_null(0)) out = row.int64(0);
    });
    return out;
  }
  std::optional<std::string> query_text(const std::string& sql, const SqlValues& params = {}) {
    std::optional<std::string> out;
    query_first(sql, params, [&](const SqlRow& row) { out = row.optional_text(0); });
    return out;
  }

 protected:
  Dialect(std::string where, const SqlSpelling& sql) : where_(std::move(where)), sql_(sql) {}

 private:
  std::string where_;
  SqlSpelling sql_;
};

}  // namespace knob::detail
