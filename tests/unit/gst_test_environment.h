// GStreamer set up once per test program, for the tests that build pipelines with the sparsepose
// element: gst_init, then the element registered from the static library (no plugin module to load).
// ctest gives each program a registry of the build tree's own (GST_REGISTRY) for the stock elements,
// rather than the user's.
#pragma once

#include <gst/gst.h>
#include <gtest/gtest.h>

#include "gst/gstsparsepose.h"

namespace sp::test {

inline gboolean register_sparsepose_elements(GstPlugin* plugin) { return gst_sparse_pose_register(plugin); }

class GstEnvironment : public testing::Environment {
 public:
  void SetUp() override {
    gst_init(nullptr, nullptr);
    ASSERT_TRUE(gst_plugin_register_static(GST_VERSION_MAJOR, GST_VERSION_MINOR, "sparsepose", "sparsepose (test)",
                                           register_sparsepose_elements, "0", "unknown", "sparsepose", "sparsepose",
                                           "sparsepose"));
  }
};

// Including this header registers the environment (once per program: an inline variable).
inline const testing::Environment* const kGstEnvironment = testing::AddGlobalTestEnvironment(new GstEnvironment);

}  // namespace sp::test
