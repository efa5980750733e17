#include "core/kernels/activation.h"

namespace sp::kernels {

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kSilu: return "silu";
  }
  return "?";
}

}  // namespace sp::kernels
