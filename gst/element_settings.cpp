#include "gst/element_settings.h"

namespace sp::gst {

sparsepose::Options to_options(const ElementSettings& s) {
  sparsepose::Options o;
  o.model = s.model;
  o.engine = s.engine;
  o.threads = s.threads;
  o.isa = s.isa;
  o.input_size = s.imgsz;
  o.conf = s.conf;
  o.iou = s.iou;
  o.tracking.enabled = s.track;
  o.tracking.smoothing = s.smooth;
  return o;
}

const char* property_of_option(const std::string& option) {
  if (option == "model") return "model";
  if (option == "engine") return "engine";
  if (option == "threads") return "threads";
  if (option == "isa") return "isa";
  if (option == "input_size") return "imgsz";
  if (option == "conf") return "conf";
  if (option == "iou") return "iou";
  // The only tracking setting the element exposes beyond `track` is `smooth` (which needs it).
  if (option == "tracking") return "smooth";
  return nullptr;
}

std::string message_for_property(const std::string& message, const std::string& option, const char* property) {
  // Only the option's own name as the first word: "tracking.smoothing ..." stays as it is.
  const bool leads = !option.empty() && message.size() > option.size() && message.compare(0, option.size(), option) == 0 &&
                     (message[option.size()] == ' ' || message[option.size()] == ':');
  return leads ? property + message.substr(option.size()) : message;
}

}  // namespace sp::gst
