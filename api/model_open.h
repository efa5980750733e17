// Options -> a compiled PoseModel: the ISA resolved, "no model" resolved to the bundled one by the same
// policy as the command line (models/model_choice.h), the engine chosen from the model's kind.
#pragma once

#include <memory>

#include "models/pose_model.h"
#include "sparsepose/pose_estimator.h"

namespace sp::api {

struct OpenedModel {
  std::unique_ptr<sp::models::PoseModel> model;
  sparsepose::ModelInfo info;
};

// Throws Error naming the option at fault ("isa", "model", "engine"). Options must be checked already.
OpenedModel open_model(const sparsepose::Options& options);

}  // namespace sp::api
