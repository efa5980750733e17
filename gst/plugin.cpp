// The GStreamer plugin libgstsparsepose.so: one element, `sparsepose` (gst/gstsparsepose.h).
#include <gst/gst.h>

#include "gst/gstsparsepose.h"

#ifndef PACKAGE
#define PACKAGE "sparsepose"
#endif

static gboolean plugin_init(GstPlugin* plugin) { return gst_sparse_pose_register(plugin); }

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, sparsepose,
                  "Real-time human pose estimation on CPUs (sparsepose)", plugin_init, SP_VERSION,
                  "unknown",  // the project declares no licence yet (GStreamer accepts "unknown")
                  "sparsepose", "sparsepose")
