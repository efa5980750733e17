// One error type for everything the engine rejects: a model it cannot read, an op it cannot run,
// a shape that does not fit. The message is one line and names what was wrong, so the command line
// can print it as is and exit non-zero.
#pragma once

#include <stdexcept>
#include <string>

namespace sp {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace sp
