#include "sparsepose/error.h"

#include <utility>

namespace sparsepose {

Error::Error(const std::string& message, std::string option) : std::runtime_error(message), option_(std::move(option)) {}

// Out of line: the key function, so Error's type information lives in the library (one definition that
// a program's catch clauses match).
Error::~Error() = default;

}  // namespace sparsepose
