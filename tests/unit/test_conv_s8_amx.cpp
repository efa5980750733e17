// The AMX-INT8 convolution (core/kernels/conv_s8/conv_s8_amx_*) bit-exact against the scalar reference on
// random shapes: through the tile emulator on every machine (the same micro-kernel source the CPU build
// compiles), with the scalar helpers too, and on the CPU's own tiles where it has AMX (skipped visibly
// elsewhere). Shapes cover every kind of conv in the YOLO-pose models: 1x1 and 3x3, stride 1 and 2, the
// 3-channel first layer, 16/32/48 channels, 256+ channels, channel slices (pixel strides > channels).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/amx/amx_tiles.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/kernels/conv_s8/conv_s8_amx_internal.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_s8_test_problems.h"

namespace sp::kernels {
namespace {

using conv_s8_internal::AmxBackend;
using conv_s8_internal::create_conv2d_s8_amx;

struct Shape {
  int in_h, in_w, in_c, out_c, kh, kw, stride, dil, pad;
  int in_extra, out_extra;  // pixel strides: channels + extra
  QuantOutput output;
  Activation act;
};

std::string describe(const Shape& s) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%dx%dx%d -> %d, k%dx%d s%d d%d p%d, strides +%d/+%d, %s%s", s.in_h, s.in_w, s.in_c,
                s.out_c, s.kh, s.kw, s.stride, s.dil, s.pad, s.in_extra, s.out_extra,
                s.output == QuantOutput::kU8 ? "u8" : "f32", s.act == Activation::kSilu ? " silu" : "");
  return buf;
}

using Problem = conv_s8_test::S8Problem;

Problem make_problem(const Shape& s, uint32_t seed) {
  Conv2dS8Desc d;
  d.in_h = s.in_h, d.in_w = s.in_w, d.in_c = s.in_c, d.out_c = s.out_c;
  d.kernel_h = s.kh, d.kernel_w = s.kw, d.stride_h = d.stride_w = s.stride, d.dilation_h = d.dilation_w = s.dil;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = s.pad;
  d.output = s.output;
  d.activation = s.act;
  return conv_s8_test::random_s8_problem(d, s.in_extra, s.out_extra, seed);
}

constexpr uint8_t kCanary = 0x5A;

// Output bytes (pixel-stride padding included, so writes outside the out_c channels show as differences).
std::vector<uint8_t> run(const Conv2dS8& conv, const Problem& p, ThreadPool* pool) {
  const size_t elem = p.desc.output == QuantOutput::kU8 ? 1 : 4;
  std::vector<uint8_t> out(static_cast<size_t>(p.desc.out_h()) * p.desc.out_w() * p.ops * elem, kCanary);
  conv.run(p.in.data(), p.ips, out.data(), p.ops, pool);
  return out;
}

// Random shapes around the tile sizes, plus every conv shape of YOLO11n/YOLOv8n-pose in small.
std::vector<Shape> shapes() {
  std::vector<Shape> out = {
      {34, 46, 3, 16, 3, 3, 2, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu},      // first layer, packed RGB
      {20, 40, 16, 32, 3, 3, 2, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu},     // 16 -> 32 s2
      {18, 37, 32, 32, 3, 3, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu},     // 32 3x3 s1 (im2col)
      {17, 19, 48, 48, 3, 3, 1, 1, 1, 16, 0, QuantOutput::kU8, Activation::kSilu},    // 48 of a 64-wide buffer
      {20, 40, 64, 64, 3, 3, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu},     // direct tiles inside
      {21, 41, 64, 128, 3, 3, 2, 1, 1, 0, 32, QuantOutput::kU8, Activation::kSilu},   // direct, stride 2
      {10, 10, 256, 256, 3, 3, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu},   // deep 3x3
      {10, 10, 256, 64, 1, 1, 1, 1, 0, 0, 0, QuantOutput::kU8, Activation::kSilu},    // 1x1 linear
      {12, 13, 32, 64, 1, 1, 1, 1, 0, 0, 0, QuantOutput::kU8, Activation::kSilu},     // 1x1, K over-read
      {12, 13, 32, 64, 1, 1, 1, 1, 0, 32, 0, QuantOutput::kU8, Activation::kSilu},    // 1x1 on a slice: gathered
      {9, 9, 384, 65, 1, 1, 1, 1, 0, 0, 0, QuantOutput::kF32, Activation::kNone},     // 1x1 to float (head)
      {11, 11, 64, 51, 1, 1, 1, 1, 0, 0, 0, QuantOutput::kF32, Activation::kNone},    // 17 x 3 keypoint branch
      {10, 12, 80, 64, 3, 3, 1, 1, 1, 0, 0, QuantOutput::kF32, Activation::kSilu},    // 80 channels: im2col
      {16, 16, 128, 256, 1, 1, 2, 1, 0, 0, 0, QuantOutput::kU8, Activation::kNone},   // 1x1 stride 2
      {13, 15, 64, 16, 5, 5, 1, 1, 2, 0, 0, QuantOutput::kU8, Activation::kSilu},     // 5x5 (SPPF-like size)
      {15, 20, 64, 17, 3, 3, 1, 2, 2, 0, 3, QuantOutput::kU8, Activation::kNone},     // dilation 2
      {4, 4, 2, 3, 3, 3, 1, 1, 2, 1, 1, QuantOutput::kU8, Activation::kSilu},         // whole taps padded
  };
  std::mt19937 rng(77);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)); };
  static const int kInC[] = {1, 3, 5, 8, 16, 17, 31, 32, 48, 63, 64, 65, 96, 128, 130};
  static const int kOutC[] = {1, 7, 16, 17, 32, 33, 48, 64, 70, 96};
  while (out.size() < 45) {
    Shape s{};
    s.in_h = pick(1, 18), s.in_w = pick(1, 36);
    s.in_c = kInC[rng() % (sizeof kInC / sizeof kInC[0])];
    s.out_c = kOutC[rng() % (sizeof kOutC / sizeof kOutC[0])];
    s.kh = s.kw = rng() % 3 == 0 ? 1 : 3;
    if (rng() % 5 == 0) s.kw = pick(1, 4);  // non-square
    s.stride = pick(1, 2), s.dil = rng() % 4 == 0 ? 2 : 1, s.pad = pick(0, 2);
    s.in_extra = rng() % 3 == 0 ? pick(1, 9) : 0;
    s.out_extra = rng() % 3 == 0 ? pick(1, 9) : 0;
    s.output = rng() % 3 == 0 ? QuantOutput::kF32 : QuantOutput::kU8;
    s.act = rng() % 2 ? Activation::kSilu : Activation::kNone;
    if (s.in_h + 2 * s.pad - s.dil * (s.kh - 1) - 1 < 0 || s.in_w + 2 * s.pad - s.dil * (s.kw - 1) - 1 < 0) continue;
    out.push_back(s);
  }
  return out;
}

// Every shape through `make(desc, w, bias)`, bit-exact against the scalar reference, alone and on a
// 2-thread pool. Returns the number of shapes whose kernel took the im2col layout.
template <typename Make>
int expect_bit_exact(Make make, const std::string& suffix) {
  ThreadPool pool(2);
  uint32_t seed = 4000;
  int im2col = 0;
  for (const Shape& s : shapes()) {
    SCOPED_TRACE(describe(s));
    Problem p = make_problem(s, seed++);
    auto ref = create_conv2d_s8(p.desc, p.w.data(), p.bias.data(), Isa::kScalar);
    auto conv = make(p.desc, p.w.data(), p.bias.data());
    const std::string name(conv->name());
    EXPECT_EQ(name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0, true)
        << name << " should end with " << suffix;
    im2col += name.find("-im2col") != std::string::npos;
    const auto want = run(*ref, p, nullptr);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      const auto got = run(*conv, p, tp);
      for (size_t i = 0; i < want.size(); ++i)
        if (got[i] != want[i]) {
          ADD_FAILURE() << name << " differs at output byte " << i << (tp ? " (2 threads)" : "");
          return im2col;
        }
    }
  }
  return im2col;
}

TEST(ConvS8Amx, EmulatedBitExactAgainstScalar) {
  if (!isa_supported(Isa::kAvx512Vnni))
    GTEST_SKIP() << "no AVX-512 VNNI: the emulated kernel's SIMD gather/epilogue cannot run (the scalar-helper test covers it)";
  const int im2col = expect_bit_exact(
      [](const Conv2dS8Desc& d, const int8_t* w, const int32_t* b) {
        return create_conv2d_s8_amx(d, w, b, AmxBackend::kEmulated);
      },
      "-amx-emu");
  EXPECT_GT(im2col, 5) << "the im2col K layout was hardly exercised";
  EXPECT_LT(im2col, static_cast<int>(shapes().size()) - 5) << "the direct K layout was hardly exercised";
}

TEST(ConvS8Amx, EmulatedWithScalarHelpersBitExactAgainstScalar) {
  expect_bit_exact(
      [](const Conv2dS8Desc& d, const int8_t* w, const int32_t* b) {
        return create_conv2d_s8_amx(d, w, b, AmxBackend::kEmulated, /*simd_helpers=*/false);
      },
      "-amx-emu");
}

TEST(ConvS8Amx, HardwareBitExactAgainstScalar) {
  if (!amx_hardware_usable())
    GTEST_SKIP() << "this CPU has no usable AMX (absent, or not granted by Linux): the hardware AMX-INT8 kernel is "
                    "not tested here, only its emulated build";
  expect_bit_exact(
      [](const Conv2dS8Desc& d, const int8_t* w, const int32_t* b) {
        return create_conv2d_s8_amx(d, w, b, AmxBackend::kHardware);
      },
      "-amx");
}

TEST(ConvS8Amx, TileConfigurationLoadedOncePerThread) {
  Problem p = make_problem({12, 20, 64, 32, 3, 3, 1, 1, 1, 0, 0, QuantOutput::kU8, Activation::kSilu}, 7);
  auto conv = create_conv2d_s8_amx(p.desc, p.w.data(), p.bias.data(), AmxBackend::kEmulated, false);
  run(*conv, p, nullptr);  // this thread's first use configures its tiles (if nothing did before)
  const int64_t loads = amx::tile_config_loads_emulated();
  for (int i = 0; i < 5; ++i) run(*conv, p, nullptr);
  EXPECT_EQ(amx::tile_config_loads_emulated(), loads) << "ldtilecfg again although the configuration was loaded";
}

TEST(ConvS8Amx, DispatchAndRejections) {
  Conv2dS8Desc d;
  d.in_h = d.in_w = 6, d.in_c = d.out_c = 8;
  d.kernel_h = d.kernel_w = 3;
  d.weight_scales.assign(8, 0.1f);
  std::vector<int8_t> w(8 * 8 * 9, 1);
  d.groups = 8;  // depthwise: not an AMX kernel
  EXPECT_THROW(create_conv2d_s8_amx(d, w.data(), nullptr, AmxBackend::kEmulated), Error);
  if (isa_supported(Isa::kAmx)) {
    // Through the public entry point: dense -> AMX, depthwise stays on AVX-512 and says so.
    EXPECT_NE(std::string(create_conv2d_s8(d, w.data(), nullptr, Isa::kAmx)->name()).find("-avx512"), std::string::npos);
    d.groups = 1;
    const std::string dense(create_conv2d_s8(d, w.data(), nullptr, Isa::kAmx)->name());
    EXPECT_NE(dense.find("-amx"), std::string::npos) << dense;
  } else {
    d.groups = 1;
    EXPECT_THROW(create_conv2d_s8(d, w.data(), nullptr, Isa::kAmx), Error);
  }
  if (!amx_hardware_usable()) {
    d.groups = 1;
    EXPECT_THROW(create_conv2d_s8_amx(d, w.data(), nullptr, AmxBackend::kHardware), Error);
  }
}

}  // namespace
}  // namespace sp::kernels
