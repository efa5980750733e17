// The public Options checked before anything is loaded, each problem reported as an Error naming the
// option (Error::option()) and the value it got.
#pragma once

#include "sparsepose/pose_estimator.h"

namespace sp::api {

void check_options(const sparsepose::Options& options);

}  // namespace sp::api
