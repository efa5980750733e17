// Activations a kernel can apply in its epilogue, so the activation costs no extra pass over memory.
#pragma once

#include <cstdint>

namespace sp::kernels {

enum class Activation : uint8_t { kNone, kRelu, kSigmoid, kSilu };

const char* activation_name(Activation a);

}  // namespace sp::kernels
