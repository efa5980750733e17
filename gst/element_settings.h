// The element's properties as plain values, their translation into the library's Options, and the
// library's option names translated back into property names for error messages.
#pragma once

#include <cstdint>
#include <string>

#include "sparsepose/pose_estimator.h"

namespace sp::gst {

struct ElementSettings {
  std::string model;                            // empty: the bundled model
  sparsepose::Engine engine = sparsepose::Engine::Auto;
  int threads = 0;                              // 0: one per core
  std::string isa = "auto";
  int imgsz = 0;                                // 0: the model's own input size
  float conf = 0.25f;
  float iou = 0.7f;
  bool draw = false;
  bool track = true;
  bool smooth = false;
  bool post_messages = true;
  std::uint64_t latency_ns = 0;                 // processing latency to report; 0: measured
};

sparsepose::Options to_options(const ElementSettings& settings);

// The property that sets a library option ("input_size" -> "imgsz", "tracking" -> "smooth", ...), or
// nullptr when the option is none of the element's.
const char* property_of_option(const std::string& option);

// The library's message in the property's words: a leading option name ("input_size must be ...")
// becomes the property's ("imgsz must be ...").
std::string message_for_property(const std::string& message, const std::string& option, const char* property);

}  // namespace sp::gst
