// Opens a storage from a URL, spelled as Optuna (SQLAlchemy) spells it:
//   ""  or ":memory:"            in-memory, this process only
//   sqlite:///relative/path.db   SQLite file relative to the working directory
//   sqlite:////abs/path.db       SQLite file at an absolute path
//   postgresql://USER[:PASSWORD]@HOST[:PORT]/DB   PostgreSQL (also postgresql+psycopg2://...;
//                                libpq options after ?), see postgres_storage.h
//   ...?schema=v3.0.0.d          (SQLite or PostgreSQL) a new database at Optuna 3.0-3.1's schema
//                                revision instead of v3.2.0.a; an existing one must be at it
//                                (schema_revision.h); taken off before the URL is used
// Anything else throws InvalidArgument naming the URL and the forms allowed. `mode`
// (open_mode.h) says whether a missing SQLite file is created; kReadOnly and kExisting throw
// InvalidArgument naming the URL when it is missing, and kReadOnly never writes it (see
// sqlite_storage.h). PostgreSQL storages open the same in every mode.
//
// Example:
//   std::shared_ptr<knob::Storage> storage = knob::open_storage("sqlite:///knob.db");
//   auto study = knob::load_study(knob::StudyOptions().storage_instance(storage).study_name("s"));
#pragma once

#include <memory>
#include <string>

#include "knob/storage/open_mode.h"
#include "knob/storage/storage.h"

namespace knob {

std::shared_ptr<Storage> open_storage(const std::string& url, OpenMode mode);
std::shared_ptr<Storage> open_storage(const std::string& url);  // OpenMode::kCreate

// The SQLite file a URL names (its path as given), or "" for other storages: what an output
// file must not be (see write_file_atomically in knob/core/text_file.h).
std::string storage_file(const std::string& url);

}  // namespace knob
