#include "knob/core/text_file.h"

#include <fstream>
#include <sstream>

#include "knob/core/error.h"

namespace knob {

std::string read_text_file(const std::string& path, const std::string& field) {
  std::ifstream in(path, std::ios::binary);
  KNOB_CHECK(in.good(), field, path, "must be a readable file");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace knob
