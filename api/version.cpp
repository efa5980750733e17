#include "sparsepose/version.h"

namespace sparsepose {

const char* version() noexcept { return SPARSEPOSE_VERSION_STRING; }

}  // namespace sparsepose
