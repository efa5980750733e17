// Sparse integer convolution: every ISA path (and the portable one, with both unit sizes) bit-exact against
// the DENSE scalar reference (create_conv2d_s8 with Isa::kScalar) on random shapes x sparsities x pruning
// patterns, the YOLO-pose layer shapes, every tile size, with and without a thread pool; plus the stats,
// the rejections and concurrent runs of one kernel object.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/spconv_s8/spconv_s8.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_s8_test_problems.h"

namespace sp::kernels {
namespace {

struct Shape {
  int in_h, in_w, in_c, out_c, kh, kw, stride_h, stride_w, dil;
  int pad_t, pad_l, pad_b, pad_r;
  int in_extra, out_extra;  // pixel stride = channels + extra
  QuantOutput output;
  Activation act;
};

enum class Pattern { kBlock4, kBlock4x4, kUnstructured, kZeroOutChannels, kZeroInChannels };
const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::kBlock4: return "block4";
    case Pattern::kBlock4x4: return "block4x4";
    case Pattern::kUnstructured: return "unstructured";
    case Pattern::kZeroOutChannels: return "zero-out-channels";
    case Pattern::kZeroInChannels: return "zero-in-channels";
  }
  return "?";
}

std::string describe(const Shape& s) {
  char buf[256];
  std::snprintf(buf, sizeof buf, "%dx%dx%d->%d k%dx%d s%dx%d d%d pads %d,%d,%d,%d strides +%d/+%d %s%s", s.in_h, s.in_w,
                s.in_c, s.out_c, s.kh, s.kw, s.stride_h, s.stride_w, s.dil, s.pad_t, s.pad_l, s.pad_b, s.pad_r,
                s.in_extra, s.out_extra, s.output == QuantOutput::kU8 ? "u8" : "f32",
                s.act == Activation::kSilu ? " silu" : "");
  return buf;
}

using conv_s8_test::kCanary;
using conv_s8_test::kGuard;
using conv_s8_test::run_checked;
using Problem = conv_s8_test::S8Problem;

Problem make_problem(const Shape& s, uint32_t seed) {
  Conv2dS8Desc d;
  d.in_h = s.in_h, d.in_w = s.in_w, d.in_c = s.in_c, d.out_c = s.out_c;
  d.kernel_h = s.kh, d.kernel_w = s.kw, d.stride_h = s.stride_h, d.stride_w = s.stride_w;
  d.dilation_h = d.dilation_w = s.dil;
  d.pad_top = s.pad_t, d.pad_left = s.pad_l, d.pad_bottom = s.pad_b, d.pad_right = s.pad_r;
  d.output = s.output;
  d.activation = s.act;
  return conv_s8_test::random_s8_problem(d, s.in_extra, s.out_extra, seed, {.nonzero_weights = true});
}

// Zeroes weights: `sparsity` of the 4-along-K blocks (aligned groups of 4 input channels of one tap of one
// output channel, the channel tail a short block), of the 4x4 blocks (the same in 4 consecutive output
// channels), of the single weights, of the output channels, or of the input channels.
void prune(Problem& p, Pattern pattern, double sparsity, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const Conv2dS8Desc& d = p.desc;
  const int taps = d.kernel_h * d.kernel_w;
  auto at = [&](int o, int c, int t) -> int8_t& { return p.w[(static_cast<size_t>(o) * d.in_c + c) * taps + t]; };
  switch (pattern) {
    case Pattern::kBlock4:
      for (int o = 0; o < d.out_c; ++o)
        for (int t = 0; t < taps; ++t)
          for (int c0 = 0; c0 < d.in_c; c0 += 4)
            if (u(rng) < sparsity)
              for (int c = c0; c < c0 + 4 && c < d.in_c; ++c) at(o, c, t) = 0;
      break;
    case Pattern::kBlock4x4:  // the same 4-along-K blocks zeroed in 4 consecutive output channels
      for (int o0 = 0; o0 < d.out_c; o0 += 4)
        for (int t = 0; t < taps; ++t)
          for (int c0 = 0; c0 < d.in_c; c0 += 4)
            if (u(rng) < sparsity)
              for (int o = o0; o < o0 + 4 && o < d.out_c; ++o)
                for (int c = c0; c < c0 + 4 && c < d.in_c; ++c) at(o, c, t) = 0;
      break;
    case Pattern::kUnstructured:
      for (auto& v : p.w)
        if (u(rng) < sparsity) v = 0;
      break;
    case Pattern::kZeroOutChannels:
      for (int o = 0; o < d.out_c; ++o)
        if (u(rng) < sparsity)
          for (int c = 0; c < d.in_c; ++c)
            for (int t = 0; t < taps; ++t) at(o, c, t) = 0;
      break;
    case Pattern::kZeroInChannels:
      for (int c = 0; c < d.in_c; ++c)
        if (u(rng) < sparsity)
          for (int o = 0; o < d.out_c; ++o)
            for (int t = 0; t < taps; ++t) at(o, c, t) = 0;
      break;
  }
}

// Random shapes around the vector widths: channels not multiples of 4 or 16, kernels 1..5 (mostly 1 and 3),
// strides 1..2, dilation 1..2, asymmetric padding 0..2, pixel strides above the channel counts.
std::vector<Shape> random_shapes(int count, uint32_t seed) {
  std::mt19937 rng(seed);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)); };
  static const int kChannels[] = {1, 2, 3, 4, 5, 7, 8, 13, 16, 17, 24, 31, 32, 33, 48, 51, 64, 65, 70};
  constexpr int kNc = sizeof kChannels / sizeof kChannels[0];
  std::vector<Shape> out;
  while (static_cast<int>(out.size()) < count) {
    Shape s{};
    s.in_h = pick(1, 13), s.in_w = pick(1, 23);
    s.in_c = kChannels[rng() % kNc], s.out_c = kChannels[rng() % kNc];
    const int k = rng() % 4 == 0 ? pick(1, 5) : (rng() % 2 ? 3 : 1);
    s.kh = k, s.kw = rng() % 8 == 0 ? pick(1, 5) : k;
    s.stride_h = pick(1, 2), s.stride_w = rng() % 4 == 0 ? pick(1, 2) : s.stride_h;
    s.dil = rng() % 6 == 0 ? 2 : 1;
    s.pad_t = pick(0, 2), s.pad_l = pick(0, 2), s.pad_b = pick(0, 2), s.pad_r = pick(0, 2);
    s.in_extra = rng() % 2 ? pick(1, 9) : 0;
    s.out_extra = rng() % 2 ? pick(1, 9) : 0;
    s.output = rng() % 3 == 0 ? QuantOutput::kF32 : QuantOutput::kU8;
    s.act = rng() % 2 ? Activation::kSilu : Activation::kNone;
    if (s.in_h + s.pad_t + s.pad_b - s.dil * (s.kh - 1) - 1 < 0) continue;
    if (s.in_w + s.pad_l + s.pad_r - s.dil * (s.kw - 1) - 1 < 0) continue;
    out.push_back(s);
  }
  return out;
}

// The conv shapes of YOLO11n-pose and YOLOv8s-pose (channels, kernel, stride, pad, slices), spatially small.
std::vector<Shape> yolo_shapes() {
  const auto u8 = QuantOutput::kU8, f32 = QuantOutput::kF32;
  const auto silu = Activation::kSilu, none = Activation::kNone;
  return {
      {20, 20, 16, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, u8, silu},
      {18, 17, 64, 64, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, u8, silu},
      {12, 12, 48, 64, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, u8, silu},
      {11, 12, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1, 1, 64, 0, u8, silu},  // a slice of a 96-channel buffer
      {11, 12, 16, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, f32, silu},
      {10, 10, 64, 64, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 32, u8, silu},  // into a concat buffer
      {9, 10, 128, 256, 3, 3, 2, 2, 1, 1, 1, 1, 1, 256, 0, u8, silu},
      {6, 6, 512, 256, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, u8, silu},
      {6, 7, 256, 128, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, f32, none},
      {8, 8, 64, 51, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, u8, silu},
      {8, 8, 51, 51, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, u8, silu},
      {8, 8, 51, 51, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, f32, none},
      {8, 8, 64, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, f32, none},
      {5, 5, 1024, 512, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, u8, silu},  // YOLOv8s SPPF cv2
      {9, 9, 3, 16, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, f32, silu},     // the first layer (packed RGB)
      {66, 70, 64, 32, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0, u8, silu},   // packed input > 256 KiB: 2 bands
  };
}

struct Variant {
  Isa isa;
  SparseConvS8Options opt;
};

// The variants an ISA runs: its default (out_block chosen from the weights), then every out_block with
// every tile size that fits its registers; kScalar also with unit 2; then small bands (the large-input
// schedule: per-band packed segments, fused or two-phase with a pool).
std::vector<Variant> variants(Isa isa) {
  std::vector<Variant> v{{isa, {}}};
  const bool zmm = isa == Isa::kAvx512Vnni || isa == Isa::kAmx;
  const int lanes = zmm ? 16 : 8, max_acc = zmm ? 16 : (isa == Isa::kScalar ? 64 : 8);
  for (int block : {1, 2, 4})
    for (int m : {2, 4, 8})
      if (block * m <= max_acc) v.push_back({isa, {lanes * m, 0, block}});
  if (isa == Isa::kScalar) v.push_back({isa, {0, 2, 0}}), v.push_back({isa, {5, 2, 2}}), v.push_back({isa, {7, 4, 4}});
  // Bands: one tile each (band_bytes 1), a few tiles each, with every out_block.
  for (int block : {1, 2, 4}) v.push_back({isa, {0, 0, block, 1}}), v.push_back({isa, {0, 0, block, 3000}});
  return v;
}

void expect_bit_exact(const Problem& p, Isa isa, ThreadPool* pool, const std::string& what, bool all_variants) {
  auto ref = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
  const auto want = run_checked(*ref, p, nullptr);
  const auto vs = variants(isa);
  for (size_t vi = 0; vi < (all_variants ? vs.size() : 1); ++vi) {
    auto conv = create_sparse_conv2d_s8(p.desc, p.w.data(), p.bias.data(), vs[vi].isa, vs[vi].opt);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), pool}) {
      const auto got = run_checked(*conv, p, tp);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_EQ(got[i], want[i]) << conv->name() << " (tile " << vs[vi].opt.tile_pixels << ", unit " << vs[vi].opt.unit
                                   << ", out_block " << vs[vi].opt.out_block << ", band_bytes " << vs[vi].opt.band_bytes
                                   << ") differs at byte " << static_cast<int64_t>(i) - kGuard << ": " << what
                                   << (tp ? ", 2 threads" : "");
    }
  }
}

class SpConvS8Isa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam()))
      GTEST_SKIP() << "ISA " << isa_name(GetParam()) << " not supported by this CPU: sparse integer conv path not tested";
  }
};

TEST_P(SpConvS8Isa, RandomShapesAndSparsitiesBitExact) {
  const Isa isa = GetParam();
  ThreadPool pool(2);
  uint32_t seed = 100;
  int n = 0;
  for (const Shape& s : random_shapes(40, 7)) {
    for (Pattern pat : {Pattern::kBlock4, Pattern::kBlock4x4, Pattern::kUnstructured})
      for (double sp : {0.0, 0.5, 0.7, 0.9, 1.0}) {
        Problem p = make_problem(s, seed++);
        prune(p, pat, sp, seed * 3);
        expect_bit_exact(p, isa, &pool,
                         describe(s) + ", " + pattern_name(pat) + " " + std::to_string(static_cast<int>(sp * 100)) + "%",
                         /*all_variants=*/n++ % 6 == 0);
        if (HasFatalFailure()) return;
      }
  }
}

TEST_P(SpConvS8Isa, ZeroChannelsBitExact) {
  const Isa isa = GetParam();
  ThreadPool pool(2);
  uint32_t seed = 500;
  for (const Shape& s : random_shapes(24, 11))
    for (Pattern pat : {Pattern::kZeroOutChannels, Pattern::kZeroInChannels}) {
      Problem p = make_problem(s, seed++);
      prune(p, pat, 0.5, seed);
      prune(p, Pattern::kBlock4, 0.5, seed + 1);
      expect_bit_exact(p, isa, &pool, describe(s) + ", " + pattern_name(pat) + " + block4 50%", true);
      if (HasFatalFailure()) return;
    }
}

TEST_P(SpConvS8Isa, YoloShapesBitExact) {
  const Isa isa = GetParam();
  ThreadPool pool(2);
  uint32_t seed = 900;
  for (const Shape& s : yolo_shapes())
    for (double sp : {0.0, 0.7}) {
      Problem p = make_problem(s, seed++);
      prune(p, sp > 0 && seed % 2 ? Pattern::kBlock4x4 : Pattern::kBlock4, sp, seed);
      expect_bit_exact(p, isa, &pool, describe(s) + ", block4 " + std::to_string(static_cast<int>(sp * 100)) + "%",
                       true);
      if (HasFatalFailure()) return;
    }
  const Problem p = make_problem(yolo_shapes()[1], 1);
  std::printf("[          ] %s uses %s\n", std::string(isa_name(isa)).c_str(),
              std::string(create_sparse_conv2d_s8(p.desc, p.w.data(), nullptr, isa)->name()).c_str());
}

// SiLU over a dense range of pre-activations (through the clamp at +-88), float output, bit-exact.
TEST_P(SpConvS8Isa, SiluSweepBitExact) {
  Conv2dS8Desc d;
  d.in_h = 1, d.in_w = 256, d.in_c = 1, d.out_c = 40;
  d.input_zero_point = 128;
  d.output = QuantOutput::kF32;
  d.activation = Activation::kSilu;
  Problem p;
  p.desc = d;
  p.w.resize(40);
  p.bias.resize(40);
  for (int o = 0; o < 40; ++o) {
    p.w[o] = static_cast<int8_t>(o % 2 ? 127 : -128);
    p.bias[o] = (o - 20) * 977;
    p.desc.weight_scales.push_back(0.0001f * static_cast<float>(1 + o * o));
  }
  p.in.resize(256);
  for (int i = 0; i < 256; ++i) p.in[i] = static_cast<uint8_t>(i);
  p.ips = 1, p.ops = 40;
  ThreadPool pool(2);
  expect_bit_exact(p, GetParam(), &pool, "silu sweep", true);
}

// Rounding half to even: accumulators landing exactly on .5 output steps.
TEST_P(SpConvS8Isa, RoundsHalfToEven) {
  Conv2dS8Desc d;
  d.in_h = 1, d.in_w = 8, d.in_c = 1, d.out_c = 1;
  d.weight_scales = {1.0f};
  d.output_scale = 2.0f;
  d.output_zero_point = 10;
  const int8_t w = 1;
  const uint8_t in[8] = {1, 3, 5, 7, 0, 2, 4, 6};
  const uint8_t want[8] = {10, 12, 12, 14, 10, 11, 12, 13};  // 0.5->0, 1.5->2, 2.5->2, 3.5->4
  auto conv = create_sparse_conv2d_s8(d, &w, nullptr, GetParam());
  uint8_t out[8] = {};
  conv->run(in, 1, out, 1, nullptr);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(out[i], want[i]) << conv->name() << " at " << i;
}

// One kernel object run from two threads at once (its packed-input buffer is shared): both results right.
TEST_P(SpConvS8Isa, ConcurrentRunsOfOneObject) {
  Problem a = make_problem(yolo_shapes()[1], 77), b = make_problem(yolo_shapes()[1], 77);
  prune(a, Pattern::kBlock4, 0.6, 3);
  b.w = a.w;
  for (auto& v : b.in) v = static_cast<uint8_t>(255 - v);
  auto conv = create_sparse_conv2d_s8(a.desc, a.w.data(), a.bias.data(), GetParam());
  auto ref = create_conv2d_s8(a.desc, a.w.data(), a.bias.data(), Isa::kScalar);
  const auto want_a = run_checked(*ref, a, nullptr), want_b = run_checked(*ref, b, nullptr);
  std::vector<uint8_t> got_a, got_b;
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) got_a = run_checked(*conv, a, nullptr);
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) got_b = run_checked(*conv, b, nullptr);
  });
  ta.join();
  tb.join();
  EXPECT_EQ(got_a, want_a);
  EXPECT_EQ(got_b, want_b);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, SpConvS8Isa,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni,
                                           Isa::kAmx),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

TEST(SpConvS8, StatsCountUnits) {
  Conv2dS8Desc d;
  d.in_h = d.in_w = 4, d.in_c = 6, d.out_c = 2, d.kernel_h = d.kernel_w = 1;
  d.weight_scales = {1.0f, 1.0f};
  // o0: channels 0..5 = 1 0 0 0 | 0 0   o1: 0 0 0 0 | 0 3
  const int8_t w[12] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3};
  const SparseConvS8Stats s4 = sparse_conv2d_s8_stats(d, w, Isa::kScalar);  // unit 4: groups {0-3}, {4,5}
  EXPECT_EQ(s4.weights, 12);
  EXPECT_EQ(s4.zero_weights, 10);
  EXPECT_EQ(s4.units, 4);
  EXPECT_EQ(s4.nonzero_units, 2);
  EXPECT_DOUBLE_EQ(s4.unit_sparsity(), 0.5);
  if (isa_supported(Isa::kAvx2)) {
    const SparseConvS8Stats s2 = sparse_conv2d_s8_stats(d, w, Isa::kAvx2);  // unit 2: 3 pairs per channel
    EXPECT_EQ(s2.units, 6);
    EXPECT_EQ(s2.nonzero_units, 2);
  }
}

// The out_block chosen from the weights: 4x4 blocks -> groups of 4 channels (SIMD kernels); scattered
// 4-along-K blocks at 70 % -> single channels (a group would execute the union of its channels' units).
TEST(SpConvS8, ChoosesOutBlockFromTheWeights) {
  Problem p = make_problem({10, 10, 64, 64, 3, 3, 1, 1, 1, 1, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu}, 5);
  Problem q = p;
  prune(p, Pattern::kBlock4x4, 0.7, 1);
  prune(q, Pattern::kBlock4, 0.7, 1);
  for (Isa isa : supported_isas()) {
    const std::string a(create_sparse_conv2d_s8(p.desc, p.w.data(), nullptr, isa)->name());
    const std::string b(create_sparse_conv2d_s8(q.desc, q.w.data(), nullptr, isa)->name());
    if (isa != Isa::kScalar) {  // no register reuse to gain there: groups cost what their channels do
      EXPECT_NE(a.find(isa == Isa::kAvx2 || isa == Isa::kAvx512 ? "-b4x2-" : "-b4x4-"), std::string::npos) << a;
    }
    EXPECT_NE(b.find("-b1x"), std::string::npos) << b;
  }
}

TEST(SpConvS8, RejectsWhatItCannotRun) {
  Conv2dS8Desc d;
  d.in_h = d.in_w = 4, d.in_c = d.out_c = 8;
  d.kernel_h = d.kernel_w = 3;
  d.weight_scales.assign(8, 0.1f);
  std::vector<int8_t> w(8 * 8 * 9, 1);
  d.groups = 8;  // depthwise stays dense
  EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar), Error);
  d.groups = 4;
  EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar), Error);
  d.groups = 1;
  EXPECT_THROW(create_sparse_conv2d_s8(d, nullptr, nullptr, Isa::kScalar), Error);
  EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar, {0, 3}), Error);  // unit 3
  EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar, {200, 0}), Error);  // tile too large
  EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar, {0, 0, 3}), Error);  // out_block 3
  if (isa_supported(Isa::kAvx512Vnni)) {
    EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kAvx512Vnni, {24, 0}), Error);  // not 2/4/8 zmm
    EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kAvx512Vnni, {0, 2}), Error);  // VNNI is unit 4
    EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kAvx512Vnni, {128, 0, 4}), Error);  // 32 acc
  }
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx})
    if (!isa_supported(isa)) {
      EXPECT_THROW(create_sparse_conv2d_s8(d, w.data(), nullptr, isa), Error) << isa_name(isa);
    }
  auto conv = create_sparse_conv2d_s8(d, w.data(), nullptr, Isa::kScalar);
  std::vector<uint8_t> in(4 * 4 * 8), out(2 * 2 * 8);
  EXPECT_THROW(conv->run(in.data(), 7, out.data(), 8, nullptr), Error);  // pixel stride below in_c
  EXPECT_THROW(conv->run(nullptr, 8, out.data(), 8, nullptr), Error);
  EXPECT_NO_THROW(conv->run(in.data(), 8, out.data(), 8, nullptr));
}

}  // namespace
}  // namespace sp::kernels
