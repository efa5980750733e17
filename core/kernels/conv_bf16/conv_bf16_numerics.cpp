// The bf16 numerics in portable code: VCVTNEPS2BF16's rounding and the dot-product instruction model of
// conv_bf16_internal.h (the SDM rules are quoted there). Every bf16 kernel is bit-exact against this.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "core/kernels/conv_bf16/conv_bf16_internal.h"

namespace sp::kernels {
namespace {

uint32_t bits_of(float x) {
  uint32_t u;
  std::memcpy(&u, &x, sizeof u);
  return u;
}

float float_of(uint32_t u) {
  float x;
  std::memcpy(&x, &u, sizeof x);
  return x;
}

bool is_nan_bits(uint32_t u) { return (u & 0x7FFFFFFFu) > 0x7F800000u; }

}  // namespace

// SDM convert_fp32_to_bfloat16: zero/denormal -> zero of its sign; infinity -> x[31:16]; NaN -> x[31:16]
// with bit 6 (the bf16 quiet bit) set; normal -> (x + 0x7FFF + x[16]) >> 16 as an integer add, which is
// round-to-nearest-even and carries into the exponent (up to infinity) when it must.
uint16_t bf16_round(float x) {
  const uint32_t u = bits_of(x);
  const uint32_t exponent = u & 0x7F800000u;
  if (exponent == 0) return static_cast<uint16_t>((u >> 16) & 0x8000u);
  if (exponent == 0x7F800000u) return static_cast<uint16_t>((u >> 16) | ((u & 0x007FFFFFu) ? 0x40u : 0u));
  return static_cast<uint16_t>((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
}

float bf16_to_float(uint16_t b) { return float_of(static_cast<uint32_t>(b) << 16); }

namespace conv_bf16_internal {

const Bf16DotModel kVdpbf16psModel = {};

const Bf16DotModel kTdpbf16psSdmModel = [] {
  Bf16DotModel m;
  m.sum = Bf16DotModel::Sum::kSplitEvenOdd;
  m.high_first = false;  // tmpf32 := temp1.fp32[2*n] + temp1.fp32[2*n+1]
  m.pairs_per_step = 16;
  m.step_ends_at_tap = true;
  return m;
}();

namespace {

constexpr uint32_t kDefaultNaN = 0xFFC00000u;  // x86's "QNaN floating-point indefinite"

float zero_if_denormal(float x) {
  const uint32_t u = bits_of(x);
  return (u & 0x7F800000u) == 0 ? float_of(u & 0x80000000u) : x;
}

}  // namespace

float model_fma(const Bf16DotModel& m, float a, float b, float c) {
  for (float x : {a, b, c}) {
    const uint32_t u = bits_of(x);
    if (is_nan_bits(u)) return float_of(u | 0x00400000u);
  }
  if (m.daz) {
    a = zero_if_denormal(a);
    b = zero_if_denormal(b);
    c = zero_if_denormal(c);
  }
  // Invalid operations are decided here rather than by std::fma, whose NaN's sign is the library's.
  const bool a_inf = std::isinf(a), b_inf = std::isinf(b);
  if ((a_inf && b == 0.0f) || (b_inf && a == 0.0f)) return float_of(kDefaultNaN);
  if ((a_inf || b_inf) && std::isinf(c) && (std::signbit(a) != std::signbit(b)) != std::signbit(c))
    return float_of(kDefaultNaN);
  const float r = std::fma(a, b, c);  // one RNE rounding; gradual underflow
  if (!m.ftz || r == 0.0f || std::fabs(r) > 0x1p-126f) return r;
  // |r| <= 2^-126: flush unless the exact value rounded to 24 bits with an unbounded exponent is not tiny
  // (it then is exactly +-2^-126 = r). Recompute with c and the smaller factor scaled by 2^64. A tiny nonzero
  // result needs |c| < 2^-77 and |a * b| < 2^-76: v is a multiple of the smaller of c's ulp and the
  // product's last bit, and where they cancel the product's last bit lies at most 47 bits below c's
  // exponent. So the scaled operands are exact and finite, and the scaled FMA rounds v * 2^64 at 24 bits
  // in the normal range whenever v is near 2^-126.
  float sa = a, sb = b;
  if (std::fabs(sa) <= std::fabs(sb)) {
    sa *= 0x1p64f;
  } else {
    sb *= 0x1p64f;
  }
  const float scaled = std::fma(sa, sb, c * 0x1p64f);
  if (std::fabs(scaled) < 0x1p-62f) return std::copysign(0.0f, r);
  return r;
}

void dot_begin(Bf16DotState& s, float acc) {
  s.acc = acc;
  s.even = s.odd = 0.0f;
  s.in_step = 0;
}

void dot_end_step(const Bf16DotModel& m, Bf16DotState& s) {
  if (m.sum != Bf16DotModel::Sum::kSplitEvenOdd || s.in_step == 0) return;
  const float joined = m.high_first ? model_fma(m, s.odd, 1.0f, s.even) : model_fma(m, s.even, 1.0f, s.odd);
  s.acc = model_fma(m, s.acc, 1.0f, joined);  // dest := dest + tmpf32
  s.even = s.odd = 0.0f;
  s.in_step = 0;
}

void dot_pair(const Bf16DotModel& m, Bf16DotState& s, uint32_t w, uint32_t x) {
  const float w_lo = bf16_to_float(static_cast<uint16_t>(w)), w_hi = bf16_to_float(static_cast<uint16_t>(w >> 16));
  const float x_lo = bf16_to_float(static_cast<uint16_t>(x)), x_hi = bf16_to_float(static_cast<uint16_t>(x >> 16));
  if (m.sum == Bf16DotModel::Sum::kChained) {
    if (m.high_first) {
      s.acc = model_fma(m, w_hi, x_hi, s.acc);
      s.acc = model_fma(m, w_lo, x_lo, s.acc);
    } else {
      s.acc = model_fma(m, w_lo, x_lo, s.acc);
      s.acc = model_fma(m, w_hi, x_hi, s.acc);
    }
    return;
  }
  s.even = model_fma(m, w_lo, x_lo, s.even);
  s.odd = model_fma(m, w_hi, x_hi, s.odd);
  if (++s.in_step >= m.pairs_per_step) dot_end_step(m, s);
}

float dot_end(const Bf16DotModel& m, Bf16DotState& s) {
  dot_end_step(m, s);
  return s.acc;
}

// Both converters sit beside bf16_round so the per-value call inlines.
void convert_rows_scalar(const Bf16InputPlan& p, const float* input, int64_t in_pixel_stride, int row_begin,
                         int row_end) {
  for (int ih = row_begin; ih < row_end; ++ih)
    for (int iw = 0; iw < p.cols; ++iw) {
      const float* src = input + (static_cast<int64_t>(ih) * p.in_w + iw) * in_pixel_stride;
      uint32_t* dst =
          p.buffer + (static_cast<int64_t>(ih + p.pad_top) * p.padded_w + iw + p.pad_left) * p.pixel_pairs;
      for (int g = 0; g < p.groups; ++g)
        for (int k = 0; k < p.pairs_per_group; ++k) {
          const int c = 2 * k;
          const uint16_t lo = bf16_round(src[g * p.ic_g + c]);
          const uint16_t hi = c + 1 < p.ic_g ? bf16_round(src[g * p.ic_g + c + 1]) : 0;
          dst[g * p.pairs_per_group + k] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
        }
    }
}

namespace {

// bf16_round(x) << 16 without branches, so the emulation's conversion loop vectorizes (baseline SSE2).
uint32_t rounded_bits(uint32_t u) {
  const uint32_t exponent = u & 0x7F800000u;
  const uint32_t normal = (u + 0x7FFFu + ((u >> 16) & 1u)) & 0xFFFF0000u;
  const uint32_t special = (u & 0xFFFF0000u) | ((u & 0x007FFFFFu) != 0 ? 0x00400000u : 0u);
  const uint32_t zero = u & 0x80000000u;
  return exponent == 0 ? zero : exponent == 0x7F800000u ? special : normal;
}

}  // namespace

void convert_rows_emulated(const Bf16InputPlan& p, float* buffer, const float* input, int64_t in_pixel_stride,
                           int row_begin, int row_end) {
  const int64_t pixel_floats = 2 * p.pixel_pairs;
  for (int ih = row_begin; ih < row_end; ++ih)
    for (int iw = 0; iw < p.cols; ++iw) {
      const float* src = input + (static_cast<int64_t>(ih) * p.in_w + iw) * in_pixel_stride;
      float* dst = buffer + (static_cast<int64_t>(ih + p.pad_top) * p.padded_w + iw + p.pad_left) * pixel_floats;
      for (int g = 0; g < p.groups; ++g) {
        const uint32_t* s = reinterpret_cast<const uint32_t*>(src + g * p.ic_g);
        uint32_t* d = reinterpret_cast<uint32_t*>(dst + 2 * g * p.pairs_per_group);
        const int n = p.ic_g;
        int c = 0;
        for (; c + 1 < n; c += 2) {
          d[c] = rounded_bits(s[c + 1]);
          d[c + 1] = rounded_bits(s[c]);
        }
        if (c < n) d[c + 1] = rounded_bits(s[c]);  // d[c] is the zero channel
      }
    }
}

}  // namespace conv_bf16_internal
}  // namespace sp::kernels
