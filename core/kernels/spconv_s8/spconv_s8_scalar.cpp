// The sparse format in plain C++: every output pixel of q-space and channel sums its channel's nonzero
// units over the packed cells, then the epilogue of conv_s8_scalar.cpp, operation for operation. It is
// the kScalar path and the check that the format itself (packing, offsets, compensation) is right,
// independently of any SIMD kernel; the unit test holds it bit-exact against the dense reference.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/kernels/spconv_s8/spconv_s8_internal.h"

namespace sp::kernels::spconv_s8_internal {
namespace {

int32_t dot_cell(uint32_t cell, int32_t weight, int unit) {
  const auto wu = static_cast<uint32_t>(weight);
  int32_t s = 0;
  if (unit == 4) {
    for (int i = 0; i < 4; ++i)
      s += static_cast<int32_t>((cell >> (8 * i)) & 0xFF) * static_cast<int8_t>((wu >> (8 * i)) & 0xFF);
  } else {
    for (int i = 0; i < 2; ++i)
      s += static_cast<int32_t>(static_cast<int16_t>((cell >> (16 * i)) & 0xFFFF)) *
           static_cast<int16_t>((wu >> (16 * i)) & 0xFFFF);
  }
  return s;
}

}  // namespace

void spconv_s8_scalar_tiles(const SpPlan& p, const uint8_t* segment, int64_t q_origin, void* out, int64_t ops,
                            int tile_pixels, int64_t tile_begin, int64_t tile_end, int oc_begin, int oc_end) {
  const int64_t q_end = tile_end * tile_pixels < p.q_count ? tile_end * tile_pixels : p.q_count;
  for (int64_t q = tile_begin * tile_pixels; q < q_end; ++q) {
    const int oh = static_cast<int>(q / p.wq), ow = static_cast<int>(q % p.wq);
    if (ow >= p.out_w) continue;  // garbage column of q-space
    const int64_t pixel = static_cast<int64_t>(oh) * p.out_w + ow;
    for (int o = oc_begin; o < oc_end; ++o) {
      const int gr = o / p.oc_block, c = o % p.oc_block;
      uint32_t acc = static_cast<uint32_t>(p.bias[o]);  // modulo 2^32, like the SIMD kernels
      for (int32_t e = p.row_start[gr]; e < p.row_start[gr + 1]; ++e) {
        uint32_t cell;
        std::memcpy(&cell, segment + p.offsets[e] + (q - q_origin) * 4, 4);
        acc += static_cast<uint32_t>(dot_cell(cell, p.weights[static_cast<int64_t>(e) * p.oc_block + c], p.unit));
      }
      float f = static_cast<float>(static_cast<int32_t>(acc));
      if (p.out_f32) {
        f = f * p.dequant[o];
        if (p.silu) f = conv_s8_internal::silu_exact(f);
        static_cast<float*>(out)[pixel * ops + o] = f;
      } else {
        if (p.silu) {
          f = conv_s8_internal::silu_exact(f * p.dequant[o]);
          f = f * p.inv_out_scale;
        } else {
          f = f * p.requant[o];
        }
        f = std::fmin(std::fmax(f, static_cast<float>(-p.zy)), static_cast<float>(255 - p.zy));
        static_cast<uint8_t*>(out)[pixel * ops + o] = static_cast<uint8_t>(static_cast<int>(std::nearbyint(f)) + p.zy);
      }
    }
  }
}

}  // namespace sp::kernels::spconv_s8_internal
