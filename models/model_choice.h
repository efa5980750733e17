// Which model and which kernels a request means: the bundled models' names and the int8 policy. The
// command line and the library (include/sparsepose/) both resolve "no model given" and "engine auto"
// through these, so an installed program picks exactly what `sparsepose` picks.
#pragma once

#include "core/cpu_features.h"
#include "core/graph.h"

namespace sp::models {

// The bundled models, relative to the assets directory (assets/ in the source tree,
// share/sparsepose/assets in an install).
inline constexpr const char* kBundledFloatModel = "models/yolo11n-pose.onnx";
inline constexpr const char* kBundledInt8Model = "models/yolo11n-pose_sp-int8.onnx";  // made by `optimize`

// True where the integer kernels of `isa` run the bundled int8 model faster than the float kernels run
// the float model (measured; see model_choice.cpp): "engine auto" without a model then means the int8
// model.
bool int8_pays_on(Isa isa);

enum class EngineChoice { kAuto, kFp32, kInt8 };

// The bundled model (relative to the assets directory) that "no model given" means for an engine
// choice on an ISA: the int8 one for int8, and for auto where int8_pays_on(isa); else the float one.
const char* bundled_model(EngineChoice engine, Isa isa);

// A QDQ model: its activations pass through QuantizeLinear (weight-only DequantizeLinear does not count).
bool has_quantized_activations(const Graph& g);

}  // namespace sp::models
