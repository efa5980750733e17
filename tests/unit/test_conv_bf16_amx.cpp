// The AMX-BF16 convolution (core/kernels/conv_bf16/conv_bf16_amx_*) against the bf16 family's scalar
// reference run with the tdpbf16ps model of this kernel's reduction (kTdpbf16psAmxModel: the SDM's
// separate even/odd sums per 16 pairs, steps per tap): bit for bit where the epilogue is exact (no
// activation, ReLU, residual), within 2e-6 for the vector sigmoid/SiLU and then bit for bit without them.
// Through the tile emulator on every AVX-512 machine (the same micro-kernel source the CPU build
// compiles) and on the CPU's own tiles where it has AMX (skipped visibly elsewhere).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/kernels/conv_bf16/conv_bf16_amx_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace {

using conv_bf16_internal::AmxBf16Backend;
using conv_bf16_internal::create_conv2d_bf16_amx;
using conv_bf16_internal::create_conv2d_bf16_reference;
using conv_bf16_internal::kTdpbf16psAmxModel;

uint32_t bits(float x) {
  uint32_t u;
  std::memcpy(&u, &x, 4);
  return u;
}

struct Case {
  Conv2dDesc d;
  bool bias = true;
  int residual = 0;  // 0 none, 1 separate, 2 in place
  int in_extra = 0, out_extra = 0;
};

std::string label(const Case& c) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "%dx%dx%d -> %d k%dx%d s%d d%d pad %d act %s bias %d res %d strides +%d/+%d", c.d.in_h,
                c.d.in_w, c.d.in_c, c.d.out_c, c.d.kernel_h, c.d.kernel_w, c.d.stride_h, c.d.dilation_h, c.d.pad_top,
                activation_name(c.d.activation), c.bias ? 1 : 0, c.residual, c.in_extra, c.out_extra);
  return buf;
}

struct Data {
  std::vector<float> w, b, in, res;
  int64_t ips = 0, ops = 0;
};

// `special`: a share of the values denormal, tiny (products below fp32's normal range), huge or infinite.
Data make_data(const Case& c, std::mt19937& rng, bool special) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  auto value = [&]() {
    if (special) {
      switch (rng() % 12) {
        case 0: return std::ldexp(u(rng), -130);  // denormal
        case 1: return std::ldexp(u(rng), -70);   // products near 2^-140
        case 2: return std::ldexp(u(rng), 60);
        case 3: return rng() % 2 ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
        case 4: return 0.0f;
        case 5: return -0.0f;
        default: break;
      }
    }
    return u(rng);
  };
  Data d;
  d.w.resize(static_cast<size_t>(c.d.out_c) * c.d.in_c * c.d.kernel_h * c.d.kernel_w);
  for (float& v : d.w) v = special && rng() % 5 == 0 ? std::ldexp(u(rng), -70) : u(rng);
  if (c.bias) {
    d.b.resize(static_cast<size_t>(c.d.out_c));
    for (float& v : d.b) v = special && rng() % 4 == 0 ? std::ldexp(u(rng), -128) : u(rng);
  }
  d.ips = c.d.in_c + c.in_extra;
  d.ops = c.d.out_c + c.out_extra;
  d.in.resize(static_cast<size_t>(c.d.in_h) * c.d.in_w * d.ips);
  for (float& v : d.in) v = value();
  if (c.residual) {
    d.res.resize(static_cast<size_t>(c.d.out_h()) * c.d.out_w() * d.ops);
    for (float& v : d.res) v = u(rng);
  }
  return d;
}

std::vector<float> run(const Conv2dF32& conv, const Case& c, const Data& d, ThreadPool* pool) {
  std::vector<float> out(static_cast<size_t>(c.d.out_h()) * c.d.out_w() * d.ops, -7.25f);
  ConvIO io;
  io.input = d.in.data();
  io.in_pixel_stride = d.ips;
  io.output = out.data();
  io.out_pixel_stride = d.ops;
  if (c.residual == 1) {
    io.residual = d.res.data();
    io.residual_pixel_stride = d.ops;
  } else if (c.residual == 2) {
    out = d.res;
    io.residual = out.data();
    io.residual_pixel_stride = d.ops;
  }
  conv.run(io, pool);
  return out;
}

// Bit-exact, or within tol relative (the vector sigmoid against libm's); NaN matches NaN.
int compare(const std::vector<float>& got, const std::vector<float>& want, float tol, const std::string& what) {
  int bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const float g = got[i], w = want[i];
    const bool ok = bits(g) == bits(w) || (std::isnan(g) && std::isnan(w)) ||
                    (tol == 0.0f ? bits(g) == bits(w) : std::fabs(g - w) <= tol * (1.0f + std::fabs(w)));
    if (!ok && ++bad <= 3) ADD_FAILURE() << what << ": element " << i << " " << g << " vs reference " << w;
  }
  return bad;
}

std::vector<Case> cases() {
  std::vector<Case> out;
  auto add = [&](int ic, int h, int w, int oc, int k, int s, Activation act, int residual, int in_extra, int out_extra) {
    Case c;
    c.d.in_h = h, c.d.in_w = w, c.d.in_c = ic, c.d.out_c = oc;
    c.d.kernel_h = c.d.kernel_w = k, c.d.stride_h = c.d.stride_w = s;
    c.d.pad_top = c.d.pad_left = c.d.pad_bottom = c.d.pad_right = k / 2;
    c.d.activation = act;
    c.residual = residual, c.in_extra = in_extra, c.out_extra = out_extra;
    out.push_back(c);
  };
  // Layer shapes of YOLO11n-pose kept out of int8 (spatially shrunk) and around the tile sizes.
  add(16, 20, 40, 32, 3, 2, Activation::kSilu, 0, 0, 0);   // /model.1
  add(32, 12, 20, 32, 1, 1, Activation::kSilu, 0, 0, 48);  // C3k2 cv1 into a concat slice
  add(16, 12, 19, 16, 3, 1, Activation::kSilu, 2, 16, 0);  // bottleneck on a split slice, shortcut in place
  add(64, 10, 36, 128, 3, 2, Activation::kSilu, 0, 0, 0);  // /model.5
  add(128, 6, 7, 128, 1, 1, Activation::kRelu, 1, 0, 0);   // 1x1 with a residual
  add(64, 8, 9, 51, 3, 1, Activation::kNone, 0, 0, 0);     // keypoint branch
  add(51, 8, 8, 51, 1, 1, Activation::kNone, 0, 0, 3);     // odd channels both ways
  add(3, 16, 18, 16, 3, 2, Activation::kSilu, 0, 0, 0);    // 3 input channels
  add(256, 4, 5, 96, 1, 1, Activation::kSigmoid, 0, 0, 0);
  add(33, 7, 40, 40, 3, 1, Activation::kRelu, 1, 5, 3);
  add(8, 9, 33, 8, 5, 1, Activation::kNone, 0, 1, 1);      // 5x5
  std::mt19937 rng(99);
  auto pick = [&](int lo, int hi) { return lo + static_cast<int>(rng() % static_cast<uint32_t>(hi - lo + 1)); };
  static const int kC[] = {1, 2, 7, 16, 31, 32, 33, 48, 64, 65};
  while (out.size() < 26) {
    Case c;
    c.d.in_h = pick(1, 10), c.d.in_w = pick(1, 26);
    c.d.in_c = kC[rng() % 10], c.d.out_c = kC[rng() % 10];
    c.d.kernel_h = pick(1, 3), c.d.kernel_w = pick(1, 3);
    c.d.stride_h = pick(1, 2), c.d.stride_w = pick(1, 2);
    c.d.dilation_h = c.d.dilation_w = rng() % 4 == 0 ? 2 : 1;
    c.d.pad_top = pick(0, 2), c.d.pad_left = pick(0, 2), c.d.pad_bottom = pick(0, 2), c.d.pad_right = pick(0, 2);
    static const Activation kAct[] = {Activation::kNone, Activation::kRelu, Activation::kSigmoid, Activation::kSilu};
    c.d.activation = kAct[rng() % 4];
    c.bias = rng() % 4 != 0;
    c.residual = static_cast<int>(rng() % 3);
    c.in_extra = rng() % 3 == 0 ? pick(1, 7) : 0;
    c.out_extra = rng() % 3 == 0 ? pick(1, 7) : 0;
    if (c.d.out_h() <= 0 || c.d.out_w() <= 0) continue;
    out.push_back(c);
  }
  return out;
}

void check(AmxBf16Backend backend, const std::string& suffix, bool special) {
  ThreadPool pool(2);
  std::mt19937 rng(special ? 7 : 3);
  for (const Case& c : cases()) {
    SCOPED_TRACE(label(c));
    const Data d = make_data(c, rng, special);
    const float* bias = c.bias ? d.b.data() : nullptr;
    auto conv = create_conv2d_bf16_amx(c.d, d.w.data(), bias, backend);
    const std::string name(conv->name());
    ASSERT_EQ(name.compare(name.size() - suffix.size(), suffix.size(), suffix), 0) << name;
    const bool approx = c.d.activation == Activation::kSigmoid || c.d.activation == Activation::kSilu;
    auto ref = create_conv2d_bf16_reference(c.d, d.w.data(), bias, kTdpbf16psAmxModel);
    const auto want = run(*ref, c, d, nullptr);
    // With infinities about, the vector sigmoid and libm's part ways (silu(-inf): -inf * ~0 vs NaN):
    // the activation is then only checked through the exact linear run below.
    if (!(approx && special)) {
      for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
        ASSERT_EQ(compare(run(*conv, c, d, tp), want, approx ? 2e-6f : 0.0f, name + (tp ? " (2 threads)" : "")), 0);
      }
    }
    if (approx) {
      Case linear = c;
      linear.d.activation = Activation::kNone;
      auto ref_linear = create_conv2d_bf16_reference(linear.d, d.w.data(), bias, kTdpbf16psAmxModel);
      auto conv_linear = create_conv2d_bf16_amx(linear.d, d.w.data(), bias, backend);
      ASSERT_EQ(compare(run(*conv_linear, linear, d, nullptr), run(*ref_linear, linear, d, nullptr), 0.0f, name + " linear"), 0);
    }
  }
}

TEST(ConvBf16Amx, EmulatedMatchesTheTdpbf16psReference) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512: the AMX-BF16 kernel's epilogue cannot run here";
  check(AmxBf16Backend::kEmulated, "-bf16-amx-emu", false);
}

// Denormals (DAZ), products below fp32's normal range, flushed results (FTZ), infinities, signed zeros:
// the emulator's arithmetic and the reference's model are two independent implementations of the SDM.
TEST(ConvBf16Amx, EmulatedMatchesTheReferenceOnSpecialValues) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512: the AMX-BF16 kernel's epilogue cannot run here";
  check(AmxBf16Backend::kEmulated, "-bf16-amx-emu", true);
}

TEST(ConvBf16Amx, HardwareMatchesTheTdpbf16psReference) {
  if (!amx_hardware_usable())
    GTEST_SKIP() << "this CPU has no usable AMX (absent, or not granted by Linux): the hardware AMX-BF16 kernel is "
                    "not tested here, only its emulated build";
  check(AmxBf16Backend::kHardware, "-bf16-amx", false);
  check(AmxBf16Backend::kHardware, "-bf16-amx", true);
}

// The AMX reduction is not vdpbf16ps's: the reference with the AVX-512 model must disagree somewhere on
// a deep 1x1 layer (else the test above could not tell the two orders apart).
TEST(ConvBf16Amx, DiffersFromTheVdpbf16psOrder) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512: the AMX-BF16 kernel's epilogue cannot run here";
  Case c;
  c.d.in_h = 4, c.d.in_w = 8, c.d.in_c = 256, c.d.out_c = 32;
  std::mt19937 rng(1);
  const Data d = make_data(c, rng, false);
  auto amx = create_conv2d_bf16_amx(c.d, d.w.data(), d.b.data(), AmxBf16Backend::kEmulated);
  auto vdp = create_conv2d_bf16_reference(c.d, d.w.data(), d.b.data(), conv_bf16_internal::kVdpbf16psModel);
  const auto a = run(*amx, c, d, nullptr), v = run(*vdp, c, d, nullptr);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += bits(a[i]) != bits(v[i]);
  EXPECT_GT(differ, 0);
}

TEST(ConvBf16Amx, Rejections) {
  Conv2dDesc d;
  d.in_h = d.in_w = 4, d.in_c = d.out_c = 8, d.groups = 2;
  std::vector<float> w(32, 0.5f);
  EXPECT_THROW(create_conv2d_bf16_amx(d, w.data(), nullptr, AmxBf16Backend::kEmulated), Error);
  if (!amx_hardware_usable()) {
    d.groups = 1;
    std::vector<float> w1(64, 0.5f);
    EXPECT_THROW(create_conv2d_bf16_amx(d, w1.data(), nullptr, AmxBf16Backend::kHardware), Error);
  }
}

}  // namespace
}  // namespace sp::kernels
