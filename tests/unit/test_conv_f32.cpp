// Float convolution: the scalar reference against a textbook convolution, and every ISA's kernels against
// the scalar reference, on random shapes (channel counts off the vector width, kernel 1/3/5, strides,
// dilation, asymmetric padding, groups, every activation, residuals, strided channel slices).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/activation.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_test_problems.h"

namespace sp::kernels {
namespace {

using namespace conv_test;  // Slice, ConvProblem, ConvData, run_conv, ... (conv_test_problems.h)

// The textbook definition, in double, indexing the ONNX OIHW weights directly.
void naive_conv(const Conv2dDesc& d, const float* w, const float* bias, const ConvIO& io) {
  const int oh_n = d.out_h(), ow_n = d.out_w();
  const int icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
  for (int g = 0; g < d.groups; ++g)
    for (int oc = g * ocg; oc < (g + 1) * ocg; ++oc)
      for (int oh = 0; oh < oh_n; ++oh)
        for (int ow = 0; ow < ow_n; ++ow) {
          double sum = bias ? bias[oc] : 0.0;
          for (int i = 0; i < icg; ++i)
            for (int ky = 0; ky < d.kernel_h; ++ky)
              for (int kx = 0; kx < d.kernel_w; ++kx) {
                const int iy = oh * d.stride_h - d.pad_top + ky * d.dilation_h;
                const int ix = ow * d.stride_w - d.pad_left + kx * d.dilation_w;
                if (iy < 0 || iy >= d.in_h || ix < 0 || ix >= d.in_w) continue;
                const double x = io.input[(static_cast<int64_t>(iy) * d.in_w + ix) * io.in_pixel_stride + g * icg + i];
                sum += x * w[((static_cast<int64_t>(oc) * icg + i) * d.kernel_h + ky) * d.kernel_w + kx];
              }
          const int64_t p = static_cast<int64_t>(oh) * ow_n + ow;
          float v = act_ref(d.activation, sum);
          if (io.residual) v += io.residual[p * io.residual_pixel_stride + oc];
          io.output[p * io.out_pixel_stride + oc] = v;
        }
}

struct Case : ConvProblem {
  std::string label() const {
    const Conv2dDesc& d = desc;
    char buf[256];
    std::snprintf(
        buf, sizeof buf, "in %dx%dx%d out_c %d k%dx%d s%dx%d d%dx%d pad %d,%d,%d,%d g%d act %s bias %d res %d", d.in_c,
        d.in_h, d.in_w, d.out_c, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h, d.dilation_w, d.pad_top,
        d.pad_left, d.pad_bottom, d.pad_right, d.groups, activation_name(d.activation), has_bias ? 1 : 0, residual);
    return buf;
  }
};

Slice run_naive(const Case& c, const ConvData& data) {
  const Conv2dDesc& d = c.desc;
  const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  Slice out = make_slice(pixels, d.out_c, c.out_extra, c.out_offset, kCanary);
  ConvIO io = conv_io(data, out);
  if (c.residual) {
    io.residual = data.residual.data();
    io.residual_pixel_stride = data.residual.pixel_stride;
  }
  naive_conv(d, data.weights.data(), c.has_bias ? data.bias.data() : nullptr, io);
  return out;
}

// Compares the output slices; returns the number of mismatches (reports the first few).
int compare(const Slice& got, const Slice& want, const Case& c, const std::string& what, float tol) {
  const Conv2dDesc& d = c.desc;
  const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  int bad = 0;
  for (int64_t p = 0; p < pixels; ++p)
    for (int ch = 0; ch < d.out_c; ++ch) {
      const float g = got.data()[p * got.pixel_stride + ch], w = want.data()[p * want.pixel_stride + ch];
      if (!(std::fabs(g - w) <= tol + tol * std::fabs(w))) {
        if (++bad <= 3)
          ADD_FAILURE() << what << ": pixel " << p << " channel " << ch << " got " << g << " want " << w << " ("
                        << c.label() << ")";
      }
    }
  return bad;
}

Case random_case(std::mt19937& rng) {
  static constexpr RandomShapeLimits kLimits = {
      .max_dense_kind = 5, .max_depthwise_kind = 7, .small_in_c = 4, .max_in_c = 70, .max_out_c = 80,
      .max_depthwise_channels = 40, .max_groups = 5, .max_group_out_c = 20, .max_size = 17};
  Case c;
  c.desc = random_desc(rng, kLimits);
  random_layout(rng, c);
  return c;
}

// Shapes of YOLO11n-pose, shrunk spatially so the test stays fast.
std::vector<Case> model_cases() {
  std::vector<Case> cases;
  auto add = [&](int ic, int hw, int oc, int k, int s, int groups, Activation act, int residual) {
    Case c;
    Conv2dDesc& d = c.desc;
    d.in_c = ic;
    d.in_h = hw;
    d.in_w = hw + 3;
    d.out_c = oc;
    d.kernel_h = d.kernel_w = k;
    d.stride_h = d.stride_w = s;
    d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = k / 2;
    d.groups = groups;
    d.activation = act;
    c.residual = residual;
    cases.push_back(c);
  };
  add(3, 24, 16, 3, 2, 1, Activation::kSilu, 0);      // first layer
  add(16, 16, 32, 3, 2, 1, Activation::kSilu, 0);     // 3x3 s2
  add(64, 12, 64, 3, 1, 1, Activation::kSilu, 2);     // bottleneck with shortcut, in place
  add(64, 12, 51, 3, 1, 1, Activation::kSilu, 0);     // keypoint head
  add(51, 10, 51, 1, 1, 1, Activation::kNone, 0);     // head 1x1, no activation
  add(96, 10, 128, 1, 1, 1, Activation::kSilu, 0);    // 1x1 expand
  add(256, 5, 64, 1, 1, 1, Activation::kSilu, 1);     // 1x1 reduce
  add(64, 9, 1, 1, 1, 1, Activation::kNone, 0);       // 1 output channel
  add(16, 12, 8, 3, 1, 1, Activation::kSilu, 0);      // 8 output channels
  add(128, 9, 128, 3, 1, 128, Activation::kSilu, 0);  // depthwise
  add(64, 13, 64, 3, 1, 64, Activation::kNone, 1);    // depthwise + residual
  add(32, 7, 32, 5, 1, 1, Activation::kSigmoid, 0);   // 5x5
  add(128, 9, 256, 3, 2, 1, Activation::kSilu, 0);    // wide output, stride 2
  return cases;
}

// The float ISAs this CPU runs; the first call prints a visible skip line for each one it lacks.
const std::vector<Isa>& float_isas() {
  static const std::vector<Isa> isas = runnable_isas("conv_f32", {Isa::kScalar, Isa::kAvx2, Isa::kAvx512});
  return isas;
}

void check_case(const Case& c, std::mt19937& rng, ThreadPool* pool) {
  const ConvData data = random_data(c, rng);
  const float* bias = c.has_bias ? data.bias.data() : nullptr;
  // The scalar reference against the textbook definition.
  auto ref_conv = create_conv2d_f32(c.desc, data.weights.data(), bias, Isa::kScalar);
  const Slice ref = run_conv(*ref_conv, c, data, nullptr);
  const Slice naive = run_naive(c, data);
  ASSERT_EQ(compare(ref, naive, c, "scalar vs naive", 1e-4f), 0);
  for (Isa isa : float_isas()) {
    if (isa == Isa::kScalar) continue;
    auto conv = create_conv2d_f32(c.desc, data.weights.data(), bias, isa);
    ASSERT_FALSE(conv->name().empty());
    const Slice got = run_conv(*conv, c, data, nullptr);
    ASSERT_EQ(compare(got, ref, c, std::string(conv->name()), 1e-4f), 0);
    if (pool) {
      const Slice got_mt = run_conv(*conv, c, data, pool);
      ASSERT_EQ(compare(got_mt, ref, c, std::string(conv->name()) + " (2 threads)", 1e-4f), 0);
    }
  }
}

TEST(ConvF32, ModelShapes) {
  std::mt19937 rng(1234);
  ThreadPool pool(2);
  for (const Case& c : model_cases()) {
    SCOPED_TRACE(c.label());
    check_case(c, rng, &pool);
    if (HasFatalFailure()) return;
  }
}

TEST(ConvF32, RandomShapes) {
  std::mt19937 rng(42);
  ThreadPool pool(3);
  for (int i = 0; i < 150; ++i) {
    const Case c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.label());
    check_case(c, rng, i % 4 == 0 ? &pool : nullptr);
    if (HasFatalFailure()) return;
  }
}

// The vectorised sigmoid / SiLU: accurate over the whole range, finite far into the tails, and sigmoid of
// +-inf is 1 / 0 rather than NaN.
TEST(ConvF32, ActivationAccuracy) {
  std::vector<float> values = {-1000.0f, -150.0f, -88.5f, -87.5f, -87.0f, -1e-3f, -0.0f,  0.0f,
                               1e-3f,    87.5f,   89.0f,  200.0f, 1e4f,   1e-30f, -1e-30f};
  for (float x = -95.0f; x <= 95.0f; x += 0.173f) values.push_back(x);
  const int n = static_cast<int>(values.size());
  for (Activation act : {Activation::kNone, Activation::kRelu, Activation::kSigmoid, Activation::kSilu}) {
    std::vector<float> inputs = values;
    if (act == Activation::kSigmoid) {
      inputs.push_back(std::numeric_limits<float>::infinity());
      inputs.push_back(-std::numeric_limits<float>::infinity());
    }
    const int count = static_cast<int>(inputs.size());
    // A 1x1 convolution with weight 1 over one channel passes each value through the activation.
    Conv2dDesc d;
    d.in_h = 1;
    d.in_w = count;
    d.in_c = 1;
    d.out_c = 1;
    d.activation = act;
    const float w = 1.0f;
    for (Isa isa : float_isas()) {
      auto conv = create_conv2d_f32(d, &w, nullptr, isa);
      std::vector<float> out(count, kCanary);
      ConvIO io;
      io.input = inputs.data();
      io.in_pixel_stride = 1;
      io.output = out.data();
      io.out_pixel_stride = 1;
      conv->run(io, nullptr);
      int bad = 0;
      for (int i = 0; i < count; ++i) {
        const float want = i < n ? act_ref(act, inputs[i]) : (inputs[i] > 0 ? 1.0f : 0.0f);
        const bool ok = std::isfinite(out[i]) && std::fabs(out[i] - want) <= 1e-6f * (1.0f + std::fabs(want));
        if (!ok && ++bad <= 5)
          ADD_FAILURE() << conv->name() << " " << activation_name(act) << "(" << inputs[i] << ") = " << out[i]
                        << ", want " << want;
      }
    }
  }
}

TEST(ConvF32, RejectsBadDescriptors) {
  const std::vector<float> w(1024, 0.0f);
  Conv2dDesc d;
  d.in_h = d.in_w = 4;
  d.in_c = 6;
  d.out_c = 4;
  d.groups = 4;  // 6 input channels do not split into 4 groups
  EXPECT_THROW(create_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  d.groups = 1;
  d.kernel_h = d.kernel_w = 7;  // larger than the unpadded input
  EXPECT_THROW(create_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = 0;
  EXPECT_THROW(create_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  d.stride_h = 1;
  d.pad_top = -1;
  EXPECT_THROW(create_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  d.pad_top = 1;
  // A pixel stride below the channel count is rejected at run time, on every path.
  std::vector<float> in(4 * 4 * 8, 0.0f), out(4 * 4 * 8, 0.0f);
  for (Isa isa : float_isas()) {
    auto conv = create_conv2d_f32(d, w.data(), nullptr, isa);
    ConvIO io;
    io.input = in.data();
    io.in_pixel_stride = 5;  // < 6 input channels
    io.output = out.data();
    io.out_pixel_stride = 4;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
    io.in_pixel_stride = 6;
    EXPECT_NO_THROW(conv->run(io, nullptr)) << conv->name();
  }
}

TEST(ConvF32, ActivationNames) {
  EXPECT_STREQ(activation_name(Activation::kNone), "none");
  EXPECT_STREQ(activation_name(Activation::kRelu), "relu");
  EXPECT_STREQ(activation_name(Activation::kSigmoid), "sigmoid");
  EXPECT_STREQ(activation_name(Activation::kSilu), "silu");
}

}  // namespace
}  // namespace sp::kernels
