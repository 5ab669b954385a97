// Reads a whole text file (a config, a CSV). A missing or unreadable file throws
// InvalidArgument naming `field` and the path.
#pragma once

#include <string>

namespace knob {

std::string read_text_file(const std::string& path, const std::string& field = "file");

}  // namespace knob
