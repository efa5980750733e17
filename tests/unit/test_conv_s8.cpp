// Integer convolution: the scalar reference against a textbook int64 computation written here, and every
// other ISA path the CPU supports bit-exact against the scalar reference — plus the EVEX (AVX-512VL)
// instantiation of the AVX-VNNI source, so that source is tested on every AVX-512 VNNI machine, and the
// AMX-INT8 kernel on the tile emulator (what Isa::kAmx runs under SP_AMX=emulate), so its packing, tiling
// and epilogue are tested on every AVX-512 VNNI machine too (test_conv_s8_amx.cpp has AMX-specific shapes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"
#include "core/kernels/conv_s8/conv_s8_internal.h"
#include "core/kernels/quant_u8/quant_u8.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_s8_test_problems.h"

namespace sp::kernels {
namespace {

struct Case {
  int in_h, in_w, in_c, out_c, k, stride, pad;
  int in_extra, out_extra;  // pixel stride = channels + extra
  QuantOutput output;
  Activation act;
};

using conv_s8_test::kCanary;
using conv_s8_test::kGuard;
using conv_s8_test::run_checked;
using Problem = conv_s8_test::S8Problem;

Problem make_problem(const Case& c, uint32_t seed, bool unit_scales = false) {
  Conv2dS8Desc d;
  d.in_h = c.in_h, d.in_w = c.in_w, d.in_c = c.in_c, d.out_c = c.out_c;
  d.kernel_h = d.kernel_w = c.k;
  d.stride_h = d.stride_w = c.stride;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = c.pad;
  d.output = c.output;
  d.activation = c.act;
  return conv_s8_test::random_s8_problem(d, c.in_extra, c.out_extra, seed, {.unit_scales = unit_scales});
}

// Textbook: padded input is zx; int64 accumulation.
std::vector<int64_t> textbook_acc(const Problem& p) {
  const Conv2dS8Desc& d = p.desc;
  const int oh_n = d.out_h(), ow_n = d.out_w();
  std::vector<int64_t> acc(static_cast<size_t>(oh_n) * ow_n * d.out_c);
  for (int oh = 0; oh < oh_n; ++oh)
    for (int ow = 0; ow < ow_n; ++ow)
      for (int o = 0; o < d.out_c; ++o) {
        int64_t s = p.bias[o];
        for (int c = 0; c < d.in_c; ++c)
          for (int kh = 0; kh < d.kernel_h; ++kh)
            for (int kw = 0; kw < d.kernel_w; ++kw) {
              const int ih = oh * d.stride_h - d.pad_top + kh, iw = ow * d.stride_w - d.pad_left + kw;
              const int64_t x = (ih < 0 || ih >= d.in_h || iw < 0 || iw >= d.in_w)
                                    ? d.input_zero_point
                                    : p.in[(static_cast<size_t>(ih) * d.in_w + iw) * p.ips + c];
              s += (x - d.input_zero_point) * p.w[((static_cast<size_t>(o) * d.in_c + c) * d.kernel_h + kh) * d.kernel_w + kw];
            }
        acc[(static_cast<size_t>(oh) * ow_n + ow) * d.out_c + o] = s;
      }
  return acc;
}

float out_f32(const std::vector<uint8_t>& buf, const Problem& p, size_t px, int o) {
  float v;
  std::memcpy(&v, buf.data() + kGuard + (px * p.ops + o) * 4, 4);
  return v;
}

const std::vector<Case>& cases() {
  static const std::vector<Case> kCases = {
      {7, 9, 3, 5, 3, 1, 1, 0, 0, QuantOutput::kU8, Activation::kNone},
      {8, 8, 16, 16, 1, 1, 0, 0, 0, QuantOutput::kU8, Activation::kNone},
      {9, 7, 13, 37, 3, 2, 1, 5, 3, QuantOutput::kU8, Activation::kNone},
      {10, 11, 21, 70, 3, 1, 1, 3, 7, QuantOutput::kU8, Activation::kSilu},
      {6, 13, 17, 19, 1, 2, 0, 2, 1, QuantOutput::kU8, Activation::kSilu},
      {9, 9, 32, 64, 3, 2, 1, 0, 0, QuantOutput::kF32, Activation::kNone},
      {5, 12, 7, 33, 3, 1, 1, 9, 2, QuantOutput::kF32, Activation::kSilu},
      {11, 5, 65, 129, 1, 1, 0, 1, 5, QuantOutput::kF32, Activation::kSilu},
      {4, 4, 2, 3, 3, 1, 2, 1, 1, QuantOutput::kU8, Activation::kSilu},  // padding 2: whole taps padded
      {12, 12, 24, 48, 3, 1, 1, 8, 16, QuantOutput::kU8, Activation::kSilu},
  };
  return kCases;
}

double silu_d(double x) { return x / (1.0 + std::exp(-x)); }

TEST(ConvS8, ScalarAccumulatorsMatchTextbook) {
  // Unit scales and float output: the output is float(acc), exact while |acc| < 2^24.
  uint32_t seed = 1;
  for (Case c : cases()) {
    c.output = QuantOutput::kF32;
    c.act = Activation::kNone;
    const Problem p = make_problem(c, seed++, /*unit_scales=*/true);
    const auto acc = textbook_acc(p);
    auto conv = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
    const auto buf = run_checked(*conv, p, nullptr);
    for (size_t px = 0; px < acc.size() / c.out_c; ++px)
      for (int o = 0; o < c.out_c; ++o) {
        const int64_t want = acc[px * c.out_c + o];
        ASSERT_LT(std::llabs(want), int64_t{1} << 24);
        ASSERT_EQ(out_f32(buf, p, px, o), static_cast<float>(want)) << "pixel " << px << " channel " << o;
      }
  }
}

TEST(ConvS8, ScalarEpilogueMatchesTextbook) {
  uint32_t seed = 100;
  for (const Case& c : cases()) {
    const Problem p = make_problem(c, seed++);
    const Conv2dS8Desc& d = p.desc;
    const auto acc = textbook_acc(p);
    auto conv = create_conv2d_s8(d, p.w.data(), p.bias.data(), Isa::kScalar);
    const auto buf = run_checked(*conv, p, nullptr);
    int clamped = 0;
    for (size_t px = 0; px < acc.size() / c.out_c; ++px)
      for (int o = 0; o < c.out_c; ++o) {
        double f = static_cast<double>(acc[px * c.out_c + o]) * d.input_scale * d.weight_scales[o];
        if (c.act == Activation::kSilu) f = silu_d(f);
        if (c.output == QuantOutput::kF32) {
          ASSERT_NEAR(out_f32(buf, p, px, o), f, 1e-5 * std::fabs(f) + 1e-6) << "pixel " << px << " channel " << o;
        } else {
          const double q = std::nearbyint(f / d.output_scale) + d.output_zero_point;
          const double want = q < 0 ? 0 : (q > 255 ? 255 : q);
          clamped += (q < 0 || q > 255);
          const int got = buf[kGuard + px * p.ops + o];
          // Float vs double products may land on opposite sides of a rounding boundary: 1 step allowed.
          ASSERT_LE(std::fabs(got - want), 1.0) << "pixel " << px << " channel " << o;
        }
      }
    EXPECT_LT(clamped * 2, static_cast<int>(acc.size())) << "test data mostly saturates: scales need fixing";
  }
}

TEST(ConvS8, RoundsHalfToEven) {
  // 1x1, one input channel, weight 1, unit scales, output scale 2: acc/2 lands exactly on halves.
  Conv2dS8Desc d;
  d.in_h = 1, d.in_w = 8, d.in_c = 1, d.out_c = 1;
  d.weight_scales = {1.0f};
  d.output_scale = 2.0f;
  d.output_zero_point = 10;
  const int8_t w = 1;
  const uint8_t in[8] = {1, 3, 5, 7, 0, 2, 4, 6};
  const uint8_t want[8] = {10, 12, 12, 14, 10, 11, 12, 13};  // 0.5->0, 1.5->2, 2.5->2, 3.5->4
  for (Isa isa : supported_isas()) {
    auto conv = create_conv2d_s8(d, &w, nullptr, isa);
    uint8_t out[8] = {};
    conv->run(in, 1, out, 1, nullptr);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], want[i]) << conv->name() << " at " << i;
  }
}

// A kernel family under test: what create_conv2d_s8 runs for an Isa, or, reached through the internal
// hooks, (evex256) the AVX-VNNI source compiled in its AVX-512VL VNNI form, or (amx_emulated) what
// create_conv2d_s8 runs for Isa::kAmx under SP_AMX=emulate: the AMX-INT8 kernel on the tile emulator for
// dense convolutions, the AVX-512 VNNI depthwise kernel (AMX has no depthwise form), and the AVX-512 VNNI
// kernel for convolutions with a fused residual.
struct Variant {
  const char* name;
  Isa isa;
  bool evex256 = false;
  bool amx_emulated = false;
};

// For test names and failure messages (gtest would print the struct's bytes).
void PrintTo(const Variant& v, std::ostream* os) { *os << v.name; }

// The emulated AMX variant stands for an AMX machine, which always has AVX-512 VNNI (its depthwise kernel,
// and the AMX kernel's gather and epilogue, are AVX-512).
bool variant_supported(const Variant& v) {
  return isa_supported(v.evex256 || v.amx_emulated ? Isa::kAvx512Vnni : v.isa);
}

std::unique_ptr<Conv2dS8> create_variant(const Variant& v, const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias) {
  using namespace conv_s8_internal;
  if (v.amx_emulated) {
    if (is_depthwise(d)) return create_conv2d_s8_dw(d, w, bias, DwKernel::kAvx512Vnni);
    // As create_conv2d_s8 does for Isa::kAmx: no residual epilogue in the AMX kernel yet.
    if (d.residual) return create_conv2d_s8_simd(d, w, bias, S8Kernel::kAvx512Vnni);
    return create_conv2d_s8_amx(d, w, bias, AmxBackend::kEmulated);
  }
  if (!v.evex256) return create_conv2d_s8(d, w, bias, v.isa);
  if (is_depthwise(d)) return create_conv2d_s8_dw(d, w, bias, DwKernel::kVnni256Evex);
  return create_conv2d_s8_simd(d, w, bias, S8Kernel::kVnni256Evex);
}

class ConvS8Isa : public ::testing::TestWithParam<Variant> {
 protected:
  void SetUp() override {
    if (!variant_supported(GetParam()))
      GTEST_SKIP() << GetParam().name << " not supported by this CPU: integer conv path not tested";
  }
  std::unique_ptr<Conv2dS8> create(const Conv2dS8Desc& d, const int8_t* w, const int32_t* bias) const {
    return create_variant(GetParam(), d, w, bias);
  }
};

TEST_P(ConvS8Isa, BitExactAgainstScalar) {
  ThreadPool pool(2);
  uint32_t seed = 1000;
  for (const Case& c : cases()) {
    const Problem p = make_problem(c, seed++);
    auto ref = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
    auto conv = create(p.desc, p.w.data(), p.bias.data());
    const auto want = run_checked(*ref, p, nullptr);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto got = run_checked(*conv, p, tp);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << conv->name() << " differs at byte " << static_cast<int64_t>(i) - kGuard
                                   << " (case in_c=" << c.in_c << " out_c=" << c.out_c << " k=" << c.k
                                   << " s=" << c.stride << (tp ? ", 2 threads" : "") << ")";
    }
  }
  const Problem p = make_problem(cases()[2], 1);
  std::printf("[          ] %s uses %s\n", GetParam().name, std::string(create(p.desc, p.w.data(), nullptr)->name()).c_str());
}

// SiLU over a dense range of pre-activations (|x| from ~1e-4 to thousands, through the clamp at +-88): float output
// bit-exact against the scalar reference.
TEST_P(ConvS8Isa, SiluSweepBitExact) {
  Conv2dS8Desc d;
  d.in_h = 1, d.in_w = 256, d.in_c = 1, d.out_c = 40;
  d.input_zero_point = 128;
  d.output = QuantOutput::kF32;
  d.activation = Activation::kSilu;
  std::vector<int8_t> w(40);
  std::vector<int32_t> bias(40);
  for (int o = 0; o < 40; ++o) {
    w[o] = static_cast<int8_t>(o % 2 ? 127 : -128);
    bias[o] = (o - 20) * 977;
    d.weight_scales.push_back(0.0001f * static_cast<float>(1 + o * o));
  }
  std::vector<uint8_t> in(256);
  for (int i = 0; i < 256; ++i) in[i] = static_cast<uint8_t>(i);
  std::vector<float> want(256 * 40), got(256 * 40);
  create_conv2d_s8(d, w.data(), bias.data(), Isa::kScalar)->run(in.data(), 1, want.data(), 40, nullptr);
  create(d, w.data(), bias.data())->run(in.data(), 1, got.data(), 40, nullptr);
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], 4), 0) << "pixel " << i / 40 << " channel " << i % 40 << ": " << got[i]
                                                    << " vs " << want[i];
  // And the reference is a SiLU: spot-check against double precision.
  for (size_t i = 0; i < want.size(); ++i) {
    const int o = static_cast<int>(i % 40), x = static_cast<int>(i / 40);
    const double pre = (bias[o] + (x - 128.0) * w[o]) * static_cast<double>(d.input_scale * d.weight_scales[o]);
    ASSERT_NEAR(want[i], silu_d(pre), 2e-6 * std::fabs(silu_d(pre)) + 1e-7) << "pre-activation " << pre;
  }
}

// Small input channel counts (the im2col path: in_c 1..7, e.g. the packed-RGB first layer): random shapes
// with kernels 1..5, strides 1..2, dilations 1..2, pads 0..2, packed pixels (stride == in_c) mostly, both
// outputs, SiLU or not; bit-exact against the scalar reference with and without a 2-thread pool.
TEST_P(ConvS8Isa, SmallInCBitExactAgainstScalar) {
  ThreadPool pool(2);
  std::mt19937 rng(31337);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)); };
  std::vector<std::pair<Case, int>> todo;  // case, dilation
  for (int in_c = 1; in_c <= 7; ++in_c) {
    for (int k = 1; k <= 5; ++k) {
      for (int rep = 0; rep < 3; ++rep) {
        Case c{};
        c.in_h = pick(1, 13), c.in_w = pick(1, 29), c.in_c = in_c;
        c.out_c = rep == 0 ? 16 : pick(1, 70);
        c.k = k, c.stride = pick(1, 2), c.pad = pick(0, 2);
        c.in_extra = rep == 2 ? pick(1, 5) : 0;
        c.out_extra = rng() % 2 ? pick(1, 9) : 0;
        c.output = rng() % 3 == 0 ? QuantOutput::kF32 : QuantOutput::kU8;
        c.act = rng() % 2 ? Activation::kSilu : Activation::kNone;
        const int dil = rep == 1 ? pick(1, 2) : 1;
        if (c.in_h + 2 * c.pad - dil * (k - 1) - 1 < 0 || c.in_w + 2 * c.pad - dil * (k - 1) - 1 < 0) continue;
        todo.push_back({c, dil});
      }
    }
  }
  // The YOLO11n-pose first layer in small (3x3 s2 pad 1, 3 -> 16, packed RGB), wide enough for interior tiles,
  // and a few more typical ones.
  todo.push_back({{34, 46, 3, 16, 3, 2, 1, 0, 0, QuantOutput::kU8, Activation::kSilu}, 1});
  todo.push_back({{33, 45, 3, 16, 3, 2, 1, 0, 0, QuantOutput::kF32, Activation::kSilu}, 1});
  todo.push_back({{20, 37, 4, 40, 3, 1, 1, 0, 3, QuantOutput::kU8, Activation::kNone}, 1});
  todo.push_back({{17, 30, 7, 33, 3, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu}, 1});
  todo.push_back({{16, 31, 1, 8, 5, 2, 2, 0, 0, QuantOutput::kU8, Activation::kSilu}, 1});
  todo.push_back({{18, 26, 2, 64, 5, 1, 2, 0, 0, QuantOutput::kU8, Activation::kSilu}, 1});
  uint32_t seed = 20000;
  int im2col_runs = 0;
  for (const auto& [c, dil] : todo) {
    Problem p = make_problem(c, seed++);
    p.desc.dilation_h = p.desc.dilation_w = dil;
    auto ref = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
    auto conv = create(p.desc, p.w.data(), p.bias.data());
    const std::string name(conv->name());
    im2col_runs += name.find("im2col") != std::string::npos;
    const auto want = run_checked(*ref, p, nullptr);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto got = run_checked(*conv, p, tp);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << name << " differs at byte " << static_cast<int64_t>(i) - kGuard << " (case "
                                   << c.in_h << "x" << c.in_w << " in_c=" << c.in_c << " out_c=" << c.out_c
                                   << " k=" << c.k << " s=" << c.stride << " pad=" << c.pad << " dil=" << dil
                                   << " in_extra=" << c.in_extra << (tp ? ", 2 threads" : "") << ")";
    }
  }
  if (GetParam().isa != Isa::kScalar) {
    EXPECT_GT(im2col_runs, static_cast<int>(todo.size()) / 2) << "im2col path not taken";
  }
  std::printf("[          ] %s: %d of %d small-in_c cases on the im2col path\n", GetParam().name, im2col_runs,
              static_cast<int>(todo.size()));
}

// ---- the residual epilogue (Conv2dS8Desc::residual) --------------------------------------------------

// A dense u8-output problem with a residual: a random u8 tensor with its own grid and a pixel stride wider
// than out_c. The residual scale is near the output scale, so conv + residual also reaches the clamps.
struct ResidualProblem {
  Problem p;
  std::vector<uint8_t> res;
  int64_t rps = 0;
};

ResidualProblem make_residual_problem(Case c, uint32_t seed) {
  c.output = QuantOutput::kU8;
  ResidualProblem r{make_problem(c, seed), {}, 0};
  std::mt19937 rng(seed ^ 0x9e3779b9u);
  Conv2dS8Desc& d = r.p.desc;
  d.residual = true;
  d.residual_zero_point = static_cast<uint8_t>(rng() % 256);
  d.residual_scale = d.output_scale * (0.3f + 1.5f * static_cast<float>(rng() % 1000) / 1000.0f);
  r.rps = d.out_c + static_cast<int64_t>(rng() % 6);
  r.res.resize(static_cast<size_t>(d.out_h()) * d.out_w() * r.rps);
  for (auto& v : r.res) v = static_cast<uint8_t>(rng() % 256);
  return r;
}

// run_residual() into a canary-filled buffer (guards and channel padding checked); the output bytes only.
std::vector<uint8_t> run_residual_checked(const Conv2dS8& conv, const ResidualProblem& r, ThreadPool* pool) {
  const Problem& p = r.p;
  const size_t pixels = static_cast<size_t>(p.desc.out_h()) * p.desc.out_w();
  std::vector<uint8_t> buf(pixels * p.ops + 2 * kGuard, kCanary);
  conv.run_residual(p.in.data(), p.ips, r.res.data(), r.rps, buf.data() + kGuard, p.ops, pool);
  std::vector<uint8_t> y(pixels * p.desc.out_c);
  for (int i = 0; i < kGuard; ++i) {
    EXPECT_EQ(buf[i], kCanary) << "guard before output clobbered";
    EXPECT_EQ(buf[buf.size() - 1 - i], kCanary) << "guard after output clobbered";
  }
  for (size_t px = 0; px < pixels; ++px) {
    for (int64_t b = 0; b < p.ops; ++b) {
      const uint8_t v = buf[kGuard + px * p.ops + b];
      if (b < p.desc.out_c) y[px * p.desc.out_c + b] = v;
      else if (v != kCanary) ADD_FAILURE() << "channel padding of pixel " << px << " clobbered at byte " << b;
    }
  }
  return y;
}

// The scalar reference's residual epilogue is exactly what the unfused ops compute: the conv's float output,
// DequantizeLinear of the residual, a float Add, QuantizeLinear (the quant_u8 kernels themselves).
TEST(ConvS8, ScalarResidualMatchesUnfusedOps) {
  uint32_t seed = 4000;
  int clamped = 0, total = 0;
  for (const Case& c : cases()) {
    const ResidualProblem r = make_residual_problem(c, seed++);
    const Conv2dS8Desc& d = r.p.desc;
    const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
    Conv2dS8Desc df = d;
    df.residual = false;
    df.output = QuantOutput::kF32;
    std::vector<float> f(static_cast<size_t>(pixels) * d.out_c), fr(f.size()), sum(f.size());
    create_conv2d_s8(df, r.p.w.data(), r.p.bias.data(), Isa::kScalar)->run(r.p.in.data(), r.p.ips, f.data(), d.out_c, nullptr);
    dequantize_u8_f32(r.res.data(), r.rps, pixels, d.out_c, {d.residual_scale, d.residual_zero_point}, fr.data(), d.out_c,
                      Isa::kScalar);
    for (size_t i = 0; i < f.size(); ++i) sum[i] = f[i] + fr[i];
    std::vector<uint8_t> want(f.size());
    quantize_f32_u8(sum.data(), d.out_c, pixels, d.out_c, {d.output_scale, d.output_zero_point}, want.data(), d.out_c,
                    Isa::kScalar);
    const auto got = run_residual_checked(*create_conv2d_s8(d, r.p.w.data(), r.p.bias.data(), Isa::kScalar), r, nullptr);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i], want[i]) << "element " << i << " (case in_c=" << c.in_c << " out_c=" << c.out_c << ")";
      clamped += got[i] == 0 || got[i] == 255;
    }
    total += static_cast<int>(got.size());
  }
  EXPECT_GT(clamped, 0) << "the clamps were never reached";
  EXPECT_LT(clamped, total / 2) << "mostly clamped: the test would not see rounding";
}

TEST_P(ConvS8Isa, ResidualBitExactAgainstScalar) {
  if (GetParam().isa == Isa::kScalar && !GetParam().evex256) GTEST_SKIP() << "the reference itself";
  ThreadPool pool(2);
  uint32_t seed = 5000;
  std::vector<Case> todo = cases();
  todo.push_back({34, 46, 3, 16, 3, 2, 1, 0, 0, QuantOutput::kU8, Activation::kSilu});  // the im2col path
  todo.push_back({20, 20, 32, 32, 1, 1, 0, 0, 0, QuantOutput::kU8, Activation::kNone});
  for (const Case& c : todo) {
    const ResidualProblem r = make_residual_problem(c, seed++);
    const auto want = run_residual_checked(*create_conv2d_s8(r.p.desc, r.p.w.data(), r.p.bias.data(), Isa::kScalar), r, nullptr);
    auto conv = create(r.p.desc, r.p.w.data(), r.p.bias.data());
    EXPECT_NE(std::string(conv->name()).find("-res"), std::string::npos) << conv->name();
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto got = run_residual_checked(*conv, r, tp);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << conv->name() << " differs at element " << i << " (case in_c=" << c.in_c
                                   << " out_c=" << c.out_c << " k=" << c.k << " s=" << c.stride
                                   << (tp ? ", 2 threads" : "") << ")";
    }
  }
}

// The residual may be the output buffer itself (each element is read before it is overwritten).
TEST_P(ConvS8Isa, ResidualInPlace) {
  ThreadPool pool(2);
  ResidualProblem r = make_residual_problem({10, 11, 21, 70, 3, 1, 1, 3, 0, QuantOutput::kU8, Activation::kSilu}, 77);
  r.rps = r.p.ops;
  r.res.resize(static_cast<size_t>(r.p.desc.out_h()) * r.p.desc.out_w() * r.rps);
  const auto want = run_residual_checked(*create_conv2d_s8(r.p.desc, r.p.w.data(), r.p.bias.data(), Isa::kScalar), r, nullptr);
  auto conv = create(r.p.desc, r.p.w.data(), r.p.bias.data());
  std::vector<uint8_t> buf = r.res;
  conv->run_residual(r.p.in.data(), r.p.ips, buf.data(), r.rps, buf.data(), r.p.ops, &pool);
  for (size_t px = 0; px < want.size() / r.p.desc.out_c; ++px)
    for (int o = 0; o < r.p.desc.out_c; ++o)
      ASSERT_EQ(buf[px * r.p.ops + o], want[px * r.p.desc.out_c + o]) << conv->name() << " pixel " << px << " channel " << o;
}

TEST(ConvS8, ResidualRejectsWhatItCannotRun) {
  ResidualProblem r = make_residual_problem(cases()[1], 9);
  Conv2dS8Desc d = r.p.desc;
  std::vector<uint8_t> out(static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c);
  for (Isa isa : supported_isas()) {
    auto conv = create_conv2d_s8(d, r.p.w.data(), nullptr, isa);
    EXPECT_THROW(conv->run(r.p.in.data(), r.p.ips, out.data(), d.out_c, nullptr), Error) << isa_name(isa);
    EXPECT_THROW(conv->run_residual(r.p.in.data(), r.p.ips, nullptr, r.rps, out.data(), d.out_c, nullptr), Error);
    EXPECT_THROW(conv->run_residual(r.p.in.data(), r.p.ips, r.res.data(), d.out_c - 1, out.data(), d.out_c, nullptr), Error);
  }
  Conv2dS8Desc plain = d;
  plain.residual = false;
  auto conv = create_conv2d_s8(plain, r.p.w.data(), nullptr, Isa::kScalar);
  EXPECT_THROW(conv->run_residual(r.p.in.data(), r.p.ips, r.res.data(), r.rps, out.data(), d.out_c, nullptr), Error);
  Conv2dS8Desc f32 = d;
  f32.output = QuantOutput::kF32;
  EXPECT_THROW(create_conv2d_s8(f32, r.p.w.data(), nullptr, Isa::kScalar), Error);
  Conv2dS8Desc dw = d;
  dw.groups = dw.in_c;
  dw.out_c = dw.in_c;
  dw.weight_scales.resize(dw.out_c, 0.01f);
  EXPECT_THROW(create_conv2d_s8(dw, r.p.w.data(), nullptr, Isa::kScalar), Error);
  Conv2dS8Desc bad = d;
  bad.residual_scale = 0.0f;
  EXPECT_THROW(create_conv2d_s8(bad, r.p.w.data(), nullptr, Isa::kScalar), Error);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ConvS8Isa,
                         ::testing::Values(Variant{"scalar", Isa::kScalar}, Variant{"avx2", Isa::kAvx2},
                                           Variant{"avx512", Isa::kAvx512}, Variant{"avx512vnni", Isa::kAvx512Vnni},
                                           Variant{"avxvnni", Isa::kAvxVnni},
                                           Variant{"avxvnni_as_evex256", Isa::kAvxVnni, true},
                                           Variant{"amx", Isa::kAmx},
                                           Variant{"amx_emulated", Isa::kAmx, false, true}),
                         [](const ::testing::TestParamInfo<Variant>& info) { return std::string(info.param.name); });

// ---- depthwise (groups == in_c == out_c) ------------------------------------------------------------

struct DwCase {
  int in_h, in_w, channels, kh, kw, stride_h, stride_w, dil_h, dil_w;
  int pad_t, pad_l, pad_b, pad_r;
  int in_extra, out_extra;
  QuantOutput output;
  Activation act;
};

std::string describe(const DwCase& c) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%dx%dx%d k%dx%d s%dx%d d%dx%d pads %d,%d,%d,%d strides +%d/+%d %s%s", c.in_h, c.in_w,
                c.channels, c.kh, c.kw, c.stride_h, c.stride_w, c.dil_h, c.dil_w, c.pad_t, c.pad_l, c.pad_b, c.pad_r,
                c.in_extra, c.out_extra, c.output == QuantOutput::kU8 ? "u8" : "f32",
                c.act == Activation::kSilu ? " silu" : "");
  return buf;
}

Problem make_dw_problem(const DwCase& c, uint32_t seed, bool unit_scales = false) {
  std::mt19937 rng(seed);
  Problem p;
  Conv2dS8Desc& d = p.desc;
  d.in_h = c.in_h, d.in_w = c.in_w, d.in_c = d.out_c = d.groups = c.channels;
  d.kernel_h = c.kh, d.kernel_w = c.kw, d.stride_h = c.stride_h, d.stride_w = c.stride_w;
  d.dilation_h = c.dil_h, d.dilation_w = c.dil_w;
  d.pad_top = c.pad_t, d.pad_left = c.pad_l, d.pad_bottom = c.pad_b, d.pad_right = c.pad_r;
  d.input_zero_point = static_cast<uint8_t>(rng() % 256);
  d.input_scale = unit_scales ? 1.0f : 0.01f + 0.05f * static_cast<float>(rng() % 1000) / 1000.0f;
  d.output = c.output;
  d.activation = c.act;
  d.output_zero_point = static_cast<uint8_t>(rng() % 256);
  const int taps = c.kh * c.kw;
  d.output_scale = d.input_scale * 0.02f * std::sqrt(static_cast<float>(taps)) * 127.0f * 64.0f / 100.0f;
  for (int o = 0; o < c.channels; ++o)
    d.weight_scales.push_back(unit_scales ? 1.0f : 0.001f + 0.02f * static_cast<float>(rng() % 1000) / 1000.0f);
  p.w.resize(static_cast<size_t>(c.channels) * taps);
  for (auto& v : p.w) v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
  p.bias.resize(static_cast<size_t>(c.channels));
  for (auto& v : p.bias) v = static_cast<int32_t>(rng() % 4001) - 2000;
  p.ips = c.channels + c.in_extra;
  p.ops = c.channels + c.out_extra;
  p.in.resize(static_cast<size_t>(c.in_h) * c.in_w * p.ips);
  for (auto& v : p.in) v = static_cast<uint8_t>(rng() % 256);
  return p;
}

// Random depthwise shapes: kernels 1..5, strides 1..2, dilations 1..2, pads 0..2 per side, channel counts
// around the vector widths (and not multiples of them), slices with pixel strides above the channel count.
std::vector<DwCase> dw_cases(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)); };
  static const int kChannels[] = {1, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40, 47, 64, 65, 96, 100};
  std::vector<DwCase> out;
  while (static_cast<int>(out.size()) < count) {
    DwCase c{};
    c.in_h = pick(1, 14), c.in_w = pick(1, 27);
    c.channels = kChannels[rng() % (sizeof kChannels / sizeof kChannels[0])];
    c.kh = pick(1, 5), c.kw = pick(1, 5);
    c.stride_h = pick(1, 2), c.stride_w = pick(1, 2);
    c.dil_h = pick(1, 2), c.dil_w = pick(1, 2);
    c.pad_t = pick(0, 2), c.pad_l = pick(0, 2), c.pad_b = pick(0, 2), c.pad_r = pick(0, 2);
    c.in_extra = rng() % 2 ? pick(1, 9) : 0;
    c.out_extra = rng() % 2 ? pick(1, 9) : 0;
    c.output = rng() % 3 == 0 ? QuantOutput::kF32 : QuantOutput::kU8;
    c.act = rng() % 2 ? Activation::kSilu : Activation::kNone;
    const int eh = c.in_h + c.pad_t + c.pad_b - c.dil_h * (c.kh - 1) - 1;
    const int ew = c.in_w + c.pad_l + c.pad_r - c.dil_w * (c.kw - 1) - 1;
    if (eh < 0 || ew < 0) continue;  // empty output
    if (c.channels == 1) continue;   // groups=1: the dense path (covered above)
    out.push_back(c);
  }
  // Fixed typical layers: 3x3 s1 / s2 pad 1 (YOLO's depthwise convs), wide rows for interior tiles.
  out.push_back({20, 20, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu});
  out.push_back({21, 19, 80, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 16, 0, QuantOutput::kU8, Activation::kNone});
  out.push_back({9, 33, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 24, QuantOutput::kF32, Activation::kSilu});
  out.push_back({8, 40, 24, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2, 8, 8, QuantOutput::kU8, Activation::kSilu});
  return out;
}

// Textbook depthwise accumulators: int64, padded taps read zx, every index computed from scratch.
std::vector<int64_t> textbook_dw_acc(const Problem& p) {
  const Conv2dS8Desc& d = p.desc;
  const int oh_n = d.out_h(), ow_n = d.out_w(), ch = d.in_c;
  std::vector<int64_t> acc(static_cast<size_t>(oh_n) * ow_n * ch);
  for (int oh = 0; oh < oh_n; ++oh)
    for (int ow = 0; ow < ow_n; ++ow)
      for (int c = 0; c < ch; ++c) {
        int64_t s = p.bias[c];
        for (int kh = 0; kh < d.kernel_h; ++kh)
          for (int kw = 0; kw < d.kernel_w; ++kw) {
            const int ih = oh * d.stride_h - d.pad_top + kh * d.dilation_h;
            const int iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
            const bool inside = ih >= 0 && ih < d.in_h && iw >= 0 && iw < d.in_w;
            const int64_t x = inside ? p.in[(static_cast<size_t>(ih) * d.in_w + iw) * p.ips + c] : d.input_zero_point;
            s += (x - d.input_zero_point) * p.w[(static_cast<size_t>(c) * d.kernel_h + kh) * d.kernel_w + kw];
          }
        acc[(static_cast<size_t>(oh) * ow_n + ow) * ch + c] = s;
      }
  return acc;
}

TEST(ConvS8, DepthwiseScalarMatchesTextbook) {
  uint32_t seed = 5000;
  for (DwCase c : dw_cases(40, 77)) {
    SCOPED_TRACE(describe(c));
    // Accumulators: unit scales and float output make the output float(acc) exactly.
    DwCase raw = c;
    raw.output = QuantOutput::kF32;
    raw.act = Activation::kNone;
    const Problem pa = make_dw_problem(raw, seed, /*unit_scales=*/true);
    const auto acc = textbook_dw_acc(pa);
    const auto abuf = run_checked(*create_conv2d_s8(pa.desc, pa.w.data(), pa.bias.data(), Isa::kScalar), pa, nullptr);
    for (size_t px = 0; px < acc.size() / c.channels; ++px)
      for (int o = 0; o < c.channels; ++o)
        ASSERT_EQ(out_f32(abuf, pa, px, o), static_cast<float>(acc[px * c.channels + o])) << "pixel " << px << " ch " << o;
    // Epilogue in double: float output within 1e-5, u8 output within one step.
    const Problem p = make_dw_problem(c, seed++);
    const Conv2dS8Desc& d = p.desc;
    const auto acc2 = textbook_dw_acc(p);
    const auto buf = run_checked(*create_conv2d_s8(d, p.w.data(), p.bias.data(), Isa::kScalar), p, nullptr);
    for (size_t px = 0; px < acc2.size() / c.channels; ++px)
      for (int o = 0; o < c.channels; ++o) {
        double f = static_cast<double>(acc2[px * c.channels + o]) * d.input_scale * d.weight_scales[o];
        if (c.act == Activation::kSilu) f = silu_d(f);
        if (c.output == QuantOutput::kF32) {
          ASSERT_NEAR(out_f32(buf, p, px, o), f, 1e-5 * std::fabs(f) + 1e-6) << "pixel " << px << " ch " << o;
        } else {
          const double q = std::nearbyint(f / d.output_scale) + d.output_zero_point;
          const double want = q < 0 ? 0 : (q > 255 ? 255 : q);
          ASSERT_LE(std::fabs(buf[kGuard + px * p.ops + o] - want), 1.0) << "pixel " << px << " ch " << o;
        }
      }
  }
}

TEST_P(ConvS8Isa, DepthwiseBitExactAgainstScalar) {
  ThreadPool pool(2);
  uint32_t seed = 9000;
  std::string name;
  for (const DwCase& c : dw_cases(120, 4242)) {
    const Problem p = make_dw_problem(c, seed++);
    auto ref = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
    auto conv = create(p.desc, p.w.data(), p.bias.data());
    name = std::string(conv->name());
    ASSERT_EQ(name.rfind("dwconv", 0), 0u) << name;
    const auto want = run_checked(*ref, p, nullptr);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto got = run_checked(*conv, p, tp);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << name << " differs at byte " << static_cast<int64_t>(i) - kGuard << " ("
                                   << describe(c) << (tp ? ", 2 threads" : "") << ")";
    }
  }
  std::printf("[          ] %s depthwise uses %s\n", GetParam().name, name.c_str());
}

// name() says which instructions run: the ISA's own suffix for every dense and depthwise kernel (AVX-512BW
// dense convolutions run the AVX2 kernel and say so; AMX runs its tiles for dense convolutions, "-amx", or
// the emulator's, "-amx-emu", and the AVX-512 VNNI kernel for depthwise ones).
TEST_P(ConvS8Isa, KernelNameSaysWhatRuns) {
  const Variant& v = GetParam();
  const Problem dense = make_problem(cases()[3], 7);
  const Problem dw = make_dw_problem({9, 9, 40, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu}, 7);
  std::string dense_suffix = v.evex256 ? "-vnni256-evex" : "-" + std::string(isa_name(v.isa));
  std::string dw_suffix = dense_suffix;
  if (v.isa == Isa::kAvx512 && !v.evex256) dense_suffix = "-avx2";
  if (v.isa == Isa::kAmx) {
    dense_suffix = v.amx_emulated || detect_cpu().amx_emulated ? "-amx-emu" : "-amx";
    dw_suffix = "-avx512vnni";
  }
  const std::string dn(create(dense.desc, dense.w.data(), dense.bias.data())->name());
  const std::string dwn(create(dw.desc, dw.w.data(), dw.bias.data())->name());
  EXPECT_EQ(dn.substr(dn.size() - std::min(dn.size(), dense_suffix.size())), dense_suffix) << dn;
  EXPECT_EQ(dwn.substr(dwn.size() - std::min(dwn.size(), dw_suffix.size())), dw_suffix) << dwn;
  EXPECT_EQ(dwn.rfind("dwconv3x3s1-s8-u8", 0), 0u) << dwn;
}

TEST(ConvS8, DepthwiseHandChecked) {
  // 2 channels, 3x3 input, 3x3 kernel, pad 1, stride 2: output 2x2. zx = 10, unit scales, f32 out.
  Conv2dS8Desc d;
  d.in_h = d.in_w = 3, d.in_c = d.out_c = d.groups = 2;
  d.kernel_h = d.kernel_w = 3, d.stride_h = d.stride_w = 2;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  d.input_zero_point = 10;
  d.weight_scales = {1.0f, 1.0f};
  d.output = QuantOutput::kF32;
  std::vector<int8_t> w(2 * 9);
  for (int t = 0; t < 9; ++t) w[t] = 1, w[9 + t] = static_cast<int8_t>(t - 4);  // ch0: box, ch1: -4..4
  std::vector<uint8_t> in(9 * 2);
  for (int i = 0; i < 9; ++i) in[i * 2] = static_cast<uint8_t>(11 + i), in[i * 2 + 1] = 10;  // ch1 all at zx
  const int32_t bias[2] = {100, -7};
  // Output (0,0) of ch0 covers input pixels (0,0),(0,1),(1,0),(1,1): (x - 10) = 1, 2, 4, 5 -> 100 + 12.
  // Output (1,1) covers (1,1),(1,2),(2,1),(2,2): 5 + 6 + 8 + 9 = 28 -> 128. Channel 1 is bias only.
  const float want[8] = {112, -7, 100 + 2 + 3 + 5 + 6, -7, 100 + 4 + 5 + 7 + 8, -7, 128, -7};
  for (Isa isa : supported_isas()) {
    std::vector<float> out(8, -1.0f);
    create_conv2d_s8(d, w.data(), bias, isa)->run(in.data(), 2, out.data(), 2, nullptr);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], want[i]) << isa_name(isa) << " at " << i;
  }
}

TEST(ConvS8, RejectsWhatItCannotRun) {
  Conv2dS8Desc d;
  d.in_h = d.in_w = 4, d.in_c = d.out_c = 8;
  d.kernel_h = d.kernel_w = 3;
  d.weight_scales.assign(8, 0.1f);
  std::vector<int8_t> w(8 * 8 * 9, 1);
  d.groups = 4;
  EXPECT_THROW(create_conv2d_s8(d, w.data(), nullptr, Isa::kScalar), Error);  // grouped, not depthwise
  d.groups = 8;
  EXPECT_NO_THROW(create_conv2d_s8(d, w.data(), nullptr, Isa::kScalar));  // depthwise
  d.out_c = 16;
  d.weight_scales.assign(16, 0.1f);
  for (Isa isa : supported_isas())  // channel multiplier 2
    EXPECT_THROW(create_conv2d_s8(d, w.data(), nullptr, isa), Error) << isa_name(isa);
  d.out_c = 8;
  d.weight_scales.assign(8, 0.1f);
  d.groups = 1;
  d.activation = Activation::kSigmoid;
  EXPECT_THROW(create_conv2d_s8(d, w.data(), nullptr, Isa::kScalar), Error);
  d.activation = Activation::kNone;
  d.weight_scales.pop_back();
  EXPECT_THROW(create_conv2d_s8(d, w.data(), nullptr, Isa::kScalar), Error);
  d.weight_scales.push_back(0.1f);
  auto conv = create_conv2d_s8(d, w.data(), nullptr, Isa::kScalar);
  std::vector<uint8_t> in(4 * 4 * 8), out(2 * 2 * 8);
  EXPECT_THROW(conv->run(in.data(), 7, out.data(), 8, nullptr), Error);
}

}  // namespace
}  // namespace sp::kernels
