// JSON for knob: nlohmann::json (Debian's nlohmann-json3-dev), plus a writer whose text
// matches Python's json.dumps (", " and ": " separators, keys kept in insertion order), so
// values knob stores read back byte-for-byte like the ones Optuna stores.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace knob {

using Json = nlohmann::ordered_json;

// Serializes like Python's json.dumps(value) with default arguments (ASCII-escaped,
// NaN/Infinity written as Python writes them).
std::string dumps(const Json& value);

// Parses JSON text, accepting Python's NaN / Infinity / -Infinity tokens; throws
// InvalidArgument naming `field` when the text is not JSON.
Json loads(const std::string& text, const std::string& field = "json");

}  // namespace knob
