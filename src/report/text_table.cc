#include "knob/report/text_table.h"

#include <algorithm>
#include <sstream>

#include "knob/core/printable.h"

namespace knob {

void TextTable::print(std::ostream& out) const {
  std::vector<std::vector<std::string>> rows;
  std::vector<size_t> widths;
  for (const auto& row : rows_) {
    rows.emplace_back();
    for (const auto& cell : row) rows.back().push_back(printable(cell));
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], rows.back()[i].size());
  }
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t i = 0; i < rows[r].size(); ++i) {
      out << rows[r][i];
      if (i + 1 < rows[r].size()) out << std::string(widths[i] - rows[r][i].size() + 2, ' ');
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
