// Helpers for the tests of child processes (not installed): whether a process still runs,
// and waiting for one to be gone after a signal.
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

namespace knob::testing {

// Whether `pid` runs (a zombie, waiting for a parent that may never reap it, does not).
inline bool alive(int64_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = text.rfind(')');
  return paren == std::string::npos || paren + 2 >= text.size() || text[paren + 2] != 'Z';
}

// Whether `pid` is gone within two seconds (SIGKILL is delivered asynchronously).
inline bool gone_soon(int64_t pid) {
  for (int i = 0; i < 200 && alive(pid); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return !alive(pid);
}

}  // namespace knob::testing
