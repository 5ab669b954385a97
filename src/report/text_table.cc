#include "knob/report/text_table.h"

#include <algorithm>
#include <sstream>

namespace knob {

void TextTable::print(std::ostream& out) const {
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  for (size_t r = 0; r < rows_.size(); ++r) {
    for (size_t i = 0; i < rows_[r].size(); ++i) {
      out << rows_[r][i];
      if (i + 1 < rows_[r].size()) out << std::string(widths[i] - rows_[r][i].size() + 2, ' ');
    }
    out << "\n";
    if (r == 0) {
      size_t total = 0;
      for (size_t w : widths) total += w + 2;
      out << std::string(total > 2 ? total - 2 : 0, '-') << "\n";
    }
  }
}

std::string TextTable::str() const {
  std::ostringstream out;
  print(out);
  return out.str();
}

}  // namespace knob
