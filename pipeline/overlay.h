// The overlay moved to imaging/overlay.h, below the public API that draws with it too. This header
// keeps its names in sp::pipeline so pipeline code (and branches written against the old place) builds
// unchanged; new code includes imaging/overlay.h.
#pragma once

#include "imaging/overlay.h"

namespace sp::pipeline {

using imaging::default_line_width;
using imaging::draw_detections;
using imaging::id_color;
using imaging::OverlayOptions;

}  // namespace sp::pipeline
