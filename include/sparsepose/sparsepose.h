// libsparsepose: real-time human pose estimation on CPUs. Everything but the optional OpenCV glue
// (sparsepose/opencv.h) and the GStreamer meta (sparsepose/gst_meta.h).
//
//   sparsepose::PoseEstimator estimator;                      // the bundled model, engine auto
//   sparsepose::Result r = estimator.run({pixels, width, height, stride, sparsepose::PixelFormat::BGR});
//   for (const sparsepose::Person& p : r.persons) ...         // box, score, 17 keypoints, id
//   sparsepose::draw({pixels, width, height, stride}, r.persons);
#pragma once

#include "sparsepose/draw.h"
#include "sparsepose/error.h"
#include "sparsepose/image.h"
#include "sparsepose/person.h"
#include "sparsepose/pose_estimator.h"
#include "sparsepose/version.h"
