// BF16 convolution: the instruction model against the SDM's rules and against this CPU's vdpbf16ps /
// vcvtne2ps2bf16, the scalar reference against the textbook convolution, and every path (vdpbf16ps
// kernel, float-FMA emulation) bit-exact against the reference on random shapes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/activation.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_bf16/conv_bf16_internal.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_test_problems.h"

namespace sp::kernels {
namespace {

using conv_bf16_internal::Bf16DotModel;
using conv_bf16_internal::Bf16DotState;
using conv_bf16_internal::kAvx512Bf16Kernels;
using conv_bf16_internal::kTdpbf16psSdmModel;
using conv_bf16_internal::kVdpbf16psModel;
using namespace conv_test;  // Slice, ConvProblem, ConvData, run_conv, ... (conv_test_problems.h)

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}
float from_bits(uint32_t u) {
  float x;
  std::memcpy(&x, &u, 4);
  return x;
}
uint16_t bf(float x) { return static_cast<uint16_t>(bits(x) >> 16); }  // x must be a bf16 value
uint32_t pair(uint16_t lo, uint16_t hi) { return lo | (static_cast<uint32_t>(hi) << 16); }

bool cpu_has_bf16() {
  const CpuFeatures& f = detect_cpu();
  return isa_supported(Isa::kAvx512) && f.avx512_bf16;
}

#define SP_REQUIRE_AVX512_BF16()                                                                    \
  do {                                                                                              \
    if (!cpu_has_bf16()) GTEST_SKIP() << "this CPU lacks AVX512_BF16: the vdpbf16ps checks do not run here"; \
  } while (0)

// ---- Rounding ------------------------------------------------------------------------------------------

TEST(ConvBf16, RoundFollowsTheSdm) {
  EXPECT_EQ(bf16_round(1.0f), 0x3F80);
  EXPECT_EQ(bf16_round(from_bits(0x3F808000u)), 0x3F80);  // tie, even stays
  EXPECT_EQ(bf16_round(from_bits(0x3F818000u)), 0x3F82);  // tie, odd rounds up
  EXPECT_EQ(bf16_round(from_bits(0x3F808001u)), 0x3F81);
  EXPECT_EQ(bf16_round(from_bits(0x00000001u)), 0x0000);  // denormal: zero of its sign
  EXPECT_EQ(bf16_round(from_bits(0x807FFFFFu)), 0x8000);
  EXPECT_EQ(bf16_round(-0.0f), 0x8000);
  EXPECT_EQ(bf16_round(from_bits(0x7F7FFFFFu)), 0x7F80);  // FLT_MAX rounds to infinity
  EXPECT_EQ(bf16_round(std::numeric_limits<float>::infinity()), 0x7F80);
  EXPECT_EQ(bf16_round(from_bits(0x7F800001u)), 0x7FC0);  // NaN with a low payload: quiet, not infinity
  EXPECT_EQ(bf16_round(from_bits(0xFFA12345u)), 0xFFE1);
  EXPECT_EQ(bf16_to_float(0x3F80), 1.0f);
}

std::vector<float> special_floats() {
  return {0.0f, -0.0f, 1.0f, -1.0f, from_bits(0x00000001u), from_bits(0x807FFFFFu), from_bits(0x00800000u),
          from_bits(0x7F7FFFFFu), from_bits(0xFF7F8000u), std::numeric_limits<float>::infinity(),
          -std::numeric_limits<float>::infinity(), from_bits(0x7F800001u), from_bits(0x7FC00000u),
          from_bits(0xFFBFFFFFu), from_bits(0x3F808000u), from_bits(0x3F818000u), from_bits(0x3F80FFFFu)};
}

TEST(ConvBf16, RoundMatchesVcvtne2ps2bf16) {
  SP_REQUIRE_AVX512_BF16();
  std::mt19937 rng(7);
  std::vector<float> x = special_floats();
  for (int i = 0; i < 100000; ++i) x.push_back(from_bits(static_cast<uint32_t>(rng())));
  std::vector<uint16_t> hw(x.size());
  kAvx512Bf16Kernels.round_lanes(x.data(), hw.data(), static_cast<int>(x.size()));
  int bad = 0;
  for (size_t i = 0; i < x.size(); ++i)
    if (hw[i] != bf16_round(x[i]) && ++bad <= 5)
      ADD_FAILURE() << std::hex << "x " << bits(x[i]) << ": vcvtne2ps2bf16 " << hw[i] << ", model "
                    << bf16_round(x[i]);
}

// ---- The dot-step model -----------------------------------------------------------------------------

float step(const Bf16DotModel& m, float acc, uint32_t w, uint32_t x) {
  Bf16DotState s;
  conv_bf16_internal::dot_begin(s, acc);
  conv_bf16_internal::dot_pair(m, s, w, x);
  return conv_bf16_internal::dot_end(m, s);
}

// The rules of the SDM's VDPBF16PS pseudocode, each on a case that tells it from the alternatives.
TEST(ConvBf16, VdpModelFollowsTheSdm) {
  const Bf16DotModel& m = kVdpbf16psModel;
  const uint16_t one = bf(1.0f), m_one = bf(-1.0f), tiny = bf(0x1p-30f), half_ulp = bf(0x1p-24f);
  // The high (odd) product first: 1 + (-1) = 0, then + 2^-30 = 2^-30 (low first would lose 2^-30 in 1).
  EXPECT_EQ(step(m, 1.0f, pair(tiny, m_one), pair(one, one)), 0x1p-30f);
  EXPECT_EQ(step(m, 1.0f, pair(m_one, tiny), pair(one, one)), 0.0f);
  // Two roundings, not one: 1 + 2^-24 + 2^-24 stays 1 (a single rounding would give 1 + 2^-23).
  EXPECT_EQ(step(m, 1.0f, pair(half_ulp, half_ulp), pair(one, one)), 1.0f);
  // Fused: a bf16 x bf16 product is exact in fp32 unless it leaves the normal range; a tiny one still
  // counts (2^-126 + 2^-70 * 2^-70 = 2^-126 + 2^-140, not 2^-126 with the product flushed first).
  EXPECT_EQ(step(m, 0x1p-126f, pair(0, bf(0x1p-70f)), pair(0, bf(0x1p-70f))), 0x1p-126f + 0x1p-140f);
  // DAZ on the accumulator and the bf16 operands; FTZ on results; RNE zero sign.
  EXPECT_EQ(bits(step(m, from_bits(0x00000100u), 0, 0)), 0u);
  EXPECT_EQ(bits(step(m, 0.0f, pair(0x0040, 0), pair(one, 0))), 0u);
  EXPECT_EQ(bits(step(m, 0.0f, pair(bf(-0x1p-70f), 0), pair(bf(0x1p-70f), 0))), 0x80000000u);
  EXPECT_EQ(bits(step(m, -0.0f, 0, 0)), 0u);
  // Tininess after rounding: 2^-126 - 2^-151 rounds (24 bits, unbounded exponent) to 2^-126, kept;
  // 2^-126 - 2^-150 + 2^-158 rounds below it and is flushed although a denormal result would round up.
  EXPECT_EQ(step(m, 0x1p-126f, pair(bf(-0x1p-76f), 0), pair(bf(0x1p-75f), 0)), 0x1p-126f);
  EXPECT_EQ(bits(step(m, 0x1p-126f, pair(bf(-(0x1p-75f - 0x1p-83f)), 0), pair(bf(0x1p-75f), 0))), 0u);
  // NaN priority (SDM Table 5-1): src1 low, src2 low, src1 high, src2 high, srcdest; quieted.
  const uint16_t nan1 = 0x7F81, nan2 = 0x7F82, nan3 = 0xFF83, nan4 = 0x7F84;
  EXPECT_EQ(bits(step(m, from_bits(0x7F800005u), pair(nan1, nan3), pair(nan2, nan4))), 0x7FC10000u);
  EXPECT_EQ(bits(step(m, from_bits(0x7F800005u), pair(one, nan3), pair(nan2, nan4))), 0x7FC20000u);
  EXPECT_EQ(bits(step(m, from_bits(0x7F800005u), pair(one, nan3), pair(one, nan4))), 0xFFC30000u);
  EXPECT_EQ(bits(step(m, from_bits(0x7F800005u), pair(one, one), pair(one, one))), 0x7FC00005u);
  // Invalid: inf * 0 and inf - inf give the default NaN.
  const uint16_t inf = 0x7F80;
  EXPECT_EQ(bits(step(m, 0.0f, pair(0, inf), pair(0, 0))), 0xFFC00000u);
  EXPECT_EQ(bits(step(m, -std::numeric_limits<float>::infinity(), pair(0, inf), pair(0, one))), 0xFFC00000u);
}

// Random operands stressing every rule, against this CPU's vdpbf16ps, bit for bit (NaN payloads too).
TEST(ConvBf16, ModelMatchesVdpbf16ps) {
  SP_REQUIRE_AVX512_BF16();
  std::mt19937 rng(11);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint32_t>(n)); };
  // A bf16 operand: mostly ordinary, often one of the awkward kinds.
  auto operand = [&]() -> uint16_t {
    const uint16_t sign = static_cast<uint16_t>(pick(2) << 15);
    switch (pick(10)) {
      case 0: return sign;                                                    // +-0
      case 1: return static_cast<uint16_t>(sign | (1 + pick(127)));           // denormal
      case 2: return static_cast<uint16_t>(sign | 0x7F80);                    // infinity
      case 3: return static_cast<uint16_t>(sign | 0x7F80 | (1 + pick(127)));  // NaN (quiet or signalling)
      case 4: return static_cast<uint16_t>(sign | ((1 + pick(30)) << 7) | pick(128));    // tiny normal
      case 5: return static_cast<uint16_t>(sign | ((225 + pick(29)) << 7) | pick(128));  // huge normal
      default: return static_cast<uint16_t>(sign | ((110 + pick(36)) << 7) | pick(128)); // around 1
    }
  };
  auto accumulator = [&]() -> float {
    switch (pick(6)) {
      case 0: return from_bits(static_cast<uint32_t>(pick(2)) << 31 | static_cast<uint32_t>(1 + pick(0x7FFFFF)));
      case 1: return from_bits(static_cast<uint32_t>(rng()));  // anything, NaN and infinity included
      case 2: return 0.0f;
      default: return std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), pick(40) - 20);
    }
  };
  // First the hand-made cases of VdpModelFollowsTheSdm (order, roundings, fusion, DAZ/FTZ, tininess).
  const uint16_t one = bf(1.0f);
  const std::vector<std::tuple<float, uint32_t, uint32_t>> crafted = {
      {1.0f, pair(bf(0x1p-30f), bf(-1.0f)), pair(one, one)},
      {1.0f, pair(bf(-1.0f), bf(0x1p-30f)), pair(one, one)},
      {1.0f, pair(bf(0x1p-24f), bf(0x1p-24f)), pair(one, one)},
      {0x1p-126f, pair(0, bf(0x1p-70f)), pair(0, bf(0x1p-70f))},
      {from_bits(0x00000100u), 0, 0},
      {0.0f, pair(0x0040, 0), pair(one, 0)},
      {0.0f, pair(bf(-0x1p-70f), 0), pair(bf(0x1p-70f), 0)},
      {-0.0f, 0, 0},
      {0x1p-126f, pair(bf(-0x1p-76f), 0), pair(bf(0x1p-75f), 0)},
      {0x1p-126f, pair(bf(-(0x1p-75f - 0x1p-83f)), 0), pair(bf(0x1p-75f), 0)},
      {from_bits(0x7F800005u), pair(0x7F81, 0xFF83), pair(0x7F82, 0x7F84)},
      {0.0f, pair(0, 0x7F80), pair(0, 0)},
      {from_bits(0x7FC00001u), pair(0, 0x7F80), pair(0, 0)},
  };
  const int n = 200000 + static_cast<int>(crafted.size());
  std::vector<float> acc(n), hw(n);
  std::vector<uint32_t> w(n), x(n);
  for (size_t i = 0; i < crafted.size(); ++i) std::tie(acc[i], w[i], x[i]) = crafted[i];
  for (int i = static_cast<int>(crafted.size()); i < n; ++i) {
    acc[i] = accumulator();
    w[i] = pair(operand(), operand());
    x[i] = pair(operand(), operand());
    if (i % 4 == 0) {  // cancellation: the low product undoes the high one, or the accumulator
      x[i] = pair(bf(1.0f), bf(1.0f));
      w[i] = pick(2) ? pair(static_cast<uint16_t>(w[i] >> 16 ^ 0x8000), static_cast<uint16_t>(w[i] >> 16))
                     : pair(static_cast<uint16_t>(w[i]), bf16_round(-acc[i]));
    }
  }
  kAvx512Bf16Kernels.dot_lanes(acc.data(), w.data(), x.data(), hw.data(), n);
  int bad = 0;
  for (int i = 0; i < n; ++i) {
    const float model = step(kVdpbf16psModel, acc[i], w[i], x[i]);
    if (bits(model) != bits(hw[i]) && ++bad <= 8)
      ADD_FAILURE() << std::hex << "acc " << bits(acc[i]) << " w " << w[i] << " x " << x[i] << ": vdpbf16ps "
                    << bits(hw[i]) << ", model " << bits(model);
  }
  EXPECT_EQ(bad, 0) << "of " << n;
}

// The tdpbf16ps model is the SDM pseudocode: for each instruction (16 pairs, per tap), even and odd
// chains from +0, joined even + odd, added to the accumulator. Written out here with plain float FMAs
// (ordinary operands: DAZ/FTZ do not arise) for a 1x1 convolution with 40 channel pairs.
TEST(ConvBf16, TdpModelFollowsTheSdmPseudocode) {
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int trial = 0; trial < 200; ++trial) {
    const int pairs = 1 + static_cast<int>(rng() % 40);
    std::vector<uint32_t> w(pairs), x(pairs);
    for (int k = 0; k < pairs; ++k) {
      w[k] = pair(bf16_round(u(rng)), bf16_round(u(rng)));
      x[k] = pair(bf16_round(u(rng)), bf16_round(u(rng)));
    }
    const float bias = u(rng);
    float want = bias;
    for (int k0 = 0; k0 < pairs; k0 += 16) {
      float even = 0.0f, odd = 0.0f;
      for (int k = k0; k < pairs && k < k0 + 16; ++k) {
        even = std::fma(bf16_to_float(static_cast<uint16_t>(w[k])), bf16_to_float(static_cast<uint16_t>(x[k])), even);
        odd = std::fma(bf16_to_float(static_cast<uint16_t>(w[k] >> 16)), bf16_to_float(static_cast<uint16_t>(x[k] >> 16)), odd);
      }
      const float tmp = even + odd;
      want = want + tmp;
    }
    Bf16DotState s;
    conv_bf16_internal::dot_begin(s, bias);
    for (int k = 0; k < pairs; ++k) conv_bf16_internal::dot_pair(kTdpbf16psSdmModel, s, w[k], x[k]);
    EXPECT_EQ(bits(conv_bf16_internal::dot_end(kTdpbf16psSdmModel, s)), bits(want)) << pairs << " pairs";
  }
}

// ---- Convolutions on random shapes -------------------------------------------------------------------

struct Case : ConvProblem {
  std::string label() const {
    const Conv2dDesc& d = desc;
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "in %dx%dx%d out_c %d k%dx%d s%dx%d d%dx%d pad %d,%d,%d,%d g%d act %s bias %d res %d strides +%d/+%d",
                  d.in_c, d.in_h, d.in_w, d.out_c, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                  d.dilation_w, d.pad_top, d.pad_left, d.pad_bottom, d.pad_right, d.groups,
                  activation_name(d.activation), has_bias ? 1 : 0, residual, in_extra + in_offset,
                  out_extra + out_offset);
    return buf;
  }
};

// The textbook definition in double on bf16-rounded operands, indexing the OIHW weights directly.
Slice run_textbook(const Case& c, const ConvData& data) {
  const Conv2dDesc& d = c.desc;
  const int oh_n = d.out_h(), ow_n = d.out_w(), icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
  Slice out = make_slice(static_cast<int64_t>(oh_n) * ow_n, d.out_c, c.out_extra, c.out_offset, kCanary);
  auto r = [](float v) { return static_cast<double>(bf16_to_float(bf16_round(v))); };
  for (int oc = 0; oc < d.out_c; ++oc) {
    const int g = oc / ocg;
    for (int oh = 0; oh < oh_n; ++oh)
      for (int ow = 0; ow < ow_n; ++ow) {
        double sum = c.has_bias ? data.bias[oc] : 0.0;
        for (int i = 0; i < icg; ++i)
          for (int ky = 0; ky < d.kernel_h; ++ky)
            for (int kx = 0; kx < d.kernel_w; ++kx) {
              const int iy = oh * d.stride_h - d.pad_top + ky * d.dilation_h;
              const int ix = ow * d.stride_w - d.pad_left + kx * d.dilation_w;
              if (iy < 0 || iy >= d.in_h || ix < 0 || ix >= d.in_w) continue;
              sum += r(data.input.data()[(static_cast<int64_t>(iy) * d.in_w + ix) * data.input.pixel_stride + g * icg + i]) *
                     r(data.weights[((static_cast<int64_t>(oc) * icg + i) * d.kernel_h + ky) * d.kernel_w + kx]);
            }
        const int64_t p = static_cast<int64_t>(oh) * ow_n + ow;
        float v = act_ref(d.activation, sum);
        if (c.residual) v += data.residual.data()[p * data.residual.pixel_stride + oc];
        out.data()[p * out.pixel_stride + oc] = v;
      }
  }
  return out;
}

// Compares the output slices: bit for bit when tol == 0, else |got - want| <= tol * (1 + |want|).
int compare(const Slice& got, const Slice& want, const Case& c, const std::string& what, float tol) {
  const Conv2dDesc& d = c.desc;
  const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  int bad = 0;
  for (int64_t p = 0; p < pixels; ++p)
    for (int ch = 0; ch < d.out_c; ++ch) {
      const float g = got.data()[p * got.pixel_stride + ch], w = want.data()[p * want.pixel_stride + ch];
      const bool ok = tol == 0.0f ? bits(g) == bits(w) : std::fabs(g - w) <= tol * (1.0f + std::fabs(w));
      if (!ok && ++bad <= 3)
        ADD_FAILURE() << what << ": pixel " << p << " channel " << ch << " got " << g << " want " << w << std::hex
                      << " (" << bits(g) << " vs " << bits(w) << std::dec << "; " << c.label() << ")";
    }
  return bad;
}

Case random_case(std::mt19937& rng) {
  static constexpr RandomShapeLimits kLimits = {
      .max_dense_kind = 6, .max_depthwise_kind = 7, .small_in_c = 5, .max_in_c = 70, .max_out_c = 80,
      .max_depthwise_channels = 24, .max_groups = 5, .max_group_out_c = 20, .max_size = 15};
  Case c;
  c.desc = random_desc(rng, kLimits);
  random_layout(rng, c);
  return c;
}

// The reference (both instruction models) against the textbook convolution: indexing, padding, groups,
// pixel strides, residuals. The sums run in another order, hence a tolerance.
TEST(ConvBf16, ReferenceMatchesTheTextbook) {
  std::mt19937 rng(3);
  for (int i = 0; i < 60; ++i) {
    const Case c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.label());
    const ConvData data = random_data(c, rng);
    const float* bias = c.has_bias ? data.bias.data() : nullptr;
    const Slice want = run_textbook(c, data);
    for (const Bf16DotModel* m : {&kVdpbf16psModel, &kTdpbf16psSdmModel}) {
      auto ref = conv_bf16_internal::create_conv2d_bf16_reference(c.desc, data.weights.data(), bias, *m);
      ASSERT_EQ(compare(run_conv(*ref, c, data, nullptr), want, c, "reference vs textbook", 1e-4f), 0);
    }
  }
}

// ---- Every path against the reference ------------------------------------------------------------------

struct Path {
  std::string name;
  std::unique_ptr<Conv2dF32> (*make)(const Conv2dDesc&, const float*, const float*);
  bool exact_for_specials;  // bit-exact on NaN / infinity / denormal operands too
};

std::unique_ptr<Conv2dF32> make_native(const Conv2dDesc& d, const float* w, const float* b) {
  return conv_bf16_internal::create_conv2d_bf16_native(d, w, b, kAvx512Bf16Kernels);
}
std::unique_ptr<Conv2dF32> make_emulated_avx512(const Conv2dDesc& d, const float* w, const float* b) {
  return conv_bf16_internal::create_conv2d_bf16_emulated(d, w, b, Isa::kAvx512);
}
std::unique_ptr<Conv2dF32> make_emulated_avx2(const Conv2dDesc& d, const float* w, const float* b) {
  return conv_bf16_internal::create_conv2d_bf16_emulated(d, w, b, Isa::kAvx2);
}

// The paths this CPU runs; the first call prints a visible skip line for each one it cannot.
const std::vector<Path>& paths() {
  static const std::vector<Path> all = [] {
    std::vector<Path> out;
    auto add = [&](bool ok, Path p, const char* lacks) {
      if (ok) {
        out.push_back(p);
      } else {
        std::printf("[  SKIPPED ] conv_bf16: this CPU lacks %s; the %s path is not tested here\n", lacks, p.name.c_str());
      }
    };
    add(cpu_has_bf16(), {"vdpbf16ps", &make_native, true}, "AVX512_BF16");
    add(isa_supported(Isa::kAvx512), {"emulated-avx512", &make_emulated_avx512, false}, "AVX-512");
    add(isa_supported(Isa::kAvx2), {"emulated-avx2", &make_emulated_avx2, false}, "AVX2");
    return out;
  }();
  return all;
}

// Bit-exact where the epilogue is exact arithmetic (none, ReLU, residual add); the vector sigmoid of the
// float epilogue is within 2e-6 of libm's, so those cases are compared with that tolerance and once more,
// bit for bit, without the activation.
void check_case(const Case& c, std::mt19937& rng, ThreadPool* pool) {
  const ConvData data = random_data(c, rng);
  const float* bias = c.has_bias ? data.bias.data() : nullptr;
  const bool approx = c.desc.activation == Activation::kSigmoid || c.desc.activation == Activation::kSilu;
  Case linear = c;
  linear.desc.activation = Activation::kNone;
  auto ref = conv_bf16_internal::create_conv2d_bf16_reference(c.desc, data.weights.data(), bias, kVdpbf16psModel);
  const Slice want = run_conv(*ref, c, data, nullptr);
  Slice want_linear;
  if (approx) {
    auto ref_linear =
        conv_bf16_internal::create_conv2d_bf16_reference(linear.desc, data.weights.data(), bias, kVdpbf16psModel);
    want_linear = run_conv(*ref_linear, linear, data, nullptr);
  }
  for (const Path& path : paths()) {
    auto conv = path.make(c.desc, data.weights.data(), bias);
    const std::string name(conv->name());
    ASSERT_EQ(compare(run_conv(*conv, c, data, nullptr), want, c, name, approx ? 2e-6f : 0.0f), 0);
    if (pool) {
      ASSERT_EQ(compare(run_conv(*conv, c, data, pool), want, c, name + " (threads)", approx ? 2e-6f : 0.0f), 0);
    }
    if (approx) {
      auto conv_linear = path.make(linear.desc, data.weights.data(), bias);
      ASSERT_EQ(compare(run_conv(*conv_linear, linear, data, nullptr), want_linear, linear, name, 0.0f), 0);
    }
  }
}

TEST(ConvBf16, PathsMatchTheReferenceOnRandomShapes) {
  std::mt19937 rng(42);
  ThreadPool pool(3);
  for (int i = 0; i < 100; ++i) {
    const Case c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.label());
    check_case(c, rng, i % 4 == 0 ? &pool : nullptr);
    if (HasFatalFailure()) return;
  }
}

// Layer shapes of YOLO11n/s-pose (spatially shrunk): 1x1 and 3x3, stride 1 and 2, their channel counts,
// odd counts, channel slices (pixel strides above the channel count), residuals, every activation.
TEST(ConvBf16, PathsMatchTheReferenceOnModelShapes) {
  std::vector<Case> cases;
  auto add = [&](int ic, int hw, int oc, int k, int s, Activation act, int residual, int in_extra, int out_extra) {
    Case c;
    Conv2dDesc& d = c.desc;
    d.in_c = ic;
    d.in_h = hw;
    d.in_w = hw + 3;
    d.out_c = oc;
    d.kernel_h = d.kernel_w = k;
    d.stride_h = d.stride_w = s;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = k / 2;
    d.activation = act;
    c.residual = residual;
    c.in_extra = in_extra;
    c.out_extra = out_extra;
    cases.push_back(c);
  };
  add(16, 20, 32, 3, 2, Activation::kSilu, 0, 0, 0);    // n /model.1
  add(32, 12, 32, 1, 1, Activation::kSilu, 0, 0, 48);   // n C3k2 cv1, written into a concat slice
  add(16, 12, 16, 3, 1, Activation::kSilu, 2, 16, 0);   // n bottleneck reading a split slice, shortcut in place
  add(64, 10, 128, 3, 2, Activation::kSilu, 0, 0, 0);   // n /model.5
  add(128, 6, 128, 1, 1, Activation::kSilu, 1, 0, 0);   // 1x1 with a separate residual
  add(64, 8, 51, 3, 1, Activation::kSilu, 0, 0, 0);     // keypoint head
  add(51, 8, 51, 1, 1, Activation::kNone, 0, 0, 0);     // head output, odd channels both ways
  add(64, 8, 64, 1, 1, Activation::kNone, 0, 0, 0);     // box head output
  add(80, 6, 1, 1, 1, Activation::kSigmoid, 0, 0, 0);   // one output channel
  add(3, 16, 16, 3, 2, Activation::kSilu, 0, 0, 0);     // first layer, 3 channels
  add(256, 4, 128, 1, 1, Activation::kRelu, 0, 0, 0);   // s-size 1x1 reduce
  add(128, 5, 256, 3, 2, Activation::kSilu, 0, 0, 0);   // s-size 3x3 s2
  add(512, 3, 256, 1, 1, Activation::kSilu, 0, 0, 0);   // s-size SPPF cv2
  add(33, 7, 40, 3, 1, Activation::kRelu, 1, 5, 3);     // odd channels, 40 = 2 zmm + 1 ymm
  add(8, 9, 8, 3, 1, Activation::kSigmoid, 0, 1, 1);    // 8 output channels: the ymm-only block
  std::mt19937 rng(1234);
  ThreadPool pool(2);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label());
    check_case(c, rng, &pool);
    if (HasFatalFailure()) return;
  }
}

// NaN, infinities, denormals and signed zeros in the activations, weights and bias: the vdpbf16ps kernel
// stays bit-exact with the model (NaN payloads included). The emulation is not held to this (it does not
// flush denormal accumulators, and its NaN rules are the FMA's).
TEST(ConvBf16, VdpKernelMatchesTheReferenceOnSpecialValues) {
  SP_REQUIRE_AVX512_BF16();
  std::mt19937 rng(9);
  const std::vector<float> specials = special_floats();
  for (int trial = 0; trial < 20; ++trial) {
    Case c = random_case(rng);
    c.desc.activation = trial % 2 ? Activation::kRelu : Activation::kNone;
    ConvData data = random_data(c, rng);
    auto spice = [&](std::vector<float>& v, int one_in) {
      for (float& x : v)
        if (rng() % one_in == 0) x = specials[rng() % specials.size()];
    };
    spice(data.input.buf, 50);
    spice(data.weights, 50);
    spice(data.bias, 10);
    // Tiny values whose products and sums pass through the denormal range.
    for (float& x : data.input.buf)
      if (rng() % 20 == 0) x = std::ldexp(x, -70);
    for (float& x : data.weights)
      if (rng() % 20 == 0) x = std::ldexp(x, -60);
    const float* bias = c.has_bias ? data.bias.data() : nullptr;
    auto ref = conv_bf16_internal::create_conv2d_bf16_reference(c.desc, data.weights.data(), bias, kVdpbf16psModel);
    auto conv = make_native(c.desc, data.weights.data(), bias);
    SCOPED_TRACE(c.label());
    ASSERT_EQ(compare(run_conv(*conv, c, data, nullptr), run_conv(*ref, c, data, nullptr), c, "specials", 0.0f), 0);
  }
}

// The ISA converter writes exactly the buffer the portable one defines (layout and rounding).
TEST(ConvBf16, InputConversionMatchesTheScalarConverter) {
  SP_REQUIRE_AVX512_BF16();
  std::mt19937 rng(21);
  for (int trial = 0; trial < 40; ++trial) {
    const Case c = random_case(rng);
    ConvData data = random_data(c, rng);
    for (float& x : data.input.buf)
      if (rng() % 30 == 0) x = from_bits(static_cast<uint32_t>(rng()));
    conv_bf16_internal::Bf16InputPlan p;
    const Conv2dDesc& d = c.desc;
    p.in_w = d.in_w;
    p.groups = d.groups;
    p.ic_g = d.in_c / d.groups;
    p.pairs_per_group = (p.ic_g + 1) / 2;
    p.pad_top = d.pad_top;
    p.pad_left = d.pad_left;
    p.padded_h = d.in_h + d.pad_top + 1;
    p.padded_w = d.in_w + d.pad_left + 2;
    p.rows = d.in_h;
    p.cols = d.in_w - (trial % 3 == 0 && d.in_w > 1 ? 1 : 0);
    p.pixel_pairs = static_cast<int64_t>(p.groups) * p.pairs_per_group;
    const size_t n = static_cast<size_t>(p.padded_h) * p.padded_w * p.pixel_pairs;
    std::vector<uint32_t> want(n, 0xDEADBEEFu), got(n, 0xDEADBEEFu);
    p.buffer = want.data();
    conv_bf16_internal::convert_rows_scalar(p, data.input.data(), data.input.pixel_stride, 0, p.rows);
    p.buffer = got.data();
    kAvx512Bf16Kernels.convert(p, data.input.data(), data.input.pixel_stride, 0, p.rows);
    size_t bad = 0;
    for (size_t i = 0; i < n; ++i) bad += got[i] != want[i];
    EXPECT_EQ(bad, 0u) << c.label();
  }
}

TEST(ConvBf16, RejectsBadDescriptorsAndStrides) {
  const std::vector<float> w(1024, 0.5f);
  Conv2dDesc d;
  d.in_h = d.in_w = 4;
  d.in_c = 6;
  d.out_c = 4;
  d.groups = 4;
  EXPECT_THROW(create_conv2d_bf16(d, w.data(), nullptr, Isa::kScalar), Error);
  d.groups = 1;
  d.kernel_h = d.kernel_w = 7;
  EXPECT_THROW(create_conv2d_bf16(d, w.data(), nullptr, best_isa()), Error);
  d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  EXPECT_THROW(create_conv2d_bf16(d, nullptr, nullptr, best_isa()), Error);
  std::vector<float> in(4 * 4 * 8, 1.0f), out(4 * 4 * 8, 0.0f);
  std::vector<std::unique_ptr<Conv2dF32>> convs;
  convs.push_back(create_conv2d_bf16(d, w.data(), nullptr, Isa::kScalar));
  for (const Path& path : paths()) convs.push_back(path.make(d, w.data(), nullptr));
  for (const auto& conv : convs) {
    ConvIO io;
    io.input = in.data();
    io.in_pixel_stride = 5;  // < 6 input channels
    io.output = out.data();
    io.out_pixel_stride = 4;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
    io.in_pixel_stride = 6;
    EXPECT_NO_THROW(conv->run(io, nullptr)) << conv->name();
    EXPECT_EQ(out[5 * 4], 0.5f * 6 * 9) << conv->name();  // an interior pixel: 54 products of 0.5
  }
}

// Which path each ISA takes on this CPU, and that its name says so.
TEST(ConvBf16, PathFollowsTheIsaAndTheCpu) {
  Conv2dDesc d;
  d.in_h = d.in_w = 4;
  d.in_c = d.out_c = 8;
  const std::vector<float> w(64, 0.25f);
  for (Isa isa : supported_isas()) {
    const Bf16Path path = conv2d_bf16_path(isa);
    const std::string name(create_conv2d_bf16(d, w.data(), nullptr, isa)->name());
    if (isa == Isa::kAmx) {
      EXPECT_EQ(path, Bf16Path::kAmx);
      EXPECT_NE(name.find("-bf16-amx"), std::string::npos) << name;
    } else if (float_isa(isa) == Isa::kAvx512 && detect_cpu().avx512_bf16) {
      EXPECT_EQ(path, Bf16Path::kNative);
      EXPECT_NE(name.find("-bf16-nhwc-avx512bf16"), std::string::npos) << name;
    } else if (float_isa(isa) == Isa::kScalar) {
      EXPECT_EQ(path, Bf16Path::kReference);
      EXPECT_EQ(name, "conv-bf16-ref-scalar");
    } else {
      EXPECT_EQ(path, Bf16Path::kEmulated);
      EXPECT_EQ(name.rfind("bf16emu-", 0), 0u) << name;
    }
  }
}

}  // namespace
}  // namespace sp::kernels
