// Which build of the engine's code this process runs, for caches whose contents depend on that code.
//
// The kernel plan cache (kernel_plan.h) stores timings and tuning choices of the kernels; a plan timed by
// an older build says nothing about the kernels of a newer one (a faster sparse kernel would keep losing
// to the dense timing of yesterday), and its tuning parameters may mean something else. The identity is
// the GNU build ID of the loaded object that holds this code (the executable, or a shared object such as
// the GStreamer plugin, which links the engine statically): the linker computes it from the object's
// contents, so any change of the code changes it, and an identical rebuild keeps it.
#pragma once

#include <string>

namespace sp {

// The build ID as lowercase hex ("f92cd6ea..."). Without one (linked with --build-id=none), a hash of
// the object's file in the same form, prefixed "file:"; "unknown" when neither can be read, in which case
// every build shares one identity. Computed once per process.
const std::string& build_identity();

}  // namespace sp
