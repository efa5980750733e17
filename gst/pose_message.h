// The element message posted on the bus for every frame the element runs the model on:
//
//   sparsepose, frame=(guint64)12, pts=(guint64)400000000, running-time=(guint64)400000000,
//     width=(int)576, height=(int)576, processed=(guint64)13, dropped=(guint64)0,
//     preprocess-ms=(double)1.2, model-ms=(double)16.4, decode-ms=(double)0.1, tracking-ms=(double)0.02,
//     persons=(GstValueArray)< [person, id=(gint64)1, score=(double)0.93,
//                               box=(GstValueArray)< x1, y1, x2, y2 >,
//                               keypoints=(GstValueArray)< < x, y, conf > x17 > ] ... >
//
// pts and running-time are GST_CLOCK_TIME_NONE (as guint64) when the buffer has no timestamp; id is -1
// with track=false; coordinates are pixels of the frame; dropped counts the frames skipped so far under
// QoS (live sources only), which get no message.
#pragma once

#include <gst/gst.h>

#include "sparsepose/pose_estimator.h"

namespace sp::gst {

inline constexpr const char* kPoseMessageName = "sparsepose";

struct FrameContext {
  GstClockTime pts = GST_CLOCK_TIME_NONE;
  GstClockTime running_time = GST_CLOCK_TIME_NONE;
  int width = 0;
  int height = 0;
  guint64 processed = 0;  // frames run through the model so far, this one included
  guint64 dropped = 0;    // frames dropped under QoS so far
};

// A new structure (the caller owns it, e.g. gives it to gst_message_new_element).
GstStructure* pose_message_structure(const sparsepose::Result& result, const FrameContext& frame);

}  // namespace sp::gst
