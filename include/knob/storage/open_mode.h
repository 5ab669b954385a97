// How a storage is opened: to create and use it (`knob tune`), only to read it (`knob study
// list|show|export`, `knob report`, the dashboard), or to change an existing one
// (`knob study delete`). The read-only and existing modes refuse a missing SQLite file rather
// than create it, and leave the file's journal mode and indexes as they found them.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db", knob::OpenMode::kReadOnly);
#pragma once

namespace knob {

enum class OpenMode {
  kCreate,    // create a missing file and the schema; switch SQLite to WAL
  kExisting,  // the file must exist and hold the schema; nothing is changed but what is asked
  kReadOnly,  // the file must exist and hold the schema; nothing is ever written
};

}  // namespace knob
