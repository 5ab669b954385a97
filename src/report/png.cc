// librsvg parses and renders the SVG, cairo rasterizes it and encodes the PNG: no hand-written
// encoder (design.md: prefer a Debian library).
#include "knob/report/png.h"

#include <cairo.h>
#include <librsvg/rsvg.h>

#include <cmath>
#include <cstring>
#include <memory>

#include "knob/core/error.h"
#include "knob/core/text_file.h"

// Under LeakSanitizer (the ASan build): pango, which librsvg uses to lay out text, keeps
// fontconfig patterns in its per-thread font map and its font-matching thread and never frees
// them. It is a fixed cost per rendering thread (about 70-120 kB; measured the same after 1,
// 10 and 40 renders), not a leak per call, but LSan reports it at exit. So only allocations made
// inside libfontconfig are suppressed: fontconfig is built without frame pointers, so LSan's stacks
// end there and cannot name pango. Anything knob, librsvg or cairo leaks is still reported.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)  // clang (scripts/build_asan) does not define gcc's macro
#define KNOB_ADDRESS_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(KNOB_ADDRESS_SANITIZER)
extern "C" const char* __lsan_default_suppressions() { return "leak:libfontconfig.so\n"; }
#endif

namespace knob {
namespace {

constexpr int kMaxWidth = 16384;
constexpr int kMaxHeight = 32767;  // cairo's limit for an image surface

struct GErrorFree {
  void operator()(GError* e) const { g_error_free(e); }
};
struct HandleUnref {
  void operator()(RsvgHandle* h) const { g_object_unref(h); }
};
struct SurfaceDestroy {
  void operator()(cairo_surface_t* s) const { cairo_surface_destroy(s); }
};
struct CairoDestroy {
  void operator()(cairo_t* c) const { cairo_destroy(c); }
};

std::string gerror_text(GError* error) {
  std::unique_ptr<GError, GErrorFree> owned(error);
  return owned ? owned->message : "unknown error";
}

cairo_status_t append_bytes(void* closure, const unsigned char* data, unsigned int length) {
  static_cast<std::string*>(closure)->append(reinterpret_cast<const char*>(data), length);
  return CAIRO_STATUS_SUCCESS;
}

// The PNG bytes, or throws Error("<what>: <reason>").
std::string render(const std::string& svg, int width_px, const std::string& what) {
  KNOB_CHECK(width_px >= 1 && width_px <= kMaxWidth, "width_px", width_px,
             "must be in [1, " + std::to_string(kMaxWidth) + "]");
  GError* error = nullptr;
  std::unique_ptr<RsvgHandle, HandleUnref> handle(
      rsvg_handle_new_from_data(reinterpret_cast<const guint8*>(svg.data()), svg.size(), &error));
  if (!handle) throw Error(what + ": librsvg cannot read the SVG: " + gerror_text(error));
  double svg_w = 0.0, svg_h = 0.0;
  if (!rsvg_handle_get_intrinsic_size_in_pixels(handle.get(), &svg_w, &svg_h) || !(svg_w > 0) ||
      !(svg_h > 0)) {
    throw Error(what + ": the SVG has no width and height in absolute units");
  }
  double height = std::round(width_px * svg_h / svg_w);
  if (!(height >= 1 && height <= kMaxHeight)) {
    throw Error(what + ": " + std::to_string(width_px) + " pixels wide makes the image " +
                std::to_string(height) + " pixels high (allowed: 1 to " +
                std::to_string(kMaxHeight) + ")");
  }
  int height_px = static_cast<int>(height);
  std::unique_ptr<cairo_surface_t, SurfaceDestroy> surface(
      cairo_image_surface_create(CAIRO_FORMAT_ARGB32, width_px, height_px));
  if (cairo_surface_status(surface.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(what + ": cairo cannot make a " + std::to_string(width_px) + "x" +
                std::to_string(height_px) +
                " image: " + cairo_status_to_string(cairo_surface_status(surface.get())));
  }
  std::unique_ptr<cairo_t, CairoDestroy> cr(cairo_create(surface.get()));
  RsvgRectangle viewport{0.0, 0.0, static_cast<double>(width_px), height};
  if (!rsvg_handle_render_document(handle.get(), cr.get(), &viewport, &error)) {
    throw Error(what + ": librsvg cannot render the SVG: " + gerror_text(error));
  }
  if (cairo_status(cr.get()) != CAIRO_STATUS_SUCCESS) {
    throw Error(what + ": cairo: " + cairo_status_to_string(cairo_status(cr.get())));
  }
  cr.reset();
  cairo_surface_flush(surface.get());
  std::string png;
  cairo_status_t status = cairo_surface_write_to_png_stream(surface.get(), append_bytes, &png);
  if (status != CAIRO_STATUS_SUCCESS) {
    throw Error(what + ": cairo cannot encode the PNG: " + cairo_status_to_string(status));
  }
  return png;
}

}  // namespace

std::string to_png(const std::string& svg, int width_px) {
  return render(svg, width_px, "SVG to PNG");
}

void write_png(const std::string& svg, const std::string& path, int width_px) {
  std::string png = render(svg, width_px, "PNG file " + path);
  write_file_atomically(path, png, "PNG file");
}

}  // namespace knob
