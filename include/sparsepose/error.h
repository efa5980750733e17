// The one exception type libsparsepose throws. Its message is one line that names what was wrong (a
// model file that cannot be read, a thread count out of range, a frame whose stride is too small), so a
// program can print it as it is.
#pragma once

#include <stdexcept>
#include <string>

namespace sparsepose {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, std::string option = {});
  Error(const Error&) = default;
  Error& operator=(const Error&) = default;
  ~Error() override;

  // The Options field at fault ("model", "engine", "threads", "isa", "input_size", "conf", "iou",
  // "tracking"; "model" also when the model file itself is bad), or empty when the error is not about
  // an option (a bad frame, bad draw options). Front ends use it to name their own flag or property.
  const std::string& option() const noexcept { return option_; }

 private:
  std::string option_;
};

}  // namespace sparsepose
