// BF16 convolution: the choice of path per ISA and CPU.
#include "core/kernels/conv_bf16/conv_bf16.h"

#include <memory>
#include <string>

#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/kernels/conv_f32/conv_f32_internal.h"

namespace sp::kernels {

Bf16Path conv2d_bf16_path(Isa) { return Bf16Path::kReference; }

std::unique_ptr<Conv2dF32> create_conv2d_bf16(const Conv2dDesc& desc, const float* weights, const float* bias,
                                              Isa isa) {
  conv_internal::validate_conv2d_desc(desc);
  if (!weights) throw Error("conv2d: missing weights");
  if (!isa_supported(isa)) throw Error("conv2d: this CPU does not support ISA '" + std::string(isa_name(isa)) + "'");
  return conv_bf16_internal::create_conv2d_bf16_reference(desc, weights, bias, conv_bf16_internal::kVdpbf16psModel);
}

}  // namespace sp::kernels
