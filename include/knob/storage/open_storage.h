// Opens a storage from a URL, spelled as Optuna (SQLAlchemy) spells it:
//   ""  or ":memory:"            in-memory, this process only
//   sqlite:///relative/path.db   SQLite file relative to the working directory
//   sqlite:////abs/path.db       SQLite file at an absolute path
//   postgresql://USER[:PASSWORD]@HOST[:PORT]/DB   PostgreSQL (also postgresql+psycopg2://...;
//                                libpq options after ?), see postgres_storage.h
// Anything else throws InvalidArgument naming the URL and the forms allowed.
//
// Example:
//   std::shared_ptr<knob::Storage> storage = knob::open_storage("sqlite:///knob.db");
//   auto study = knob::load_study(knob::StudyOptions().storage_instance(storage).study_name("s"));
#pragma once

#include <memory>
#include <string>

#include "knob/storage/storage.h"

namespace knob {

std::shared_ptr<Storage> open_storage(const std::string& url);

}  // namespace knob
