// A study as one self-contained HTML file — the dashboard's study page with its data inlined,
// its script and styles embedded, nothing fetched — to attach to a pull request or an e-mail.
// Every chart also downloads as SVG from a link beside it.
//
// Example:
//   auto storage = knob::open_storage("sqlite:///knob.db");
//   std::ofstream("report.html") << knob::html_report(*storage, "mlp");
#pragma once

#include <string>

#include "knob/storage/storage.h"

namespace knob {

// The HTML document. Throws NotFound naming the study.
std::string html_report(Storage& storage, const std::string& study_name);

}  // namespace knob
