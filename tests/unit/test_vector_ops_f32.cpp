// Tests of the non-convolution float kernels (core/kernels/vector_f32/vector_ops_f32.h).
//
// - The scalar reference against naive computations written here (in double where it matters).
// - Every SIMD variant the CPU supports against the scalar reference, on random shapes with tails,
//   strides larger than cols and in-place aliasing; guard values around and between the rows of every
//   output must survive untouched.
// - Extreme inputs (+-100, +-1e30, +-FLT_MAX, 0) for sigmoid, silu and softmax give finite, correct values.
// - DISABLED_Speed prints timings against scalar (run with --gtest_also_run_disabled_tests).
#include "core/kernels/vector_f32/vector_ops_f32.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"

namespace sp::kernels {
namespace {

constexpr float kCanary = -31337.25f;
constexpr int64_t kGuard = 40;  // guard floats before and after every buffer

bool same_bits(float a, float b) { return std::memcmp(&a, &b, sizeof(float)) == 0; }

// A rows x cols view with leading dimension ld inside a buffer with guard zones; everything outside the
// view (guards and the gaps between rows) holds kCanary.
class View {
 public:
  View(int64_t rows, int64_t cols, int64_t ld)
      : rows_(rows), cols_(cols), ld_(ld), buf_(static_cast<size_t>(size() + 2 * kGuard), kCanary) {}
  View(int64_t rows, int64_t cols) : View(rows, cols, cols) {}

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  int64_t ld() const { return ld_; }
  float* data() { return buf_.data() + kGuard; }
  const float* data() const { return buf_.data() + kGuard; }
  float& at(int64_t r, int64_t c) { return data()[r * ld_ + c]; }
  float at(int64_t r, int64_t c) const { return data()[r * ld_ + c]; }

  void fill(std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t c = 0; c < cols_; ++c) at(r, c) = dist(rng);
    }
  }
  void fill_value(float v) {
    for (int64_t r = 0; r < rows_; ++r) {
      for (int64_t c = 0; c < cols_; ++c) at(r, c) = v;
    }
  }
  // Number of floats outside the view that are no longer the canary.
  int64_t touched_outside() const {
    int64_t bad = 0;
    for (int64_t i = 0; i < static_cast<int64_t>(buf_.size()); ++i) {
      int64_t off = i - kGuard;
      bool inside = off >= 0 && off < size() && off % ld_ < cols_ && off / ld_ < rows_;
      if (!inside && !same_bits(buf_[static_cast<size_t>(i)], kCanary)) ++bad;
    }
    return bad;
  }

 private:
  int64_t size() const { return rows_ == 0 ? 0 : (rows_ - 1) * ld_ + cols_; }
  int64_t rows_, cols_, ld_;
  std::vector<float> buf_;
};

// |got - want| <= atol + rtol * |want| everywhere (NaN matches NaN, inf matches the same inf).
::testing::AssertionResult close_views(const View& got, const View& want, double atol, double rtol) {
  for (int64_t r = 0; r < want.rows(); ++r) {
    for (int64_t c = 0; c < want.cols(); ++c) {
      double g = got.at(r, c), w = want.at(r, c);
      if (std::isnan(w) && std::isnan(g)) continue;
      if (std::isinf(w) && g == w) continue;
      if (!(std::fabs(g - w) <= atol + rtol * std::fabs(w))) {
        return ::testing::AssertionFailure() << "at (" << r << ", " << c << "): got " << g << ", want " << w
                                             << " (" << want.rows() << "x" << want.cols() << ")";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult equal_views(const View& got, const View& want) {
  for (int64_t r = 0; r < want.rows(); ++r) {
    for (int64_t c = 0; c < want.cols(); ++c) {
      if (!same_bits(got.at(r, c), want.at(r, c))) {
        return ::testing::AssertionFailure() << "at (" << r << ", " << c << "): got " << got.at(r, c) << ", want "
                                             << want.at(r, c) << " (" << want.rows() << "x" << want.cols() << ")";
      }
    }
  }
  return ::testing::AssertionSuccess();
}

std::string op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd: return "add";
    case BinaryOp::kSub: return "sub";
    case BinaryOp::kMul: return "mul";
    case BinaryOp::kDiv: return "div";
  }
  return "?";
}

std::string act_name(Activation a) {
  switch (a) {
    case Activation::kNone: return "none";
    case Activation::kRelu: return "relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kSilu: return "silu";
  }
  return "?";
}

constexpr BinaryOp kOps[] = {BinaryOp::kAdd, BinaryOp::kSub, BinaryOp::kMul, BinaryOp::kDiv};
constexpr Activation kActs[] = {Activation::kNone, Activation::kRelu, Activation::kSigmoid, Activation::kSilu};
constexpr int64_t kCols[] = {1, 7, 8, 15, 16, 17, 33, 64, 100};
constexpr int64_t kRows[] = {1, 2, 7};

double naive_op(BinaryOp op, double a, double b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return a / b;
  }
  return 0;
}

double naive_sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

double naive_act(Activation a, double x) {
  switch (a) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0 ? x : 0;
    case Activation::kSigmoid: return naive_sigmoid(x);
    case Activation::kSilu: return x * naive_sigmoid(x);
  }
  return 0;
}

// Random divisors away from zero: |b| in [0.5, 2].
void fill_divisor(View& v, std::mt19937& rng) {
  std::uniform_real_distribution<float> mag(0.5f, 2.0f);
  for (int64_t r = 0; r < v.rows(); ++r) {
    for (int64_t c = 0; c < v.cols(); ++c) v.at(r, c) = (rng() & 1) ? mag(rng) : -mag(rng);
  }
}

// ONNX MaxPool output size, written independently of Pool2dDesc: the spec's floor/ceil formula, plus the
// rule that in ceil mode the last window must start inside the input or the leading padding.
int naive_pool_out(int in, int k, int s, int pb, int pe, int dil, bool ceil_mode) {
  double v = static_cast<double>(in + pb + pe - ((k - 1) * dil + 1)) / s + 1;
  int out = static_cast<int>(ceil_mode ? std::ceil(v) : std::floor(v));
  if (ceil_mode && (out - 1) * s >= in + pb) --out;
  return out;
}

// ----------------------------------------------------------------------------------------------------
// The scalar reference against naive computations.

TEST(VectorOpsScalar, BinaryAndActivationMatchNaive) {
  std::mt19937 rng(1);
  View a(5, 13, 16), b(5, 13, 14), y(5, 13, 20);
  a.fill(rng, -4, 4);
  fill_divisor(b, rng);
  for (BinaryOp op : kOps) {
    binary_f32(op, a.data(), a.ld(), b.data(), b.ld(), y.data(), y.ld(), 5, 13, Isa::kScalar);
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 13; ++c) {
        const double want = naive_op(op, a.at(r, c), b.at(r, c));
        EXPECT_NEAR(y.at(r, c), want, 1e-7 * std::fabs(want)) << op_name(op);
      }
    }
    binary_scalar_f32(op, a.data(), a.ld(), 1.75f, true, y.data(), y.ld(), 5, 13, Isa::kScalar);
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 13; ++c) {
        const double want = naive_op(op, 1.75, a.at(r, c));
        EXPECT_NEAR(y.at(r, c), want, 1e-7 * std::fabs(want)) << op_name(op);
      }
    }
    binary_row_broadcast_f32(op, a.data(), a.ld(), b.data(), y.data(), y.ld(), 5, 13, Isa::kScalar);
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 13; ++c) {
        const double want = naive_op(op, a.at(r, c), b.at(0, c));
        EXPECT_NEAR(y.at(r, c), want, 1e-7 * std::fabs(want)) << op_name(op);
      }
    }
  }
  for (Activation act : kActs) {
    activation_f32(act, a.data(), a.ld(), y.data(), y.ld(), 5, 13, Isa::kScalar);
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 13; ++c) {
        double want = naive_act(act, a.at(r, c));
        EXPECT_NEAR(y.at(r, c), want, 1e-6 * std::fabs(want) + 1e-7) << act_name(act);
      }
    }
  }
  EXPECT_EQ(y.touched_outside(), 0);
}

TEST(VectorOpsScalar, SoftmaxMatchesNaive) {
  std::mt19937 rng(2);
  for (int64_t cols : {1, 2, 16, 17, 400}) {
    View x(6, cols), y(6, cols);
    x.fill(rng, -12, 12);
    softmax_rows_f32(x.data(), y.data(), 6, cols, Isa::kScalar);
    for (int64_t r = 0; r < 6; ++r) {
      double mx = -INFINITY, sum = 0;
      for (int64_t c = 0; c < cols; ++c) mx = std::max(mx, static_cast<double>(x.at(r, c)));
      for (int64_t c = 0; c < cols; ++c) sum += std::exp(x.at(r, c) - mx);
      for (int64_t c = 0; c < cols; ++c) {
        double want = std::exp(x.at(r, c) - mx) / sum;
        EXPECT_NEAR(y.at(r, c), want, 2e-6 * want + 1e-12) << "cols " << cols;
      }
    }
    EXPECT_EQ(y.touched_outside(), 0);
  }
}

TEST(VectorOpsScalar, MatmulMatchesNaive) {
  std::mt19937 rng(3);
  const int64_t m = 9, n = 21, k = 37;
  View a(m, k, k + 3), b(k, n, n + 5), c(m, n, n + 2);
  a.fill(rng, -1, 1);
  b.fill(rng, -1, 1);
  matmul_f32(a.data(), a.ld(), b.data(), b.ld(), c.data(), c.ld(), m, n, k, Isa::kScalar);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double want = 0;
      for (int64_t p = 0; p < k; ++p) want += static_cast<double>(a.at(i, p)) * b.at(p, j);
      EXPECT_NEAR(c.at(i, j), want, 1e-5);
    }
  }
  EXPECT_EQ(c.touched_outside(), 0);
  // k = 0: the empty sum.
  c.fill_value(7.0f);
  matmul_f32(a.data(), a.ld(), b.data(), b.ld(), c.data(), c.ld(), m, n, 0, Isa::kScalar);
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) EXPECT_EQ(c.at(i, j), 0.0f);
  }
}

TEST(VectorOpsScalar, PoolOutputSizes) {
  auto desc = [](int in, int k, int s, int pb, int pe, int dil, bool ceil_mode) {
    Pool2dDesc d;
    d.in_h = d.in_w = in;
    d.channels = 1;
    d.kernel_h = d.kernel_w = k;
    d.stride_h = d.stride_w = s;
    d.pad_top = d.pad_left = pb;
    d.pad_bottom = d.pad_right = pe;
    d.dilation_h = d.dilation_w = dil;
    d.ceil_mode = ceil_mode;
    return d;
  };
  // Cases from the ONNX backend tests and PyTorch's documentation.
  EXPECT_EQ(desc(4, 3, 2, 0, 0, 1, true).out_h(), 2);   // test_maxpool_2d_ceil
  EXPECT_EQ(desc(4, 3, 2, 0, 0, 1, false).out_h(), 1);
  EXPECT_EQ(desc(2, 1, 2, 0, 0, 1, true).out_h(), 1);   // test_maxpool_2d_ceil_output_size_reduce_by_one
  EXPECT_EQ(desc(6, 3, 2, 0, 0, 1, true).out_h(), 3);
  EXPECT_EQ(desc(20, 5, 1, 2, 2, 1, false).out_h(), 20);  // SPPF
  EXPECT_EQ(desc(7, 3, 1, 0, 0, 2, false).out_h(), 3);    // dilation: span 5
  EXPECT_EQ(desc(5, 2, 2, 1, 1, 1, true).out_w(), 3);
  EXPECT_EQ(desc(3, 5, 1, 0, 0, 1, false).out_h(), 0);    // window larger than the input
  for (int in = 1; in <= 12; ++in) {
    for (int k = 1; k <= 4; ++k) {
      for (int s = 1; s <= 3; ++s) {
        for (int pb = 0; pb <= k / 2; ++pb) {
          for (int pe = 0; pe <= k / 2; ++pe) {
            for (int dil = 1; dil <= 2; ++dil) {
              for (bool ceil_mode : {false, true}) {
                if (in + pb + pe < (k - 1) * dil + 1) continue;
                Pool2dDesc d = desc(in, k, s, pb, pe, dil, ceil_mode);
                ASSERT_EQ(d.out_h(), naive_pool_out(in, k, s, pb, pe, dil, ceil_mode))
                    << "in " << in << " k " << k << " s " << s << " pads " << pb << "," << pe << " dil " << dil
                    << " ceil " << ceil_mode;
                ASSERT_EQ(d.out_w(), d.out_h());
              }
            }
          }
        }
      }
    }
  }
}

struct PoolCase {
  int in_h, in_w, channels, kh, kw, sh, sw, pt, pl, pb, pr, dh, dw;
  bool ceil_mode;
  int64_t x_extra, y_extra;  // pixel stride - channels
};

const PoolCase kPoolCases[] = {
    {20, 20, 33, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, false, 0, 0},   // SPPF-like
    {9, 11, 17, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, true, 3, 5},     // ceil_mode, strides
    {10, 7, 7, 2, 2, 2, 2, 0, 0, 0, 0, 1, 1, true, 0, 1},      // ceil_mode adds a partial window
    {12, 13, 16, 3, 2, 1, 2, 1, 0, 2, 1, 2, 3, false, 4, 0},   // dilation, asymmetric pads
    {6, 6, 70, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1, true, 2, 2},      // channels with a tail after 4 vectors
    {5, 4, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1, false, 0, 3},      // 1x1 identity on one channel
    {7, 9, 48, 5, 3, 2, 1, 2, 1, 2, 1, 2, 2, true, 0, 16},
    {3, 3, 20, 2, 2, 1, 1, 0, 0, 3, 3, 1, 1, false, 0, 0},     // windows entirely in padding give -inf
    {4, 5, 9, 3, 3, 1, 2, 4, 3, 1, 1, 1, 1, true, 1, 0},      // leading padding beyond the kernel
    {3, 3, 20, 3, 3, 1, 1, 0, 0, 4, 4, 1, 1, false, 0, 0},     // separable, with all-padding windows
    {6, 150, 85, 5, 5, 1, 1, 2, 2, 2, 2, 1, 1, false, 3, 0},   // separable in chunks of columns
    {3, 300, 5, 3, 5, 1, 1, 1, 2, 1, 2, 1, 1, false, 2, 1},    // separable, tail channels only, chunks
    {5, 70, 24, 3, 4, 2, 1, 1, 3, 1, 3, 2, 3, true, 0, 0},     // separable with dilation and ceil_mode
};

Pool2dDesc to_desc(const PoolCase& p) {
  Pool2dDesc d;
  d.in_h = p.in_h, d.in_w = p.in_w, d.channels = p.channels;
  d.kernel_h = p.kh, d.kernel_w = p.kw, d.stride_h = p.sh, d.stride_w = p.sw;
  d.pad_top = p.pt, d.pad_left = p.pl, d.pad_bottom = p.pb, d.pad_right = p.pr;
  d.dilation_h = p.dh, d.dilation_w = p.dw, d.ceil_mode = p.ceil_mode;
  return d;
}

TEST(VectorOpsScalar, MaxPoolMatchesNaive) {
  std::mt19937 rng(4);
  for (const PoolCase& p : kPoolCases) {
    Pool2dDesc d = to_desc(p);
    const int oh = naive_pool_out(p.in_h, p.kh, p.sh, p.pt, p.pb, p.dh, p.ceil_mode);
    const int ow = naive_pool_out(p.in_w, p.kw, p.sw, p.pl, p.pr, p.dw, p.ceil_mode);
    ASSERT_EQ(d.out_h(), oh);
    ASSERT_EQ(d.out_w(), ow);
    const int64_t xs = p.channels + p.x_extra, ys = p.channels + p.y_extra;
    View x(int64_t{p.in_h} * p.in_w, p.channels, xs), y(int64_t{oh} * ow, p.channels, ys);
    x.fill(rng, -5, 5);
    maxpool2d_nhwc_f32(d, x.data(), xs, y.data(), ys, Isa::kScalar);
    for (int i = 0; i < oh; ++i) {
      for (int j = 0; j < ow; ++j) {
        for (int c = 0; c < p.channels; ++c) {
          // The window in padded coordinates; padding is -inf.
          float want = -INFINITY;
          for (int a = 0; a < p.kh; ++a) {
            for (int b = 0; b < p.kw; ++b) {
              int ih = i * p.sh + a * p.dh - p.pt, iw = j * p.sw + b * p.dw - p.pl;
              if (ih >= 0 && ih < p.in_h && iw >= 0 && iw < p.in_w) want = std::max(want, x.at(ih * p.in_w + iw, c));
            }
          }
          ASSERT_EQ(y.at(int64_t{i} * ow + j, c), want) << "pixel " << i << "," << j << " channel " << c;
        }
      }
    }
    EXPECT_EQ(y.touched_outside(), 0);
  }
}

TEST(VectorOpsScalar, ResizeNearestIndices) {
  // Source index floor(o * in / out): 3 -> 5 gives 0 0 1 1 2, 2 -> 4 gives 0 0 1 1, 9 -> 4 gives 0 2 4 6.
  const int channels = 3;
  auto image = [&](int h, int w) {
    View x(int64_t{h} * w, channels, 4);  // pixel stride 4
    for (int i = 0; i < h; ++i) {
      for (int j = 0; j < w; ++j) {
        for (int c = 0; c < channels; ++c) x.at(i * w + j, c) = static_cast<float>(100 * i + 10 * j + c);
      }
    }
    return x;
  };
  View x = image(3, 2), y(5 * 4, channels, 5);
  resize_nearest_nhwc_f32(x.data(), 3, 2, channels, 4, y.data(), 5, 4, 5, Isa::kScalar);
  const int hmap[5] = {0, 0, 1, 1, 2}, wmap[4] = {0, 0, 1, 1};
  for (int h = 0; h < 5; ++h) {
    for (int w = 0; w < 4; ++w) {
      for (int c = 0; c < channels; ++c) {
        EXPECT_EQ(y.at(h * 4 + w, c), static_cast<float>(100 * hmap[h] + 10 * wmap[w] + c));
      }
    }
  }
  EXPECT_EQ(y.touched_outside(), 0);
  View x2 = image(3, 9), z(3 * 4, channels, 3);
  resize_nearest_nhwc_f32(x2.data(), 3, 9, channels, 4, z.data(), 3, 4, 3, Isa::kScalar);
  const int wmap2[4] = {0, 2, 4, 6};
  for (int h = 0; h < 3; ++h) {
    for (int w = 0; w < 4; ++w) {
      for (int c = 0; c < channels; ++c) {
        EXPECT_EQ(z.at(h * 4 + w, c), static_cast<float>(100 * h + 10 * wmap2[w] + c));
      }
    }
  }
  EXPECT_EQ(z.touched_outside(), 0);
}

TEST(VectorOpsScalar, TransposesMatchNaive) {
  std::mt19937 rng(5);
  const int channels = 5;
  const int64_t pixels = 11, stride = 8;
  View nchw(channels, pixels), nhwc(pixels, channels, stride), back(channels, pixels);
  nchw.fill(rng, -1, 1);
  nchw_to_nhwc_f32(nchw.data(), channels, pixels, nhwc.data(), stride, Isa::kScalar);
  for (int c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < pixels; ++p) EXPECT_EQ(nhwc.at(p, c), nchw.at(c, p));
  }
  nhwc_to_nchw_f32(nhwc.data(), channels, pixels, stride, back.data(), Isa::kScalar);
  EXPECT_TRUE(equal_views(back, nchw));
  EXPECT_EQ(nhwc.touched_outside(), 0);
  EXPECT_EQ(back.touched_outside(), 0);
}

TEST(VectorOps, RejectsBadArguments) {
  float buf[64] = {};
  EXPECT_THROW(binary_f32(BinaryOp::kAdd, buf, 4, buf, 8, buf, 8, 2, 8, Isa::kScalar), Error);  // lda < cols
  EXPECT_THROW(activation_f32(Activation::kRelu, buf, 8, buf, 8, -1, 8, Isa::kScalar), Error);
  EXPECT_THROW(matmul_f32(buf, 2, buf, 4, buf, 4, 2, 4, 3, Isa::kScalar), Error);  // lda < k
  Pool2dDesc d;
  d.in_h = d.in_w = 2;
  d.channels = 1;
  d.kernel_h = d.kernel_w = 3;
  EXPECT_THROW(maxpool2d_nhwc_f32(d, buf, 1, buf + 32, 1, Isa::kScalar), Error);  // window > input
  d.kernel_h = d.kernel_w = 1;
  d.stride_h = 0;
  EXPECT_THROW(maxpool2d_nhwc_f32(d, buf, 1, buf + 32, 1, Isa::kScalar), Error);
  EXPECT_THROW(nchw_to_nhwc_f32(buf, 4, 4, buf + 32, 3, Isa::kScalar), Error);  // pixel stride < channels
  // Empty views are fine and touch nothing.
  binary_f32(BinaryOp::kAdd, nullptr, 0, nullptr, 0, nullptr, 0, 0, 5, Isa::kScalar);
  softmax_rows_f32(nullptr, nullptr, 3, 0, Isa::kScalar);
}

// ----------------------------------------------------------------------------------------------------
// Every SIMD variant against the scalar reference.

class VectorOpsIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    const auto isas = supported_isas();
    if (std::find(isas.begin(), isas.end(), GetParam()) == isas.end()) {
      GTEST_SKIP() << "this CPU does not support " << isa_name(GetParam());
    }
  }
  Isa isa() const { return GetParam(); }
};

TEST_P(VectorOpsIsa, Binary) {
  std::mt19937 rng(10);
  for (BinaryOp op : kOps) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        const int64_t extra = rng() % 3 == 0 ? 0 : 1 + rng() % 9;  // some views contiguous (collapsed)
        View a(rows, cols, cols + extra), b(rows, cols, cols + (extra ? rng() % 5 : 0)),
            y(rows, cols, cols + (extra ? rng() % 7 : 0));
        a.fill(rng, -3, 3);
        fill_divisor(b, rng);
        View want(rows, cols, y.ld());
        binary_f32(op, a.data(), a.ld(), b.data(), b.ld(), want.data(), want.ld(), rows, cols, Isa::kScalar);
        binary_f32(op, a.data(), a.ld(), b.data(), b.ld(), y.data(), y.ld(), rows, cols, isa());
        ASSERT_TRUE(equal_views(y, want)) << op_name(op);
        ASSERT_EQ(y.touched_outside(), 0) << op_name(op) << " " << rows << "x" << cols;
        // In place: y == a, then y == b.
        View a2 = a;
        binary_f32(op, a2.data(), a2.ld(), b.data(), b.ld(), a2.data(), a2.ld(), rows, cols, isa());
        ASSERT_TRUE(equal_views(a2, want)) << op_name(op) << " in place on a";
        ASSERT_EQ(a2.touched_outside(), 0);
        View b2 = b;
        binary_f32(op, a.data(), a.ld(), b2.data(), b2.ld(), b2.data(), b2.ld(), rows, cols, isa());
        ASSERT_TRUE(equal_views(b2, want)) << op_name(op) << " in place on b";
        ASSERT_EQ(b2.touched_outside(), 0);
      }
    }
  }
}

TEST_P(VectorOpsIsa, BinaryScalarAndRowBroadcast) {
  std::mt19937 rng(11);
  for (BinaryOp op : kOps) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        const int64_t extra = rng() % 3 == 0 ? 0 : 1 + rng() % 9;
        View a(rows, cols, cols + extra), y(rows, cols, cols + extra + rng() % 3), b(1, cols);
        fill_divisor(a, rng);
        fill_divisor(b, rng);
        for (bool first : {false, true}) {
          View want(rows, cols, y.ld());
          binary_scalar_f32(op, a.data(), a.ld(), -1.375f, first, want.data(), want.ld(), rows, cols, Isa::kScalar);
          binary_scalar_f32(op, a.data(), a.ld(), -1.375f, first, y.data(), y.ld(), rows, cols, isa());
          ASSERT_TRUE(equal_views(y, want)) << op_name(op) << " scalar_first " << first;
          ASSERT_EQ(y.touched_outside(), 0);
          View a2 = a;
          binary_scalar_f32(op, a2.data(), a2.ld(), -1.375f, first, a2.data(), a2.ld(), rows, cols, isa());
          ASSERT_TRUE(equal_views(a2, want)) << op_name(op) << " in place";
          ASSERT_EQ(a2.touched_outside(), 0);
        }
        View want(rows, cols, y.ld());
        binary_row_broadcast_f32(op, a.data(), a.ld(), b.data(), want.data(), want.ld(), rows, cols, Isa::kScalar);
        binary_row_broadcast_f32(op, a.data(), a.ld(), b.data(), y.data(), y.ld(), rows, cols, isa());
        ASSERT_TRUE(equal_views(y, want)) << op_name(op) << " row broadcast";
        ASSERT_EQ(y.touched_outside(), 0);
        View a2 = a;
        binary_row_broadcast_f32(op, a2.data(), a2.ld(), b.data(), a2.data(), a2.ld(), rows, cols, isa());
        ASSERT_TRUE(equal_views(a2, want)) << op_name(op) << " row broadcast in place";
        ASSERT_EQ(a2.touched_outside(), 0);
        ASSERT_EQ(b.touched_outside(), 0);
      }
    }
  }
}

TEST_P(VectorOpsIsa, Activations) {
  std::mt19937 rng(12);
  for (Activation act : kActs) {
    for (int64_t rows : kRows) {
      for (int64_t cols : kCols) {
        const int64_t extra = rng() % 3 == 0 ? 0 : 1 + rng() % 9;
        View x(rows, cols, cols + extra), y(rows, cols, cols + extra + rng() % 4);
        x.fill(rng, -30, 30);
        View want(rows, cols, y.ld());
        activation_f32(act, x.data(), x.ld(), want.data(), want.ld(), rows, cols, Isa::kScalar);
        activation_f32(act, x.data(), x.ld(), y.data(), y.ld(), rows, cols, isa());
        const bool exact = act == Activation::kNone || act == Activation::kRelu;
        if (exact) {
          ASSERT_TRUE(equal_views(y, want)) << act_name(act);
        } else {
          ASSERT_TRUE(close_views(y, want, 1e-30, 2e-6)) << act_name(act);
        }
        ASSERT_EQ(y.touched_outside(), 0) << act_name(act);
        View x2 = x;
        activation_f32(act, x2.data(), x2.ld(), x2.data(), x2.ld(), rows, cols, isa());
        ASSERT_TRUE(close_views(x2, want, 1e-30, exact ? 0 : 2e-6)) << act_name(act) << " in place";
        ASSERT_EQ(x2.touched_outside(), 0);
      }
    }
  }
}

TEST_P(VectorOpsIsa, ActivationsExtremeInputs) {
  const float big = std::numeric_limits<float>::max();
  const std::vector<float> values = {0.0f,   -0.0f,  1e-30f, -1e-30f, 100.0f, -100.0f, 1e30f, -1e30f, big,
                                     -big,   87.0f,  -87.0f, 88.5f,   -88.5f, 89.0f,   -89.0f, 1e5f, -1e5f,
                                     20.0f, -20.0f, 0.5f};
  const int64_t n = static_cast<int64_t>(values.size());
  View x(1, n), y(1, n);
  for (int64_t i = 0; i < n; ++i) x.at(0, i) = values[static_cast<size_t>(i)];
  for (Activation act : {Activation::kSigmoid, Activation::kSilu}) {
    activation_f32(act, x.data(), n, y.data(), n, 1, n, isa());
    for (int64_t i = 0; i < n; ++i) {
      const float got = y.at(0, i);
      const double want = naive_act(act, x.at(0, i));
      ASSERT_TRUE(std::isfinite(got)) << act_name(act) << "(" << x.at(0, i) << ") = " << got;
      EXPECT_NEAR(got, want, 3e-6 * std::fabs(want) + 1e-30) << act_name(act) << "(" << x.at(0, i) << ")";
    }
    EXPECT_EQ(y.touched_outside(), 0);
  }
  // NaN propagates through sigmoid and silu.
  float nan_in[3] = {1.0f, std::numeric_limits<float>::quiet_NaN(), -1.0f}, out[3];
  for (Activation act : {Activation::kSigmoid, Activation::kSilu}) {
    activation_f32(act, nan_in, 3, out, 3, 1, 3, isa());
    EXPECT_TRUE(std::isnan(out[1])) << act_name(act);
    EXPECT_FALSE(std::isnan(out[0]) || std::isnan(out[2])) << act_name(act);
  }
}

TEST_P(VectorOpsIsa, Softmax) {
  std::mt19937 rng(13);
  for (int64_t cols : {1, 2, 7, 8, 15, 16, 17, 31, 33, 100, 400}) {
    for (int64_t rows : {1, 3, 10}) {
      View x(rows, cols), y(rows, cols), want(rows, cols);
      x.fill(rng, -10, 10);
      softmax_rows_f32(x.data(), want.data(), rows, cols, Isa::kScalar);
      softmax_rows_f32(x.data(), y.data(), rows, cols, isa());
      ASSERT_TRUE(close_views(y, want, 1e-9, 3e-6)) << "cols " << cols;
      ASSERT_EQ(y.touched_outside(), 0) << "cols " << cols;
      View x2 = x;
      softmax_rows_f32(x2.data(), x2.data(), rows, cols, isa());
      ASSERT_TRUE(close_views(x2, want, 1e-9, 3e-6)) << "cols " << cols << " in place";
      ASSERT_EQ(x2.touched_outside(), 0);
    }
  }
}

TEST_P(VectorOpsIsa, SoftmaxExtremeInputs) {
  const float big = std::numeric_limits<float>::max();
  const std::vector<std::vector<float>> rows = {
      {1e30f, -1e30f, 0.0f, 100.0f, -100.0f},
      {-1e30f, -1e30f, -1e30f},
      {1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f, 1e30f,
       1e30f, 1e30f},
      {big, -big, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
      {0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f},
      {-100.0f, 100.0f, -100.0f, 99.0f, -1e30f, 1e-30f, 50.0f, -50.0f, 100.0f},
  };
  for (const auto& row : rows) {
    const int64_t n = static_cast<int64_t>(row.size());
    View x(1, n), y(1, n);
    for (int64_t i = 0; i < n; ++i) x.at(0, i) = row[static_cast<size_t>(i)];
    softmax_rows_f32(x.data(), y.data(), 1, n, isa());
    double mx = -INFINITY, sum = 0;
    for (float v : row) mx = std::max(mx, static_cast<double>(v));
    for (float v : row) sum += std::exp(static_cast<double>(v) - mx);
    for (int64_t i = 0; i < n; ++i) {
      const double want = std::exp(static_cast<double>(row[static_cast<size_t>(i)]) - mx) / sum;
      ASSERT_TRUE(std::isfinite(y.at(0, i))) << "element " << i << " of a row of " << n;
      EXPECT_NEAR(y.at(0, i), want, 2e-6 * want + 1e-30) << "element " << i << " of a row of " << n;
    }
    EXPECT_EQ(y.touched_outside(), 0);
  }
}

TEST_P(VectorOpsIsa, Matmul) {
  std::mt19937 rng(14);
  struct Shape {
    int64_t m, n, k;
  };
  std::vector<Shape> shapes = {{1, 1, 1},   {1, 7, 3},    {5, 16, 8},  {12, 32, 17}, {13, 33, 130},
                               {25, 47, 300}, {7, 64, 1},  {30, 15, 40}, {6, 8, 129}, {24, 100, 32}};
  const int64_t ms[] = {1, 2, 5, 6, 7, 11, 12, 13, 25}, ns[] = {1, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64},
                ks[] = {1, 2, 7, 17, 64, 129, 257};
  for (int i = 0; i < 30; ++i) {
    shapes.push_back({ms[rng() % std::size(ms)], ns[rng() % std::size(ns)], ks[rng() % std::size(ks)]});
  }
  for (const Shape& s : shapes) {
    const int64_t extra = rng() % 2 ? 0 : 1 + rng() % 7;
    View a(s.m, s.k, s.k + extra), b(s.k, s.n, s.n + extra), c(s.m, s.n, s.n + extra), want(s.m, s.n, s.n);
    a.fill(rng, -1, 1);
    b.fill(rng, -1, 1);
    c.fill_value(123.0f);  // must be overwritten, not accumulated into
    matmul_f32(a.data(), a.ld(), b.data(), b.ld(), want.data(), want.ld(), s.m, s.n, s.k, Isa::kScalar);
    matmul_f32(a.data(), a.ld(), b.data(), b.ld(), c.data(), c.ld(), s.m, s.n, s.k, isa());
    ASSERT_TRUE(close_views(c, want, 2e-6 * static_cast<double>(s.k), 1e-5))
        << "m " << s.m << " n " << s.n << " k " << s.k;
    ASSERT_EQ(c.touched_outside(), 0) << "m " << s.m << " n " << s.n << " k " << s.k;
    ASSERT_EQ(a.touched_outside(), 0);
    ASSERT_EQ(b.touched_outside(), 0);
  }
}

TEST_P(VectorOpsIsa, MaxPool) {
  std::mt19937 rng(15);
  for (const PoolCase& p : kPoolCases) {
    Pool2dDesc d = to_desc(p);
    const int64_t xs = p.channels + p.x_extra, ys = p.channels + p.y_extra;
    View x(int64_t{p.in_h} * p.in_w, p.channels, xs), y(int64_t{d.out_h()} * d.out_w(), p.channels, ys),
        want(int64_t{d.out_h()} * d.out_w(), p.channels, ys);
    x.fill(rng, -5, 5);
    maxpool2d_nhwc_f32(d, x.data(), xs, want.data(), ys, Isa::kScalar);
    maxpool2d_nhwc_f32(d, x.data(), xs, y.data(), ys, isa());
    ASSERT_TRUE(equal_views(y, want)) << "channels " << p.channels;
    ASSERT_EQ(y.touched_outside(), 0) << "channels " << p.channels;
  }
}

TEST_P(VectorOpsIsa, ResizeNearest) {
  std::mt19937 rng(16);
  struct Case {
    int in_h, in_w, out_h, out_w, channels;
    int64_t x_extra, y_extra;
  };
  const Case cases[] = {{5, 6, 10, 12, 17, 0, 0},  {4, 4, 8, 8, 64, 0, 3},   {3, 5, 7, 13, 7, 2, 0},
                        {9, 8, 4, 3, 16, 1, 1},    {1, 1, 3, 2, 33, 0, 0},   {6, 7, 6, 7, 1, 0, 2},
                        {2, 3, 6, 9, 100, 4, 0}};
  for (const Case& c : cases) {
    const int64_t xs = c.channels + c.x_extra, ys = c.channels + c.y_extra;
    View x(int64_t{c.in_h} * c.in_w, c.channels, xs), y(int64_t{c.out_h} * c.out_w, c.channels, ys),
        want(int64_t{c.out_h} * c.out_w, c.channels, ys);
    x.fill(rng, -1, 1);
    resize_nearest_nhwc_f32(x.data(), c.in_h, c.in_w, c.channels, xs, want.data(), c.out_h, c.out_w, ys,
                            Isa::kScalar);
    resize_nearest_nhwc_f32(x.data(), c.in_h, c.in_w, c.channels, xs, y.data(), c.out_h, c.out_w, ys, isa());
    ASSERT_TRUE(equal_views(y, want)) << c.in_h << "x" << c.in_w << " -> " << c.out_h << "x" << c.out_w;
    ASSERT_EQ(y.touched_outside(), 0);
  }
}

TEST_P(VectorOpsIsa, Transposes) {
  std::mt19937 rng(17);
  for (int channels : {1, 3, 7, 8, 16, 17, 33, 64}) {
    for (int64_t pixels : {1, 5, 16, 17, 100}) {
      const int64_t stride = channels + (rng() % 2 ? 0 : 1 + rng() % 5);
      View nchw(channels, pixels), nhwc(pixels, channels, stride), want_nhwc(pixels, channels, stride);
      nchw.fill(rng, -1, 1);
      nchw_to_nhwc_f32(nchw.data(), channels, pixels, want_nhwc.data(), stride, Isa::kScalar);
      nchw_to_nhwc_f32(nchw.data(), channels, pixels, nhwc.data(), stride, isa());
      ASSERT_TRUE(equal_views(nhwc, want_nhwc)) << channels << " channels, " << pixels << " pixels";
      ASSERT_EQ(nhwc.touched_outside(), 0) << channels << " channels, " << pixels << " pixels";
      View back(channels, pixels);
      nhwc_to_nchw_f32(nhwc.data(), channels, pixels, stride, back.data(), isa());
      ASSERT_TRUE(equal_views(back, nchw)) << channels << " channels, " << pixels << " pixels";
      ASSERT_EQ(back.touched_outside(), 0);
    }
  }
}

// Integer ISAs run the float kernels of their family.
TEST_P(VectorOpsIsa, IntegerIsasMapToTheirFloatFamily) {
  for (Isa other : supported_isas()) {
    if (float_isa(other) != isa() || other == isa()) continue;
    View x(3, 21), want(3, 21), got(3, 21);
    std::mt19937 rng(18);
    x.fill(rng, -5, 5);
    activation_f32(Activation::kSigmoid, x.data(), 21, want.data(), 21, 3, 21, isa());
    activation_f32(Activation::kSigmoid, x.data(), 21, got.data(), 21, 3, 21, other);
    EXPECT_TRUE(equal_views(got, want)) << isa_name(other);
  }
}

// The vectorised exp keeps sigmoid, silu and softmax within ~2e-7 relative of the exact values (the
// scalar reference, using std::exp, is as good); 6e-7 leaves room for rounding but not for a wrong
// polynomial.
TEST_P(VectorOpsIsa, AccuracyAgainstDouble) {
  const int64_t n = 20001;
  View x(1, n), y(1, n);
  for (int64_t i = 0; i < n; ++i) x.at(0, i) = -40.0f + 80.0f * static_cast<float>(i) / (n - 1);
  for (Activation act : {Activation::kSigmoid, Activation::kSilu}) {
    activation_f32(act, x.data(), n, y.data(), n, 1, n, isa());
    for (int64_t i = 0; i < n; ++i) {
      const double want = naive_act(act, x.at(0, i));
      ASSERT_NEAR(y.at(0, i), want, 6e-7 * std::fabs(want)) << act_name(act) << "(" << x.at(0, i) << ")";
    }
  }
  // Rows [0, t]: the second output is exp(t) / (1 + exp(t)), for t down to -80.
  View sx(n, 2), sy(n, 2);
  for (int64_t i = 0; i < n; ++i) {
    sx.at(i, 0) = 0.0f;
    sx.at(i, 1) = -80.0f + 80.0f * static_cast<float>(i) / (n - 1);
  }
  softmax_rows_f32(sx.data(), sy.data(), n, 2, isa());
  for (int64_t i = 0; i < n; ++i) {
    const double t = sx.at(i, 1), want = std::exp(t) / (1.0 + std::exp(t));
    ASSERT_NEAR(sy.at(i, 1), want, 6e-7 * want) << "softmax([0, " << t << "])";
  }
}

// Floats placed against an inaccessible page, so that any read or write past the end (or, with
// at_start, before the start) faults. Masked SIMD accesses do not fault on masked-off lanes; real
// over-reads do, which the canaries (write-only) cannot see.
class Fenced {
 public:
  Fenced(int64_t n, bool at_start) : n_(n) {
    const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    const size_t bytes = static_cast<size_t>(n) * sizeof(float);
    const size_t body = (bytes + page - 1) / page * page;
    len_ = body + 2 * page;
    void* p = mmap(nullptr, len_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::runtime_error("mmap failed");
    base_ = static_cast<char*>(p);
    mprotect(base_, page, PROT_NONE);
    mprotect(base_ + page + body, page, PROT_NONE);
    data_ = reinterpret_cast<float*>(at_start ? base_ + page : base_ + page + body - bytes);
  }
  ~Fenced() { munmap(base_, len_); }
  Fenced(const Fenced&) = delete;
  Fenced& operator=(const Fenced&) = delete;
  float* data() { return data_; }
  void fill(std::mt19937& rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t i = 0; i < n_; ++i) data_[i] = dist(rng);
  }

 private:
  int64_t n_;
  size_t len_ = 0;
  char* base_ = nullptr;
  float* data_ = nullptr;
};

TEST_P(VectorOpsIsa, NoAccessOutsideTheViews) {
  std::mt19937 rng(19);
  for (bool at_start : {false, true}) {
    for (int64_t cols : {1, 7, 15, 17, 33, 130}) {
      for (int64_t rows : {1, 3}) {
        const int64_t ld = cols + (rows > 1 ? 3 : 0), n = (rows - 1) * ld + cols;
        Fenced a(n, at_start), b(n, at_start), y(n, at_start), row(cols, at_start);
        a.fill(rng, -2, 2);
        b.fill(rng, 0.5f, 2);
        row.fill(rng, 0.5f, 2);
        for (BinaryOp op : kOps) {
          binary_f32(op, a.data(), ld, b.data(), ld, y.data(), ld, rows, cols, isa());
          binary_scalar_f32(op, a.data(), ld, 3.0f, true, y.data(), ld, rows, cols, isa());
          binary_row_broadcast_f32(op, a.data(), ld, row.data(), y.data(), ld, rows, cols, isa());
        }
        for (Activation act : kActs) activation_f32(act, a.data(), ld, y.data(), ld, rows, cols, isa());
        Fenced sx(rows * cols, at_start), sy(rows * cols, at_start);
        sx.fill(rng, -3, 3);
        softmax_rows_f32(sx.data(), sy.data(), rows, cols, isa());
        // matmul [rows x cols] * [cols x 19] and [19 x rows] * [rows x cols]
        Fenced mb(cols * 19, at_start), mc(rows * 19, at_start), ma(19 * rows, at_start), md(19 * cols, at_start);
        mb.fill(rng, -1, 1);
        ma.fill(rng, -1, 1);
        matmul_f32(sx.data(), cols, mb.data(), 19, mc.data(), 19, rows, 19, cols, isa());
        matmul_f32(ma.data(), rows, sx.data(), cols, md.data(), cols, 19, cols, rows, isa());
        // layouts: cols channels x (rows * 5) pixels
        const int64_t pixels = rows * 5;
        Fenced nchw(cols * pixels, at_start), nhwc(cols * pixels, at_start);
        nchw.fill(rng, -1, 1);
        nchw_to_nhwc_f32(nchw.data(), static_cast<int>(cols), pixels, nhwc.data(), cols, isa());
        nhwc_to_nchw_f32(nhwc.data(), static_cast<int>(cols), pixels, cols, nchw.data(), isa());
        // pooling (direct and separable) and resize on a 5 x 6 image of `cols` channels
        Pool2dDesc d;
        d.in_h = 5, d.in_w = 6, d.channels = static_cast<int>(cols);
        Fenced img(30 * cols, at_start);
        img.fill(rng, -1, 1);
        for (int k : {2, 5}) {
          d.kernel_h = d.kernel_w = k;
          d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = k / 2;
          d.stride_h = d.stride_w = k == 2 ? 2 : 1;
          Fenced out(static_cast<int64_t>(d.out_h()) * d.out_w() * cols, at_start);
          maxpool2d_nhwc_f32(d, img.data(), cols, out.data(), cols, isa());
        }
        Fenced up(11 * 13 * cols, at_start);
        resize_nearest_nhwc_f32(img.data(), 5, 6, static_cast<int>(cols), cols, up.data(), 11, 13, cols, isa());
      }
    }
  }
  SUCCEED() << "no fault";
}

INSTANTIATE_TEST_SUITE_P(AllIsas, VectorOpsIsa, ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

// ----------------------------------------------------------------------------------------------------
// Timings of the model's shapes, every supported float ISA against scalar. Not a test: run with
//   test_vector_ops_f32 --gtest_also_run_disabled_tests --gtest_filter='*Speed*'

double best_seconds(const std::function<void()>& fn, double min_total = 0.2) {
  fn();
  double best = 1e30, total = 0;
  for (int rep = 0; rep < 1000 && (total < min_total || rep < 3); ++rep) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    best = std::min(best, s);
    total += s;
  }
  return best;
}

TEST(VectorOpsBench, DISABLED_Speed) {
  std::mt19937 rng(99);
  std::vector<Isa> isas;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    const auto s = supported_isas();
    if (std::find(s.begin(), s.end(), i) != s.end()) isas.push_back(i);
  }
  const int64_t big = 64 * 160 * 160;
  View a(1, big), b(1, big), y(1, big);
  a.fill(rng, -8, 8);
  b.fill(rng, -8, 8);
  View dfl(8400 * 4, 16), dfl_out(8400 * 4, 16), att(400, 400), att_out(400, 400);
  dfl.fill(rng, -5, 5);
  att.fill(rng, -5, 5);
  View qa(400, 32), qb(32, 400), qc(400, 400), va(64, 400), vb(400, 400), vc(64, 400);
  qa.fill(rng, -1, 1);
  qb.fill(rng, -1, 1);
  va.fill(rng, -1, 1);
  vb.fill(rng, -1, 1);
  Pool2dDesc pd;
  pd.in_h = pd.in_w = 20;
  pd.channels = 256;
  pd.kernel_h = pd.kernel_w = 5;
  pd.pad_top = pd.pad_left = pd.pad_bottom = pd.pad_right = 2;
  View px(400, 256), py(400, 256), rx(20 * 20, 256), ry(40 * 40, 256);
  px.fill(rng, -1, 1);
  rx.fill(rng, -1, 1);
  View tn(64, 6400), tt(6400, 64);
  tn.fill(rng, -1, 1);

  struct Case {
    const char* name;
    double bytes;  // moved to or from memory, for GB/s
    std::function<void(Isa)> run;
  };
  const Case cases[] = {
      {"sigmoid 64x160x160", 8.0 * big,
       [&](Isa i) { activation_f32(Activation::kSigmoid, a.data(), big, y.data(), big, 1, big, i); }},
      {"silu 64x160x160", 8.0 * big,
       [&](Isa i) { activation_f32(Activation::kSilu, a.data(), big, y.data(), big, 1, big, i); }},
      {"mul 64x160x160", 12.0 * big,
       [&](Isa i) { binary_f32(BinaryOp::kMul, a.data(), big, b.data(), big, y.data(), big, 1, big, i); }},
      {"add 64x160x160", 12.0 * big,
       [&](Isa i) { binary_f32(BinaryOp::kAdd, a.data(), big, b.data(), big, y.data(), big, 1, big, i); }},
      {"softmax 33600x16", 8.0 * 33600 * 16,
       [&](Isa i) { softmax_rows_f32(dfl.data(), dfl_out.data(), 33600, 16, i); }},
      {"softmax 400x400", 8.0 * 400 * 400, [&](Isa i) { softmax_rows_f32(att.data(), att_out.data(), 400, 400, i); }},
      {"matmul 400x32 * 32x400", 0,
       [&](Isa i) { matmul_f32(qa.data(), 32, qb.data(), 400, qc.data(), 400, 400, 400, 32, i); }},
      {"matmul 64x400 * 400x400", 0,
       [&](Isa i) { matmul_f32(va.data(), 400, vb.data(), 400, vc.data(), 400, 64, 400, 400, i); }},
      {"maxpool 5x5 s1 p2 256x20x20", 0,
       [&](Isa i) { maxpool2d_nhwc_f32(pd, px.data(), 256, py.data(), 256, i); }},
      {"resize x2 256x20x20", 4.0 * 256 * 2000,
       [&](Isa i) { resize_nearest_nhwc_f32(rx.data(), 20, 20, 256, 256, ry.data(), 40, 40, 256, i); }},
      {"nchw->nhwc 64x80x80", 8.0 * 64 * 6400,
       [&](Isa i) { nchw_to_nhwc_f32(tn.data(), 64, 6400, tt.data(), 64, i); }},
      {"nhwc->nchw 64x80x80", 8.0 * 64 * 6400,
       [&](Isa i) { nhwc_to_nchw_f32(tt.data(), 64, 6400, 64, tn.data(), i); }},
  };
  const double flops[] = {0, 0, 0, 0, 0, 0, 2.0 * 400 * 400 * 32, 2.0 * 64 * 400 * 400, 0, 0, 0, 0};
  int idx = 0;
  for (const Case& c : cases) {
    double scalar_s = 0;
    std::string line = std::string(c.name);
    line.resize(30, ' ');
    for (Isa i : isas) {
      double s = best_seconds([&] { c.run(i); });
      if (i == Isa::kScalar) scalar_s = s;
      char buf[160];
      if (flops[idx] > 0) {
        std::snprintf(buf, sizeof buf, "  %s %8.1f us (%5.1f GFLOP/s, x%.1f)", std::string(isa_name(i)).c_str(),
                      s * 1e6, flops[idx] / s * 1e-9, scalar_s / s);
      } else if (c.bytes > 0) {
        std::snprintf(buf, sizeof buf, "  %s %8.1f us (%5.1f GB/s, x%.1f)", std::string(isa_name(i)).c_str(),
                      s * 1e6, c.bytes / s * 1e-9, scalar_s / s);
      } else {
        std::snprintf(buf, sizeof buf, "  %s %8.1f us (x%.1f)", std::string(isa_name(i)).c_str(), s * 1e6,
                      scalar_s / s);
      }
      line += buf;
    }
    std::printf("%s\n", line.c_str());
    ++idx;
  }
}

}  // namespace
}  // namespace sp::kernels
