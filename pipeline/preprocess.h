// Letterboxing moved to imaging/preprocess.h, below the public API that preprocesses with it too. This
// header keeps its names in sp::pipeline so pipeline code (and branches written against the old place)
// builds unchanged; new code includes imaging/preprocess.h.
#pragma once

#include "imaging/preprocess.h"

namespace sp::pipeline {

using imaging::ChannelOrder;
using imaging::letterbox_into;
using imaging::Preprocessor;
using imaging::preprocess;
using imaging::TensorLayout;

}  // namespace sp::pipeline
