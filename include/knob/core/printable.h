// Text from outside (a study name, a CSV cell) made safe to print on a terminal or in a
// one-line message: control characters — C0, DEL and C1, which start escape sequences — are
// written as \xNN (\u00NN for C1), a backslash as \\; everything else, UTF-8 included, is kept.
//
// Example:
//   std::cout << knob::printable("\x1b]0;owned\x07");  // \x1b]0;owned\x07, not a new title
#pragma once

#include <string>
#include <string_view>

namespace knob {

std::string printable(std::string_view text);

}  // namespace knob
