// TextTable: columns padded to the widest cell, two spaces between, a dashed rule under the
// header, the last cell of a row never padded.
#include "knob/report/text_table.h"

#include <gtest/gtest.h>

#include <sstream>

namespace knob {
namespace {

TEST(TextTableTest, PadsColumnsToTheWidestCell) {
  TextTable table({"name", "n"});
  table.add_row({"a", "10"});
  table.add_row({"longer", "7"});
  EXPECT_EQ(table.str(),
            "name    n\n"
            "----------\n"
            "a       10\n"
            "longer  7\n");
}

TEST(TextTableTest, HeaderAloneAndShortRows) {
  EXPECT_EQ(TextTable({"only"}).str(), "only\n----\n");
  TextTable table({"a", "b", "c"});
  table.add_row({"x"});
  EXPECT_EQ(table.str(), "a  b  c\n-------\nx\n");
}

TEST(TextTableTest, PrintWritesWhatStrReturns) {
  TextTable table({"k", "v"});
  table.add_row({"lr", "0.001"});
  std::ostringstream out;
  table.print(out);
  EXPECT_EQ(out.str(), table.str());
}

}  // namespace
}  // namespace knob
