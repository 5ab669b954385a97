// Helpers shared by knob's unit tests (not installed): a private temporary directory, a
// check that a message holds every expected fragment, and one that a call is refused as bad
// input with such a message.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

#include "knob/core/error.h"

namespace knob::testing {

// A fresh directory under the system's temporary directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "knob-test-XXXXXX").string();
    if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed for " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string path() const { return path_.string(); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  // A SQLite storage URL for a file in the directory.
  std::string url(const std::string& name) const { return "sqlite:///" + file(name); }

 private:
  std::filesystem::path path_;
};

inline void expect_contains(const std::string& text, const std::vector<std::string>& parts) {
  for (const auto& part : parts) {
    EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in: " << text;
  }
}

// `call` must throw InvalidArgument whose message holds every fragment; `name` labels the case
// (a row of a malformed-input table).
inline void expect_invalid(const std::string& name, const std::function<void()>& call,
                           const std::vector<std::string>& fragments) {
  SCOPED_TRACE(name);
  try {
    call();
    ADD_FAILURE() << name << ": no error";
  } catch (const InvalidArgument& e) {
    expect_contains(e.what(), fragments);
  }
}

}  // namespace knob::testing
