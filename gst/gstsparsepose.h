// The `sparsepose` element: a video filter that runs libsparsepose on each raw frame (BGR, RGB, BGRx,
// RGBx) in place, optionally draws the people on it, attaches a GstSparsePoseMeta
// (include/sparsepose/gst_meta.h) and posts a "sparsepose" element message (gst/pose_message.h).
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

GType gst_sparse_pose_get_type(void);
#define GST_TYPE_SPARSE_POSE (gst_sparse_pose_get_type())

// Registers the element with a plugin (the plugin's init, or a test's static plugin).
gboolean gst_sparse_pose_register(GstPlugin* plugin);

G_END_DECLS
