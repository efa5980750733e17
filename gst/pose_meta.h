// Registering and attaching the buffer meta declared in include/sparsepose/gst_meta.h.
#pragma once

#include <gst/gst.h>

#include "sparsepose/gst_meta.h"
#include "sparsepose/pose_estimator.h"

namespace sp::gst {

// Registers the API type (once; thread-safe) and returns it.
GType pose_meta_api_type();

// Attaches a meta holding `result`'s people and timings to a writable buffer.
GstSparsePoseMeta* add_pose_meta(GstBuffer* buffer, const sparsepose::Result& result);

}  // namespace sp::gst
