// Where the bundled models are: found from the library's own location (not the program's), so a
// program linked against an installed libsparsepose, the GStreamer plugin and the unit tests all find
// them: assets/ in the source tree (the build tree sits inside it), share/sparsepose/assets in an
// install prefix.
#pragma once

#include <string>

namespace sp::api {

// The assets directory; throws Error (option "model") naming where it looked when there is none.
std::string bundled_assets_dir();

}  // namespace sp::api
