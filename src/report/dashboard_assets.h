// The dashboard's static files (src/report/assets/), embedded in the binary at build time by
// cmake/embed_assets.cmake: nothing is read from disk or fetched from the network at run time.
#pragma once

#include <string_view>
#include <vector>

namespace knob::detail {

struct Asset {
  std::string_view name;          // the file name, e.g. "app.js"
  std::string_view content_type;  // e.g. "text/javascript; charset=utf-8"
  std::string_view body;
};

const std::vector<Asset>& dashboard_assets();

// The asset named `name`, or nullptr.
inline const Asset* find_asset(std::string_view name) {
  for (const Asset& asset : dashboard_assets()) {
    if (asset.name == name) return &asset;
  }
  return nullptr;
}

}  // namespace knob::detail
