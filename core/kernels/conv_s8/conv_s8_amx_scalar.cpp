// The AMX-INT8 convolution's helpers for CPUs without AVX-512 (baseline code): the A-row gather with
// plain copies, and an epilogue with the scalar reference's operations. Only the emulated kernel can run
// there (AMX CPUs all have AVX-512); these keep its tests running on any machine.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"

namespace sp::kernels::conv_s8_internal {
namespace {

void copy_bytes(uint8_t* dst, const uint8_t* src, int n) { std::memcpy(dst, src, static_cast<size_t>(n)); }
void fill_bytes(uint8_t* dst, uint8_t value, int n) { std::memset(dst, value, static_cast<size_t>(n)); }

}  // namespace

#define SP_AMX_GATHER_NAME conv_s8_amx_gather_scalar
#include "core/kernels/conv_s8/conv_s8_amx_gather.inc"
#undef SP_AMX_GATHER_NAME

// Operation for operation what conv_s8_scalar.cpp does with an accumulator (float(acc) rounds to
// nearest even, then one multiply, SiLU, clamp, round half to even, + zy).
void conv_s8_amx_store_acc_scalar(const S8Plan& plan, const int32_t* acc, int acc_ld, int m, int /*nv*/, void* out,
                                  int64_t ops, int64_t pixel0, int oc0, int count) {
  const int zy = plan.zy;
  for (int j = 0; j < m; ++j) {
    const int64_t base = (pixel0 + j) * ops + oc0;
    for (int c = 0; c < count; ++c) {
      const int o = oc0 + c;
      float f = static_cast<float>(acc[static_cast<int64_t>(j) * acc_ld + c]);
      if (plan.out_f32) {
        f = f * plan.dequant[o];
        if (plan.silu) f = silu_exact(f);
        static_cast<float*>(out)[base + c] = f;
        continue;
      }
      if (plan.silu) {
        f = silu_exact(f * plan.dequant[o]);
        f = f * plan.inv_out_scale;
      } else {
        f = f * plan.requant[o];
      }
      f = std::fmin(std::fmax(f, static_cast<float>(-zy)), static_cast<float>(255 - zy));
      static_cast<uint8_t*>(out)[base + c] = static_cast<uint8_t>(static_cast<int>(std::nearbyint(f)) + zy);
    }
  }
}

}  // namespace sp::kernels::conv_s8_internal
