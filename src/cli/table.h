// The CLI's plain-text table is the report module's TextTable (knob/report/text_table.h).
#pragma once

#include "knob/report/text_table.h"

namespace knob::cli {

using Table = TextTable;

}  // namespace knob::cli
