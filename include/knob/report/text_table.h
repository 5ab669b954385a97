// TextTable: a plain-text table, columns padded to their widest cell and a rule of dashes
// under the header — how `knob study list`, `knob pbt` and `knob importance` print.
//
// Example:
//   knob::TextTable table({"name", "trials"});
//   table.add_row({"mlp", "40"});
//   table.print(std::cout);  // name  trials\n------------\nmlp   40\n
#pragma once

#include <ostream>
#include <string>
#include <vector>

namespace knob {

// Every cell is printed through printable() (knob/core/printable.h): a study named
// "\x1b]0;..." cannot drive the terminal.
class TextTable {
 public:
  explicit TextTable(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  void print(std::ostream& out) const;
  std::string str() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace knob
