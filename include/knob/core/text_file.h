// Whole files in and out: reading a text file (a config, a CSV), and writing an output file
// (an export, a report, a chart) so that a failure never leaves a half-written or clobbered
// file behind. Errors name `field` (the flag or key that gave the path) and the path.
//
// Example:
//   std::string text = knob::read_text_file("study.toml", "config");
//   knob::write_file_atomically("trials.csv", text, "--output", {"knob.db"});
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace knob {

// A missing or unreadable file throws InvalidArgument naming `field` and the path.
std::string read_text_file(const std::string& path, const std::string& field = "file");

// Writes `bytes` as the whole content of `path`: into a temporary file in the same directory,
// every write, the flush to disk and the close checked, then renamed over `path` — on any
// failure the old file (if any) is untouched and the temporary removed. A path that exists
// and is not a regular file (/dev/stdout, a pipe) is written in place, every write checked.
// Throws InvalidArgument if `path` is the same file (device and inode, whatever its name) as
// one of `keep` (e.g. the study database) or its directory does not exist, and Error naming
// the OS's reason when writing fails (a full disk, /dev/full, no permission).
void write_file_atomically(const std::string& path, std::string_view bytes,
                           const std::string& field = "output",
                           const std::vector<std::string>& keep = {});

// True when both paths exist and name the same file (same device and inode).
bool same_file(const std::string& a, const std::string& b);

}  // namespace knob
