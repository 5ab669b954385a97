// PNG output of an SVG (a chart from report/chart.h, or any SVG with a width and height),
// rasterized by librsvg + cairo. The height follows the SVG's aspect ratio. Calls are
// independent (one librsvg handle each) and may run on several threads.
//
// Example:
//   std::string svg = knob::to_svg(chart);
//   knob::write_png(svg, "lr_find.png", 1280);   // 2x a 640-pixel-wide chart
#pragma once

#include <string>

namespace knob {

// The PNG file's bytes. Throws InvalidArgument for width_px outside [1, 16384] and knob::Error
// when librsvg cannot read the SVG or the SVG has no size.
std::string to_png(const std::string& svg, int width_px);

// Writes to_png(svg, width_px) to `path` (replacing it). Errors name the path.
void write_png(const std::string& svg, const std::string& path, int width_px);

}  // namespace knob
