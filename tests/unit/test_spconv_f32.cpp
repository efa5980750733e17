// Sparse float convolution: every ISA's kernels (and every output-channel group size they offer) against the
// scalar sparse reference, and the scalar sparse reference against the dense scalar convolution, on the
// YOLO-pose shapes and random shapes, at 0/50/70/90 % unstructured sparsity, block patterns, all-zero
// output channels (rows), all-zero input columns, fully zero weights, strided channel slices, residuals
// (separate and in place), and thread pools.
//
// Tolerance: two implementations sum the same products in different orders. Each computed sum is within
// gamma_n * S of the exact one (n terms, S = bias + sum |x * w|, gamma_n = n u / (1 - n u), u = 2^-24), so
// they differ by at most 2 gamma_n S before the activation, whose slope is at most 1.1 (SiLU); the
// vectorised sigmoid adds <= 1e-6 relative error (conv_f32's ActivationAccuracy test), the residual add
// one rounding. Hence |got - want| <= 1.1 * 2 gamma_n S + 2e-6 (|want| + |residual|) + 1e-30, per output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/activation.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/spconv_f32/spconv_f32.h"
#include "core/thread_pool.h"
#include "tests/unit/conv_test_problems.h"

namespace sp::kernels {
namespace {

using namespace conv_test;  // Slice, ConvProblem, ConvData, run_conv, ... (conv_test_problems.h)

// How the zeros are laid out.
enum class Pattern { kUnstructured, kOc4, kOc8, kOc16, kK4, kZeroRows, kZeroColumns, kAllZero };

const char* pattern_name(Pattern p) {
  switch (p) {
    case Pattern::kUnstructured: return "unstructured";
    case Pattern::kOc4: return "oc4";
    case Pattern::kOc8: return "oc8";
    case Pattern::kOc16: return "oc16";
    case Pattern::kK4: return "k4";
    case Pattern::kZeroRows: return "zero-rows";
    case Pattern::kZeroColumns: return "zero-columns";
    case Pattern::kAllZero: return "all-zero";
  }
  return "?";
}

struct Case : ConvProblem {
  double sparsity = 0.7;
  Pattern pattern = Pattern::kUnstructured;
  std::string label() const {
    const Conv2dDesc& d = desc;
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "in %dx%dx%d out_c %d k%dx%d s%dx%d d%dx%d pad %d,%d,%d,%d g%d act %s bias %d res %d %s %.0f%% "
                  "slices %d,%d,%d,%d",
                  d.in_c, d.in_h, d.in_w, d.out_c, d.kernel_h, d.kernel_w, d.stride_h, d.stride_w, d.dilation_h,
                  d.dilation_w, d.pad_top, d.pad_left, d.pad_bottom, d.pad_right, d.groups,
                  activation_name(d.activation), has_bias ? 1 : 0, residual, pattern_name(pattern), 100 * sparsity,
                  in_extra, in_offset, out_extra, out_offset);
    return buf;
  }
};

// Weights in [-1, 1] with the case's zeros. Blocks of output channels (or of input channels, for k4) are
// zeroed together; their fraction is the sparsity.
std::vector<float> make_weights(const Case& c, std::mt19937& rng) {
  const Conv2dDesc& d = c.desc;
  const int ic_g = d.in_c / d.groups, oc_g = d.out_c / d.groups, taps = d.kernel_h * d.kernel_w;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_real_distribution<double> p01(0.0, 1.0);
  std::vector<float> w(static_cast<size_t>(d.out_c) * ic_g * taps);
  for (float& v : w) {
    v = u(rng);
    if (v == 0.0f) v = 0.5f;
  }
  auto at = [&](int o, int i, int t) -> float& { return w[(static_cast<size_t>(o) * ic_g + i) * taps + t]; };
  switch (c.pattern) {
    case Pattern::kUnstructured:
      for (float& v : w)
        if (p01(rng) < c.sparsity) v = 0.0f;
      break;
    case Pattern::kOc4:
    case Pattern::kOc8:
    case Pattern::kOc16: {
      const int n = c.pattern == Pattern::kOc4 ? 4 : c.pattern == Pattern::kOc8 ? 8 : 16;
      for (int g = 0; g < d.groups; ++g)
        for (int o0 = 0; o0 < oc_g; o0 += n)
          for (int i = 0; i < ic_g; ++i)
            for (int t = 0; t < taps; ++t)
              if (p01(rng) < c.sparsity)
                for (int o = o0; o < std::min(o0 + n, oc_g); ++o) at(g * oc_g + o, i, t) = 0.0f;
      break;
    }
    case Pattern::kK4:
      for (int o = 0; o < d.out_c; ++o)
        for (int t = 0; t < taps; ++t)
          for (int i0 = 0; i0 < ic_g; i0 += 4)
            if (p01(rng) < c.sparsity)
              for (int i = i0; i < std::min(i0 + 4, ic_g); ++i) at(o, i, t) = 0.0f;
      break;
    case Pattern::kZeroRows:  // some output channels entirely zero, the rest unstructured
      for (int o = 0; o < d.out_c; ++o) {
        const bool row = p01(rng) < 0.4;
        for (int i = 0; i < ic_g; ++i)
          for (int t = 0; t < taps; ++t)
            if (row || p01(rng) < c.sparsity) at(o, i, t) = 0.0f;
      }
      break;
    case Pattern::kZeroColumns:  // some (input channel, tap) columns zero in every output channel
      for (int i = 0; i < ic_g; ++i)
        for (int t = 0; t < taps; ++t) {
          const bool col = p01(rng) < 0.5;
          for (int o = 0; o < d.out_c; ++o)
            if (col || p01(rng) < c.sparsity) at(o, i, t) = 0.0f;
        }
      break;
    case Pattern::kAllZero:
      for (float& v : w) v = 0.0f;
      break;
  }
  return w;
}

// Per output: the number of summed terms, S = |bias| + sum |x * w| (the error bound's scale) and the
// residual's magnitude (the activation's error is relative to its own value, want - residual).
struct Bound {
  std::vector<double> scale;
  std::vector<int> terms;
  std::vector<double> residual;
};

Bound error_scale(const Case& c, const ConvData& data) {
  const Conv2dDesc& d = c.desc;
  const int oh_n = d.out_h(), ow_n = d.out_w(), icg = d.in_c / d.groups, ocg = d.out_c / d.groups;
  Bound b;
  b.scale.assign(static_cast<size_t>(oh_n) * ow_n * d.out_c, 0.0);
  b.terms.assign(b.scale.size(), 1);
  b.residual.assign(b.scale.size(), 0.0);
  for (int oc = 0; oc < d.out_c; ++oc) {
    const int g = oc / ocg;
    for (int oh = 0; oh < oh_n; ++oh)
      for (int ow = 0; ow < ow_n; ++ow) {
        double s = c.has_bias ? std::fabs(data.bias[oc]) : 0.0;
        int n = 1;
        for (int i = 0; i < icg; ++i)
          for (int ky = 0; ky < d.kernel_h; ++ky)
            for (int kx = 0; kx < d.kernel_w; ++kx) {
              const int iy = oh * d.stride_h - d.pad_top + ky * d.dilation_h;
              const int ix = ow * d.stride_w - d.pad_left + kx * d.dilation_w;
              if (iy < 0 || iy >= d.in_h || ix < 0 || ix >= d.in_w) continue;
              const double x =
                  data.input.data()[(static_cast<int64_t>(iy) * d.in_w + ix) * data.input.pixel_stride + g * icg + i];
              const double w = data.weights[((static_cast<int64_t>(oc) * icg + i) * d.kernel_h + ky) * d.kernel_w + kx];
              s += std::fabs(x * w);
              n += w != 0.0;
            }
        const size_t k = (static_cast<size_t>(oh) * ow_n + ow) * d.out_c + oc;
        b.scale[k] = s;
        b.terms[k] = n;
        b.residual[k] =
            c.residual
                ? std::fabs(
                      data.residual.data()[(static_cast<int64_t>(oh) * ow_n + ow) * data.residual.pixel_stride + oc])
                : 0.0;
      }
  }
  return b;
}

int compare(const Slice& got, const Slice& want, const Case& c, const Bound& bound, const std::string& what) {
  const Conv2dDesc& d = c.desc;
  const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  const double u = std::ldexp(1.0, -24);
  int bad = 0;
  for (int64_t p = 0; p < pixels; ++p)
    for (int ch = 0; ch < d.out_c; ++ch) {
      const float g = got.data()[p * got.pixel_stride + ch], w = want.data()[p * want.pixel_stride + ch];
      const size_t k = static_cast<size_t>(p) * d.out_c + ch;
      const double nu = bound.terms[k] * u;
      const double tol =
          1.1 * 2.0 * nu / (1.0 - nu) * bound.scale[k] + 2e-6 * (std::fabs(w) + bound.residual[k]) + 1e-30;
      if (!(std::fabs(static_cast<double>(g) - w) <= tol)) {
        if (++bad <= 3)
          ADD_FAILURE() << what << ": pixel " << p << " channel " << ch << " got " << g << " want " << w << " tol "
                        << tol << " (" << c.label() << ")";
      }
    }
  return bad;
}

int count_different(const Slice& a, const Slice& b) {
  int n = 0;
  for (size_t i = 0; i < a.buf.size(); ++i) n += !(a.buf[i] == b.buf[i]);
  return n;
}

const std::vector<Isa>& vector_isas() {
  static const std::vector<Isa> isas = runnable_isas("spconv_f32", {Isa::kAvx2, Isa::kAvx512});
  return isas;
}

std::vector<int> group_sizes(Isa isa) {
  int sizes[16];
  const int n = sparse_conv_group_sizes(isa, sizes, 16);
  return std::vector<int>(sizes, sizes + std::min(n, 16));
}

// The scalar sparse reference against the dense scalar conv, then every ISA (auto kernel choice, and each
// group size when `all_groups`) against the scalar sparse reference, single-threaded and on `pool`.
void check_case(const Case& c, std::mt19937& rng, ThreadPool* pool, bool all_groups) {
  std::vector<float> weights = make_weights(c, rng);
  const ConvData data = random_operands(c, std::move(weights), rng);
  const float* bias = c.has_bias ? data.bias.data() : nullptr;
  const Bound bound = error_scale(c, data);
  auto dense = create_conv2d_f32(c.desc, data.weights.data(), bias, Isa::kScalar);
  auto ref = create_sparse_conv2d_f32(c.desc, data.weights.data(), bias, Isa::kScalar);
  const Slice want_dense = run_conv(*dense, c, data, nullptr);
  const Slice want = run_conv(*ref, c, data, nullptr);
  ASSERT_EQ(compare(want, want_dense, c, bound, "sparse scalar vs dense scalar"), 0);
  for (Isa isa : vector_isas()) {
    std::vector<int> groups = {0};
    if (all_groups)
      for (int g : group_sizes(isa)) groups.push_back(g);
    for (int g : groups) {
      SparseConvOptions opt;
      opt.oc_group = g;
      auto conv = create_sparse_conv2d_f32(c.desc, data.weights.data(), bias, isa, opt);
      const std::string name = std::string(conv->name()) + (g ? " (group " + std::to_string(g) + ")" : "");
      if (g == 0) {  // the cost model's pick, which callers may pass back as oc_group
        const int pick = sparse_conv_default_group(c.desc, data.weights.data(), isa);
        EXPECT_NE(name.find("-r" + std::to_string(pick) + "-"), std::string::npos) << name << " vs " << pick;
        // The estimates (what the engine's timed choice starts from): one per group size, relative to the
        // cheapest, which is the pick.
        const SparseGroupEstimates est = sparse_conv_group_estimates(c.desc, data.weights.data(), isa);
        EXPECT_EQ(est.pick, pick);
        EXPECT_EQ(static_cast<int>(est.relative.size()), static_cast<int>(group_sizes(isa).size()));
        int first_cheapest = 0;
        for (const auto& [r, e] : est.relative) {
          EXPECT_GE(e, 1.0) << r;
          if (e == 1.0 && first_cheapest == 0) first_cheapest = r;
        }
        EXPECT_EQ(first_cheapest, pick);
      }
      const Slice got = run_conv(*conv, c, data, nullptr);
      ASSERT_EQ(compare(got, want, c, bound, name), 0);
      if (pool) {
        // Bands change with the thread count, the order of each output's sum does not: bit-identical.
        const Slice got_mt = run_conv(*conv, c, data, pool);
        ASSERT_EQ(count_different(got_mt, got), 0)
            << name << " differs on " << pool->num_threads() << " threads (" << c.label() << ")";
      }
    }
  }
}

Case shape(int ic, int h, int w, int oc, int k, int s, Activation act, int residual = 0) {
  Case c;
  Conv2dDesc& d = c.desc;
  d.in_c = ic;
  d.in_h = h;
  d.in_w = w;
  d.out_c = oc;
  d.kernel_h = d.kernel_w = k;
  d.stride_h = d.stride_w = s;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = k / 2;
  d.activation = act;
  c.residual = residual;
  return c;
}

// The conv shapes of YOLO11n-pose and YOLOv8s-pose (channels 16..512, 1x1 and 3x3, stride 1 and 2), shrunk
// spatially so the test stays fast.
std::vector<Case> model_cases() {
  return {
      shape(16, 20, 23, 32, 3, 2, Activation::kSilu),     // 3x3 s2
      shape(32, 12, 15, 32, 1, 1, Activation::kSilu),     // 1x1
      shape(16, 14, 11, 8, 3, 1, Activation::kSilu),      // 8 output channels
      shape(64, 12, 13, 64, 3, 1, Activation::kSilu, 2),  // bottleneck with shortcut, in place
      shape(64, 10, 12, 51, 3, 1, Activation::kSilu),     // keypoint head
      shape(51, 9, 10, 51, 1, 1, Activation::kNone),      // head 1x1, no activation
      shape(96, 10, 11, 128, 1, 1, Activation::kSilu),    // 1x1 expand
      shape(256, 5, 6, 64, 1, 1, Activation::kSilu, 1),   // 1x1 reduce, residual
      shape(128, 9, 8, 256, 3, 2, Activation::kSilu),     // wide output, stride 2
      shape(512, 4, 5, 256, 1, 1, Activation::kSilu),     // YOLOv8s widest 1x1
      shape(256, 4, 4, 256, 3, 1, Activation::kSilu, 1),  // YOLOv8s 3x3 at 256
      shape(64, 9, 9, 1, 1, 1, Activation::kSigmoid),     // one output channel
  };
}

// Layers large enough that one thread cuts them into several bands (the plane budget), not only the pool.
std::vector<Case> multi_band_cases() {
  return {
      shape(64, 41, 40, 64, 3, 1, Activation::kSilu),     // 3x3
      shape(64, 45, 46, 32, 1, 1, Activation::kRelu),     // 1x1, flat
      shape(32, 50, 51, 64, 3, 2, Activation::kSilu, 1),  // stride 2
  };
}

TEST(SpconvF32, ModelShapesUnstructured) {
  std::mt19937 rng(1234);
  ThreadPool pool(2);
  for (Case c : model_cases()) {
    for (double s : {0.0, 0.5, 0.7, 0.9}) {
      c.sparsity = s;
      SCOPED_TRACE(c.label());
      check_case(c, rng, s == 0.7 ? &pool : nullptr, s == 0.7);
      if (HasFatalFailure()) return;
    }
  }
}

TEST(SpconvF32, MultiBandLayers) {
  std::mt19937 rng(99);
  ThreadPool pool(2);
  for (Case c : multi_band_cases()) {
    SCOPED_TRACE(c.label());
    check_case(c, rng, &pool, false);
    if (HasFatalFailure()) return;
  }
}

TEST(SpconvF32, Patterns) {
  std::mt19937 rng(77);
  const std::vector<Case> shapes = {shape(64, 11, 12, 64, 3, 1, Activation::kSilu),
                                    shape(48, 10, 9, 40, 1, 1, Activation::kNone, 1),
                                    shape(32, 13, 14, 51, 3, 2, Activation::kSilu)};
  for (Case c : shapes) {
    for (Pattern p : {Pattern::kOc4, Pattern::kOc8, Pattern::kOc16, Pattern::kK4, Pattern::kZeroRows,
                      Pattern::kZeroColumns, Pattern::kAllZero}) {
      c.pattern = p;
      for (double s : {0.5, 0.9}) {
        c.sparsity = s;
        SCOPED_TRACE(c.label());
        check_case(c, rng, nullptr, true);
        if (HasFatalFailure()) return;
      }
    }
  }
}

Case random_case(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  // Mostly groups = 1; depthwise is accepted, though the engine keeps it dense.
  static constexpr RandomShapeLimits kLimits = {
      .max_dense_kind = 7, .max_depthwise_kind = 8, .small_in_c = 5, .max_in_c = 90, .max_out_c = 90,
      .max_depthwise_channels = 24, .max_groups = 4, .max_group_out_c = 16, .max_size = 19};
  Case c;
  c.desc = random_desc(rng, kLimits);
  c.sparsity = std::vector<double>{0.0, 0.5, 0.7, 0.9, 0.97}[pick(0, 4)];
  c.pattern = static_cast<Pattern>(pick(0, 7));
  random_layout(rng, c);
  return c;
}

TEST(SpconvF32, RandomShapes) {
  std::mt19937 rng(42);
  ThreadPool pool(3);
  for (int i = 0; i < 150; ++i) {
    const Case c = random_case(rng);
    SCOPED_TRACE("case " + std::to_string(i) + ": " + c.label());
    check_case(c, rng, i % 4 == 0 ? &pool : nullptr, i % 3 == 0);
    if (HasFatalFailure()) return;
  }
}

TEST(SpconvF32, SparsityStats) {
  Conv2dDesc d;
  d.in_h = d.in_w = 4;
  d.in_c = 8;
  d.out_c = 16;
  d.kernel_h = d.kernel_w = 3;
  const int taps = 9, ic = 8;
  std::vector<float> w(16 * ic * taps, 1.0f);
  auto at = [&](int o, int i, int t) -> float& { return w[(o * ic + i) * taps + t]; };
  for (int o = 0; o < 4; ++o)  // output channels 0-3 entirely zero: 4 of 16 rows, one oc4 block per column
    for (int i = 0; i < ic; ++i)
      for (int t = 0; t < taps; ++t) at(o, i, t) = 0.0f;
  for (int o = 0; o < 16; ++o)  // input channel 7, tap 0: zero in every output channel (one column)
    at(o, 7, 0) = 0.0f;
  const SparsityStats s = sparsity_stats(d, w.data(), Isa::kScalar);
  const double total = 16.0 * ic * taps, zeros = 4 * ic * taps + 12;
  EXPECT_EQ(s.weights, 16 * ic * taps);
  EXPECT_DOUBLE_EQ(s.zero_fraction, zeros / total);
  EXPECT_DOUBLE_EQ(s.zero_rows, 4.0 / 16);
  EXPECT_DOUBLE_EQ(s.zero_columns, 1.0 / (ic * taps));
  // oc4 blocks: 4 per column, 72 columns; zero: block 0 of every column + the other 3 of column (7, 0);
  // oc8: both blocks of column (7, 0); oc16: column (7, 0).
  EXPECT_DOUBLE_EQ(s.zero_oc4, (72.0 + 3) / (4 * 72));
  EXPECT_DOUBLE_EQ(s.zero_oc8, 2.0 / (2 * 72));
  EXPECT_DOUBLE_EQ(s.zero_oc16, 1.0 / 72);
  // k4 blocks: 16 oc x 9 taps x 2 = 288; zero: 4 rows x 18 = 72 (channel 7 alone never zeroes a block).
  EXPECT_DOUBLE_EQ(s.zero_k4, 72.0 / 288);
  EXPECT_FALSE(s.to_string().empty());
  for (Isa isa : vector_isas()) EXPECT_GT(sparsity_stats(d, w.data(), isa).est_sparse_over_dense, 0.0);
}

// ---- Planar input and output ----------------------------------------------------------------------------
//
// A planar side changes where the kernel reads and writes, not what it computes: the same ISA and group
// size must give bit-identical outputs from NHWC and from planar tensors. The planar buffers' gaps and
// tails are NaN: the input's may only reach discarded positions, the output's must never be written, and
// the output's halo must be written as zeros whatever the buffer held.

// NHWC (pixel stride c) -> a planar buffer: interior the image, halo zeros, gaps and tail `fill`.
std::vector<float> to_planar(const std::vector<float>& nhwc, const PlanarLayout& l, float fill) {
  std::vector<float> buf(static_cast<size_t>(l.floats), fill);
  for (int ch = 0; ch < l.c; ++ch)
    for (int y = -l.halo; y < l.h + l.halo; ++y)
      for (int x = -l.halo; x < l.w + l.halo; ++x) {
        const bool inside = y >= 0 && y < l.h && x >= 0 && x < l.w;
        buf[l.index(ch, y, x)] = inside ? nhwc[(static_cast<size_t>(y) * l.w + x) * l.c + ch] : 0.0f;
      }
  return buf;
}

struct PlanarCheck {
  int mismatches = 0, halo_not_zero = 0, outside_written = 0;
};

// A planar output against the NHWC one: the interior bit-identical, the halo +0.0, everything else `fill`.
PlanarCheck check_planar(const std::vector<float>& buf, const PlanarLayout& l, const std::vector<float>& want_nhwc) {
  PlanarCheck r;
  std::vector<bool> in_rows(buf.size(), false);
  for (int ch = 0; ch < l.c; ++ch)
    for (int y = -l.halo; y < l.h + l.halo; ++y)
      for (int x = -l.halo; x < l.w + l.halo; ++x) {
        const int64_t i = l.index(ch, y, x);
        in_rows[i] = true;
        if (y >= 0 && y < l.h && x >= 0 && x < l.w) {
          const float want = want_nhwc[(static_cast<size_t>(y) * l.w + x) * l.c + ch];
          r.mismatches += std::memcmp(&buf[i], &want, sizeof want) != 0;
        } else {
          r.halo_not_zero += !(buf[i] == 0.0f && !std::signbit(buf[i]));
        }
      }
  for (size_t i = 0; i < buf.size(); ++i) r.outside_written += !in_rows[i] && !std::isnan(buf[i]);
  return r;
}

std::vector<float> random_floats(size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = u(rng);
  return v;
}

void check_planar_case(const Case& c, std::mt19937& rng, ThreadPool* pool) {
  const Conv2dDesc& d = c.desc;
  const int oh = d.out_h(), ow = d.out_w();
  const std::vector<float> w = make_weights(c, rng);
  const std::vector<float> bias = random_floats(d.out_c, rng);
  const std::vector<float> in = random_floats(static_cast<size_t>(d.in_h) * d.in_w * d.in_c, rng);
  const std::vector<float> res = random_floats(static_cast<size_t>(oh) * ow * d.out_c, rng);
  const float nan = std::nanf("");
  const int in_halo = sparse_conv_planar_input_halo(d);
  for (Isa isa : vector_isas()) {
    for (int g : group_sizes(isa)) {
      SparseConvOptions nhwc_opt;
      nhwc_opt.oc_group = g;
      auto ref = create_sparse_conv2d_f32(d, w.data(), bias.data(), isa, nhwc_opt);
      std::vector<float> want(res.size(), 0.0f);
      ConvIO io;
      io.input = in.data();
      io.in_pixel_stride = d.in_c;
      io.output = want.data();
      io.out_pixel_stride = d.out_c;
      io.residual = c.residual ? res.data() : nullptr;
      io.residual_pixel_stride = c.residual ? d.out_c : 0;
      ref->run(io, nullptr);
      for (int ih : {-1, in_halo}) {
        if (ih < 0 && in_halo < 0) continue;
        for (int oh_halo : {-1, 0, 1, 2}) {
          if (ih < 0 && oh_halo < 0) continue;  // both NHWC: the other tests
          SparseConvOptions opt = nhwc_opt;
          opt.planar_input_halo = ih;
          opt.planar_output_halo = oh_halo;
          auto conv = create_sparse_conv2d_f32(d, w.data(), bias.data(), isa, opt);
          const std::string name = std::string(conv->name()) + " group " + std::to_string(g);
          std::vector<float> in_buf;
          ConvIO pio;
          if (ih >= 0) {
            in_buf = to_planar(in, planar_layout(d.in_h, d.in_w, d.in_c, ih), nan);
            pio.input = in_buf.data();
          } else {
            pio.input = in.data();
            pio.in_pixel_stride = d.in_c;
          }
          const PlanarLayout ol = oh_halo >= 0 ? planar_layout(oh, ow, d.out_c, oh_halo) : PlanarLayout{};
          std::vector<float> res_buf;
          if (c.residual) {
            res_buf = oh_halo >= 0 ? to_planar(res, ol, nan) : res;
            pio.residual = res_buf.data();
            pio.residual_pixel_stride = oh_halo >= 0 ? 0 : d.out_c;
          }
          for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), pool}) {
            std::vector<float> out = oh_halo >= 0 ? std::vector<float>(ol.floats, nan) : std::vector<float>(want.size());
            // Garbage in the halo, which the kernel must overwrite with zeros.
            if (oh_halo > 0)
              for (int ch = 0; ch < d.out_c; ++ch) out[ol.index(ch, -1, -1)] = out[ol.index(ch, oh, ow)] = 7.0f;
            pio.output = out.data();
            pio.out_pixel_stride = oh_halo >= 0 ? 0 : d.out_c;
            if (c.residual == 2 && oh_halo >= 0) {  // in place: the residual is the output buffer
              out = res_buf;
              pio.residual = pio.output = out.data();
            }
            conv->run(pio, p);
            const std::string where = name + (p ? " on a pool" : "") + " (" + c.label() + ")";
            if (oh_halo >= 0) {
              const PlanarCheck r = check_planar(out, ol, want);
              ASSERT_EQ(r.mismatches, 0) << where;
              ASSERT_EQ(r.halo_not_zero, 0) << where;
              if (c.residual != 2) {
                ASSERT_EQ(r.outside_written, 0) << where;
              }
            } else {
              ASSERT_EQ(std::memcmp(out.data(), want.data(), want.size() * sizeof(float)), 0) << where;
            }
          }
        }
      }
    }
  }
}

TEST(SpconvF32, PlanarInputAndOutputMatchNhwc) {
  std::mt19937 rng(77);
  ThreadPool pool(3);
  std::vector<Case> cases = {
      shape(32, 12, 15, 32, 1, 1, Activation::kSilu),     // 1x1: flat planes, halo 0
      shape(64, 45, 46, 32, 1, 1, Activation::kRelu),     // flat, several bands that split rows
      shape(16, 14, 11, 8, 3, 1, Activation::kSilu),      // 3x3, halo 1
      shape(64, 41, 40, 64, 3, 1, Activation::kSilu),     // 3x3, several bands
      shape(64, 12, 13, 51, 3, 1, Activation::kSilu, 1),  // residual
      shape(24, 9, 10, 20, 3, 1, Activation::kSilu, 2),   // residual in place
      shape(16, 20, 23, 32, 3, 2, Activation::kSilu),     // stride 2: planar output only
      shape(32, 50, 51, 17, 3, 2, Activation::kNone, 1),  // stride 2, several bands, residual
      shape(8, 13, 17, 12, 5, 1, Activation::kSilu),      // 5x5, halo 2
      shape(64, 9, 9, 1, 1, 1, Activation::kSigmoid),     // one output channel
  };
  for (Case& c : cases) {
    SCOPED_TRACE(c.label());
    check_planar_case(c, rng, &pool);
    if (HasFatalFailure()) return;
  }
  // Random stride-1 'same' shapes and sparsities.
  for (int i = 0; i < 20; ++i) {
    auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
    Case c = shape(pick(1, 70), pick(1, 19), pick(1, 23), pick(1, 70), pick(0, 2) * 2 + 1, pick(1, 2),
                   static_cast<Activation>(pick(0, 3)), pick(0, 2));
    c.sparsity = std::vector<double>{0.0, 0.5, 0.9, 1.0}[pick(0, 3)];
    SCOPED_TRACE("random " + std::to_string(i) + ": " + c.label());
    check_planar_case(c, rng, &pool);
    if (HasFatalFailure()) return;
  }
}

// The chunk count a kernel name carries ("-k3-"), or "" for one chunk.
std::string chunk_tag(std::string_view name) {
  const size_t at = name.find("-k");
  return at == std::string_view::npos ? "" : std::string(name.substr(at, name.find('-', at + 1) - at + 1));
}

// The reduction cut into chunks (SparseConvOptions::reduction_chunks): every ISA and group size against the
// scalar reference for chunk counts from 1 to one per input channel (and more, which is clamped), with NHWC
// and planar output (the last chunk's epilogue stores straight from registers, the earlier chunks' sums wait
// in the tile buffer; bit-identical to NHWC), on one thread and on a pool (bit-identical: the chunks do not
// depend on the bands).
TEST(SpconvF32, ReductionChunksMatchTheReference) {
  std::mt19937 rng(4321);
  ThreadPool pool(3);
  const std::vector<Case> cases = {
      shape(64, 41, 40, 64, 3, 1, Activation::kSilu, 1),  // 3x3, several bands, residual
      shape(96, 17, 19, 40, 1, 1, Activation::kSilu),     // 1x1, flat
      shape(48, 30, 29, 24, 3, 2, Activation::kNone),     // stride 2
      shape(5, 9, 8, 7, 3, 1, Activation::kRelu),         // fewer channels than some chunk counts
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.label());
    const Conv2dDesc& d = c.desc;
    std::vector<float> weights = make_weights(c, rng);
    const ConvData data = random_operands(c, std::move(weights), rng);
    const float* bias = c.has_bias ? data.bias.data() : nullptr;
    const Bound bound = error_scale(c, data);
    auto ref = create_sparse_conv2d_f32(d, data.weights.data(), bias, Isa::kScalar);
    const Slice want = run_conv(*ref, c, data, nullptr);
    for (Isa isa : vector_isas()) {
      for (int g : group_sizes(isa)) {
        for (int chunks : {1, 2, 3, d.in_c, d.in_c + 5}) {
          SparseConvOptions opt;
          opt.oc_group = g;
          opt.reduction_chunks = chunks;
          auto conv = create_sparse_conv2d_f32(d, data.weights.data(), bias, isa, opt);
          const std::string name = std::string(conv->name()) + " (group " + std::to_string(g) + ", " +
                                   std::to_string(chunks) + " chunks)";
          const int used = std::min(chunks, d.in_c);
          EXPECT_EQ(chunk_tag(conv->name()), used > 1 ? "-k" + std::to_string(used) + "-" : "") << name;
          const Slice got = run_conv(*conv, c, data, nullptr);
          ASSERT_EQ(compare(got, want, c, bound, name), 0);
          ASSERT_EQ(count_different(run_conv(*conv, c, data, &pool), got), 0) << name << " on a pool";
          // Planar output, stored from the registers by the last chunk: bit-identical to NHWC output.
          opt.planar_output_halo = 1;
          auto planar = create_sparse_conv2d_f32(d, data.weights.data(), bias, isa, opt);
          const std::vector<float> in = random_floats(static_cast<size_t>(d.in_h) * d.in_w * d.in_c, rng);
          const PlanarLayout ol = planar_layout(d.out_h(), d.out_w(), d.out_c, 1);
          std::vector<float> nhwc(static_cast<size_t>(d.out_h()) * d.out_w() * d.out_c), out(ol.floats, std::nanf(""));
          ConvIO io;
          io.input = in.data();
          io.in_pixel_stride = d.in_c;
          io.output = nhwc.data();
          io.out_pixel_stride = d.out_c;
          conv->run(io, nullptr);
          io.output = out.data();
          io.out_pixel_stride = 0;
          planar->run(io, &pool);
          const PlanarCheck r = check_planar(out, ol, nhwc);
          ASSERT_EQ(r.mismatches, 0) << name << ", planar output";
          ASSERT_EQ(r.halo_not_zero, 0) << name << ", planar output";
        }
      }
    }
  }
}

// The automatic choice: a layer whose tile input and weight stream overflow L1 is cut, a small one is not,
// and the planar sides do not change the choice (so they do not change the order of summation either).
TEST(SpconvF32, ReductionChunksFollowTheTileInput) {
  std::mt19937 rng(8);
  for (Isa isa : vector_isas()) {
    const Case wide = shape(256, 20, 20, 32, 3, 1, Activation::kSilu);  // 256 x 3 rows of a tile: > 48 KiB
    const Case small = shape(16, 20, 20, 16, 3, 1, Activation::kSilu);
    for (const Case* c : {&wide, &small}) {
      const std::vector<float> w = make_weights(*c, rng);
      SparseConvOptions opt;
      opt.oc_group = 4;  // 15 channel masks: the run-length floor allows up to 51 chunks of the wide layer
      const std::string nhwc(create_sparse_conv2d_f32(c->desc, w.data(), nullptr, isa, opt)->name());
      EXPECT_EQ(chunk_tag(nhwc).empty(), c == &small) << nhwc;
      opt.planar_input_halo = sparse_conv_planar_input_halo(c->desc);
      opt.planar_output_halo = 1;
      const std::string planar(create_sparse_conv2d_f32(c->desc, w.data(), nullptr, isa, opt)->name());
      EXPECT_EQ(chunk_tag(nhwc), chunk_tag(planar)) << nhwc << " vs " << planar;
    }
  }
}

TEST(SpconvF32, PlanarRejectsWhatItCannotRead) {
  const std::vector<float> w(64 * 64 * 9, 1.0f);
  Conv2dDesc d;
  d.in_h = d.in_w = 8;
  d.in_c = d.out_c = 8;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = 2;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  EXPECT_EQ(sparse_conv_planar_input_halo(d), -1);  // strided: planes are split by phase
  d.stride_h = d.stride_w = 1;
  EXPECT_EQ(sparse_conv_planar_input_halo(d), 1);
  d.pad_right = 0;
  EXPECT_EQ(sparse_conv_planar_input_halo(d), -1);  // asymmetric padding
  d.pad_right = 1;
  SparseConvOptions opt;
  opt.planar_input_halo = 0;  // not the conv's padding
  for (Isa isa : vector_isas()) EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, isa, opt), Error);
  opt.planar_input_halo = 1;
  EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, Isa::kScalar, opt), Error);
  opt.planar_input_halo = -2;
  for (Isa isa : vector_isas()) EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, isa, opt), Error);
  EXPECT_THROW(planar_layout(0, 4, 4, 0), Error);
  EXPECT_THROW(planar_layout(4, 4, 4, -1), Error);
  // A planar side's pixel stride must be 0, an NHWC side's at least its channels.
  opt.planar_input_halo = 1;
  opt.planar_output_halo = 0;
  const PlanarLayout il = planar_layout(8, 8, 8, 1), ol = planar_layout(8, 8, 8, 0);
  std::vector<float> in(il.floats, 0.0f), out(ol.floats, 0.0f);
  for (Isa isa : vector_isas()) {
    auto conv = create_sparse_conv2d_f32(d, w.data(), nullptr, isa, opt);
    EXPECT_NE(std::string(conv->name()).find("chw1-chw0"), std::string::npos) << conv->name();
    ConvIO io;
    io.input = in.data();
    io.output = out.data();
    EXPECT_NO_THROW(conv->run(io, nullptr)) << conv->name();
    io.in_pixel_stride = 8;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
    io.in_pixel_stride = 0;
    io.residual = out.data();
    io.residual_pixel_stride = 8;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
  }
}

TEST(SpconvF32, RejectsBadInput) {
  const std::vector<float> w(1024, 1.0f);
  Conv2dDesc d;
  d.in_h = d.in_w = 4;
  d.in_c = 6;
  d.out_c = 4;
  d.groups = 4;  // 6 input channels do not split into 4 groups
  EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  EXPECT_THROW(sparsity_stats(d, w.data()), Error);
  d.groups = 1;
  EXPECT_THROW(create_sparse_conv2d_f32(d, nullptr, nullptr, Isa::kScalar), Error);
  d.kernel_h = d.kernel_w = 7;  // larger than the unpadded input
  EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, Isa::kScalar), Error);
  d.kernel_h = d.kernel_w = 3;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = 1;
  SparseConvOptions bad;
  bad.oc_group = 7;  // no ISA has a 7-channel group kernel
  for (Isa isa : vector_isas()) EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, isa, bad), Error);
  bad.oc_group = -1;
  EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, Isa::kScalar, bad), Error);

  bad.oc_group = 4;
  EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, Isa::kScalar, bad), Error);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) {
      EXPECT_THROW(create_sparse_conv2d_f32(d, w.data(), nullptr, isa), Error);
    }
  }
  // A pixel stride below the channel count is rejected at run time, on every path.
  std::vector<float> in(4 * 4 * 8, 0.0f), out(4 * 4 * 8, 0.0f);
  std::vector<Isa> isas = {Isa::kScalar};
  for (Isa isa : vector_isas()) isas.push_back(isa);
  for (Isa isa : isas) {
    auto conv = create_sparse_conv2d_f32(d, w.data(), nullptr, isa);
    ConvIO io;
    io.input = in.data();
    io.in_pixel_stride = 5;  // < 6 input channels
    io.output = out.data();
    io.out_pixel_stride = 4;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
    io.in_pixel_stride = 6;
    EXPECT_NO_THROW(conv->run(io, nullptr)) << conv->name();
    io.output = nullptr;
    EXPECT_THROW(conv->run(io, nullptr), Error) << conv->name();
  }
}

}  // namespace
}  // namespace sp::kernels
