#include "knob/report/html_report.h"

#include <cassert>

#include "knob/report/dashboard_api.h"
#include "report/dashboard_assets.h"

namespace knob {

std::string html_report(Storage& storage, const std::string& study_name) {
  const detail::Asset* script = detail::find_asset("app.js");
  const detail::Asset* style = detail::find_asset("style.css");
  assert(script && style);
  // Embedded as element text, the assets must not close their element early.
  assert(script->body.find("</script") == std::string_view::npos);
  assert(style->body.find("</style") == std::string_view::npos);
  // The only user text is the data, as JSON with <, > and & escaped: the script reads it and
  // builds the page with textContent (the title too), never as markup.
  std::string html =
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
      "script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data: blob:\">\n"
      "<title>knob report</title>\n<style>\n";
  html += style->body;
  html +=
      "</style>\n</head>\n<body>\n<div id=\"app\"></div>\n"
      "<script type=\"application/json\" id=\"knob-data\">";
  // Each trial with its distributions: the report's trial view (#trial=N) shows them.
  html += json_for_html(study_json(storage, study_name, {}, 0, /*trial_distributions=*/true));
  html += "</script>\n<script>\n";
  html += script->body;
  html += "</script>\n</body>\n</html>\n";
  return html;
}

}  // namespace knob
