// u8 activation kernels: the scalar reference against the formulas of quant_u8.h written out here (and
// hand-checked values: half-to-even ties, saturation, NaN, infinities), then every ISA the CPU has
// bit-exact against the scalar reference on random sizes, strides and thread counts.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/error.h"
#include "core/kernels/quant_u8/quant_u8.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace {

constexpr uint8_t kCanary = 0xA5;

// The formula of quant_u8.h: clamp(rne(f) + zp, 0, 255) with NaN -> zp.
uint8_t quantize_formula(float f, int zp) {
  if (std::isnan(f)) return static_cast<uint8_t>(zp);
  const double r = std::nearbyint(static_cast<double>(f)) + zp;  // rne of a float is exact in double
  return static_cast<uint8_t>(r < 0 ? 0 : (r > 255 ? 255 : r));
}

// ---- hand-checked values --------------------------------------------------------------------------

TEST(QuantU8, QuantizeHandChecked) {
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // scale 0.5, zero point 10: x / 0.5 = 2x. Ties go to even: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, -1.5 -> -2.
  const float x[] = {0.25f, 0.75f, 1.25f, -0.25f, -0.75f, 1.75f, 1000.0f, -1000.0f, nan, inf, -inf, 122.5f, 122.75f, -5.0f};
  const uint8_t want[] = {10, 12, 12, 10, 8, 14, 255, 0, 10, 255, 0, 255, 255, 0};
  constexpr int n = sizeof(x) / sizeof(x[0]);
  for (Isa isa : supported_isas()) {
    // One pixel of n channels, and n pixels of one channel: both the vector body and the tails.
    uint8_t y[n], y1[n];
    quantize_f32_u8(x, n, 1, n, {0.5f, 10}, y, n, isa);
    quantize_f32_u8(x, 1, n, 1, {0.5f, 10}, y1, 1, isa);
    for (int i = 0; i < n; ++i) {
      EXPECT_EQ(y[i], want[i]) << isa_name(isa) << " x=" << x[i];
      EXPECT_EQ(y1[i], want[i]) << isa_name(isa) << " x=" << x[i];
    }
  }
  // A true division, not a multiplication by 1 / scale: with scale 0.1f, x / s and x * (1 / s) round
  // to opposite sides of .5 for these x (found by search): 15.499999 -> 15 vs 15.5 -> 16, and
  // 32.5 -> 32 (tie to even) vs 32.500004 -> 33.
  const float xd[] = {0x1.8cccccp+0f, 0x1.a00002p+1f};
  const uint8_t want_div[] = {15, 32};
  for (Isa isa : supported_isas()) {
    uint8_t q[2] = {};
    quantize_f32_u8(xd, 2, 1, 2, {0.1f, 0}, q, 2, isa);
    EXPECT_EQ(q[0], want_div[0]) << isa_name(isa);
    EXPECT_EQ(q[1], want_div[1]) << isa_name(isa);
  }
}

TEST(QuantU8, DequantizeHandChecked) {
  const uint8_t x[] = {0, 10, 11, 255, 9};
  const float want[] = {-2.5f, 0.0f, 0.25f, 61.25f, -0.25f};
  for (Isa isa : supported_isas()) {
    float y[5];
    dequantize_u8_f32(x, 5, 1, 5, {0.25f, 10}, y, 5, isa);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(y[i], want[i]) << isa_name(isa) << " at " << i;
  }
}

TEST(QuantU8, AddHandChecked) {
  // a: scale 0.5 zp 0; b: scale 1 zp 100; y: scale 1 zp 3. Ties to even after the addition:
  // (1, 100): 0.5 -> 0 -> 3.  (3, 100): 1.5 -> 2 -> 5.  (5, 100): 2.5 -> 2 -> 5.  (7, 99): 3.5 - 1 = 2.5 -> 5.
  // Saturation: (255, 255): 127.5 + 155 = 282.5 -> 282 + 3 -> 255.  (0, 0): -100 + 3 -> 0.
  const uint8_t a[] = {1, 3, 5, 255, 0, 7};
  const uint8_t b[] = {100, 100, 100, 255, 0, 99};
  const uint8_t want[] = {3, 5, 5, 255, 0, 5};
  for (Isa isa : supported_isas()) {
    uint8_t y[6];
    add_u8(a, 6, {0.5f, 0}, b, 6, {1.0f, 100}, 1, 6, y, 6, {1.0f, 3}, isa);
    for (int i = 0; i < 6; ++i) EXPECT_EQ(y[i], want[i]) << isa_name(isa) << " at " << i;
  }
}

TEST(QuantU8, RequantizationTableIsDequantizeThenQuantize) {
  const U8Grid in{0.037f, 131}, out{0.05f, 7};
  const auto t = requantization_table(in, out);
  for (int q = 0; q < 256; ++q) {
    const float real = static_cast<float>(q - in.zero_point) * in.scale;
    ASSERT_EQ(t[q], quantize_formula(real / out.scale, out.zero_point)) << "q=" << q;
  }
  const auto id = requantization_table(out, out);
  for (int q = 0; q < 256; ++q) ASSERT_EQ(id[q], q) << "same grid must be the identity";
}

// ---- the scalar reference against the formulas on random data ----------------------------------

std::vector<float> random_floats(std::mt19937& rng, size_t n, float range) {
  std::uniform_real_distribution<float> u(-range, range);
  std::vector<float> v(n);
  for (auto& f : v) f = u(rng);
  return v;
}

std::vector<uint8_t> random_bytes(std::mt19937& rng, size_t n) {
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng() % 256);
  return v;
}

TEST(QuantU8, ScalarMatchesFormulas) {
  std::mt19937 rng(1);
  const int64_t pixels = 37, channels = 19, xs = 23, ys = 21;
  const U8Grid g{0.0173f, 77}, gb{0.031f, 200}, gy{0.041f, 33};
  const auto xf = random_floats(rng, pixels * xs, 3.0f);
  const auto xa = random_bytes(rng, pixels * xs), xb = random_bytes(rng, pixels * xs);
  const auto table = random_bytes(rng, 256);
  std::vector<uint8_t> q(pixels * ys), l(pixels * ys), s(pixels * ys);
  std::vector<float> d(pixels * ys);
  quantize_f32_u8(xf.data(), xs, pixels, channels, g, q.data(), ys, Isa::kScalar);
  dequantize_u8_f32(xa.data(), xs, pixels, channels, g, d.data(), ys, Isa::kScalar);
  lookup_u8(xa.data(), xs, pixels, channels, table.data(), l.data(), ys, Isa::kScalar);
  add_u8(xa.data(), xs, g, xb.data(), xs, gb, pixels, channels, s.data(), ys, gy, Isa::kScalar);
  int mid = 0;
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t c = 0; c < channels; ++c) {
      const int64_t i = p * xs + c, o = p * ys + c;
      ASSERT_EQ(q[o], quantize_formula(xf[i] / g.scale, g.zero_point));
      mid += q[o] > 0 && q[o] < 255;
      ASSERT_EQ(d[o], static_cast<float>(xa[i] - g.zero_point) * g.scale);
      ASSERT_EQ(l[o], table[xa[i]]);
      const float fa = static_cast<float>(xa[i] - g.zero_point) * g.scale;
      const float fb = static_cast<float>(xb[i] - gb.zero_point) * gb.scale;
      const float sum = fa + fb;
      ASSERT_EQ(s[o], quantize_formula(sum / gy.scale, gy.zero_point));
    }
  EXPECT_GT(mid, pixels * channels / 2) << "test data mostly saturates";
}

// Naive max pooling written from the definition: every tap checked, padding ignored, empty window 0.
std::vector<uint8_t> naive_maxpool(const Pool2dDesc& d, const std::vector<uint8_t>& x, int64_t xs) {
  const int oh_n = d.out_h(), ow_n = d.out_w();
  std::vector<uint8_t> y(static_cast<size_t>(oh_n) * ow_n * d.channels, 0);
  for (int oh = 0; oh < oh_n; ++oh)
    for (int ow = 0; ow < ow_n; ++ow)
      for (int c = 0; c < d.channels; ++c) {
        int m = 0;
        for (int kh = 0; kh < d.kernel_h; ++kh)
          for (int kw = 0; kw < d.kernel_w; ++kw) {
            const int ih = oh * d.stride_h - d.pad_top + kh * d.dilation_h;
            const int iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
            if (ih >= 0 && ih < d.in_h && iw >= 0 && iw < d.in_w)
              m = std::max<int>(m, x[(static_cast<size_t>(ih) * d.in_w + iw) * xs + c]);
          }
        y[(static_cast<size_t>(oh) * ow_n + ow) * d.channels + c] = static_cast<uint8_t>(m);
      }
  return y;
}

Pool2dDesc pool_desc(int h, int w, int c, int k, int s, int pad, int dil = 1, bool ceil_mode = false) {
  Pool2dDesc d;
  d.in_h = h, d.in_w = w, d.channels = c;
  d.kernel_h = d.kernel_w = k, d.stride_h = d.stride_w = s;
  d.pad_top = d.pad_left = d.pad_bottom = d.pad_right = pad;
  d.dilation_h = d.dilation_w = dil;
  d.ceil_mode = ceil_mode;
  return d;
}

TEST(QuantU8, ScalarMaxPoolMatchesNaive) {
  std::mt19937 rng(2);
  const Pool2dDesc descs[] = {pool_desc(9, 11, 13, 5, 1, 2), pool_desc(8, 8, 7, 2, 2, 0), pool_desc(7, 9, 5, 3, 2, 1),
                              pool_desc(7, 6, 3, 3, 2, 1, 2), pool_desc(6, 7, 4, 3, 2, 0, 1, true),
                              pool_desc(3, 3, 2, 5, 1, 4)};  // pads beyond the kernel: empty windows give 0
  for (const Pool2dDesc& d : descs) {
    const int64_t xs = d.channels + 3;
    const auto x = random_bytes(rng, static_cast<size_t>(d.in_h) * d.in_w * xs);
    const auto want = naive_maxpool(d, x, xs);
    std::vector<uint8_t> y(want.size());
    maxpool2d_nhwc_u8(d, x.data(), xs, y.data(), d.channels, Isa::kScalar);
    ASSERT_EQ(y, want) << "kernel " << d.kernel_h << " stride " << d.stride_h << " pad " << d.pad_top;
  }
}

// ---- every ISA bit-exact against the scalar reference --------------------------------------------

class QuantU8Isa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam()))
      GTEST_SKIP() << "ISA " << isa_name(GetParam()) << " not supported by this CPU: u8 kernels not tested";
  }
};

struct Shape {
  int64_t pixels, channels, xs, ys;
};

// Random sizes: channel counts around every vector width, strides equal to (folded into one row) or
// above the channel count, pixel counts large enough to go parallel sometimes.
std::vector<Shape> shapes(std::mt19937& rng) {
  std::vector<Shape> out;
  const int64_t channels[] = {1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 128, 129, 255, 300};
  for (int64_t c : channels) {
    const int64_t pixels = 1 + static_cast<int64_t>(rng() % (c > 64 ? 300 : 2000));
    out.push_back({pixels, c, c, c});
    out.push_back({pixels, c, c + static_cast<int64_t>(rng() % 40) + 1, c + static_cast<int64_t>(rng() % 9)});
  }
  return out;
}

// Output buffers are canary-filled: bytes between a pixel's channels and the next pixel must survive.
template <typename T>
void expect_same(const std::vector<T>& got, const std::vector<T>& want, const char* what, const Shape& s, Isa isa,
                 bool threads) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(T)), 0)
        << what << " on " << isa_name(isa) << " differs at element " << i << " (pixels " << s.pixels << " channels "
        << s.channels << " strides " << s.xs << "/" << s.ys << (threads ? ", 2 threads" : "") << ")";
}

TEST_P(QuantU8Isa, ElementwiseBitExactAgainstScalar) {
  const Isa isa = GetParam();
  std::mt19937 rng(3);
  ThreadPool pool(2);
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (const Shape& s : shapes(rng)) {
    const U8Grid ga{0.003f + 0.05f * static_cast<float>(rng() % 1000) / 1000.0f, static_cast<int>(rng() % 256)};
    const U8Grid gb{0.003f + 0.05f * static_cast<float>(rng() % 1000) / 1000.0f, static_cast<int>(rng() % 256)};
    const U8Grid gy{0.003f + 0.05f * static_cast<float>(rng() % 1000) / 1000.0f, static_cast<int>(rng() % 256)};
    auto xf = random_floats(rng, s.pixels * s.xs, 6.0f);
    // Exact ties (k + 0.5) * scale / scale, saturating values, NaN and infinities sprinkled in.
    for (size_t i = 0; i < xf.size(); i += 7) xf[i] = (static_cast<float>(rng() % 200) - 100.5f) * ga.scale;
    for (size_t i = 3; i < xf.size(); i += 101) xf[i] = (i % 2 ? 1e30f : -1e30f);
    for (size_t i = 5; i < xf.size(); i += 211) xf[i] = nan;
    for (size_t i = 9; i < xf.size(); i += 307) xf[i] = (i % 2 ? 1.0f : -1.0f) * std::numeric_limits<float>::infinity();
    const auto xa = random_bytes(rng, s.pixels * s.xs), xb = random_bytes(rng, s.pixels * s.xs);
    const auto table = random_bytes(rng, 256);
    const size_t out_n = static_cast<size_t>((s.pixels - 1) * s.ys + s.channels);
    std::vector<uint8_t> q0(out_n, kCanary), l0(out_n, kCanary), a0(out_n, kCanary);
    std::vector<float> d0(out_n, -7.0f);
    quantize_f32_u8(xf.data(), s.xs, s.pixels, s.channels, ga, q0.data(), s.ys, Isa::kScalar);
    dequantize_u8_f32(xa.data(), s.xs, s.pixels, s.channels, ga, d0.data(), s.ys, Isa::kScalar);
    lookup_u8(xa.data(), s.xs, s.pixels, s.channels, table.data(), l0.data(), s.ys, Isa::kScalar);
    add_u8(xa.data(), s.xs, ga, xb.data(), s.xs, gb, s.pixels, s.channels, a0.data(), s.ys, gy, Isa::kScalar);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<uint8_t> q(out_n, kCanary), l(out_n, kCanary), a(out_n, kCanary);
      std::vector<float> d(out_n, -7.0f);
      quantize_f32_u8(xf.data(), s.xs, s.pixels, s.channels, ga, q.data(), s.ys, isa, tp);
      dequantize_u8_f32(xa.data(), s.xs, s.pixels, s.channels, ga, d.data(), s.ys, isa, tp);
      lookup_u8(xa.data(), s.xs, s.pixels, s.channels, table.data(), l.data(), s.ys, isa, tp);
      add_u8(xa.data(), s.xs, ga, xb.data(), s.xs, gb, s.pixels, s.channels, a.data(), s.ys, gy, isa, tp);
      expect_same(q, q0, "quantize", s, isa, tp != nullptr);
      expect_same(d, d0, "dequantize", s, isa, tp != nullptr);
      expect_same(l, l0, "lookup", s, isa, tp != nullptr);
      expect_same(a, a0, "add", s, isa, tp != nullptr);
    }
    // In place (y aliasing x exactly): lookup and add.
    std::vector<uint8_t> inplace = xa;
    lookup_u8(inplace.data(), s.xs, s.pixels, s.channels, table.data(), inplace.data(), s.xs, isa, &pool);
    std::vector<uint8_t> inplace_add = xa;
    add_u8(inplace_add.data(), s.xs, ga, xb.data(), s.xs, gb, s.pixels, s.channels, inplace_add.data(), s.xs, gy, isa);
    for (int64_t p = 0; p < s.pixels; ++p)
      for (int64_t c = 0; c < s.channels; ++c) {
        ASSERT_EQ(inplace[p * s.xs + c], l0[p * s.ys + c]) << "in-place lookup";
        ASSERT_EQ(inplace_add[p * s.xs + c], a0[p * s.ys + c]) << "in-place add";
      }
  }
}

TEST_P(QuantU8Isa, MaxPoolBitExactAgainstScalar) {
  const Isa isa = GetParam();
  std::mt19937 rng(4);
  ThreadPool pool(2);
  for (int iter = 0; iter < 60; ++iter) {
    const int k = 1 + static_cast<int>(rng() % 5);
    const int s = 1 + static_cast<int>(rng() % 2);
    const int pad = static_cast<int>(rng() % k);
    const int dil = 1 + static_cast<int>(rng() % 2);
    const int channels[] = {1, 5, 16, 31, 32, 33, 64, 65, 100, 128, 200};
    const int c = channels[rng() % (sizeof channels / sizeof channels[0])];
    Pool2dDesc d = pool_desc(1 + static_cast<int>(rng() % 24), 1 + static_cast<int>(rng() % 24), c, k, s, pad, dil,
                             rng() % 4 == 0);
    if (d.out_h() < 1 || d.out_w() < 1) continue;
    const int64_t xs = c + (rng() % 2 ? static_cast<int64_t>(rng() % 20) : 0);
    const int64_t ys = c + (rng() % 2 ? static_cast<int64_t>(rng() % 20) : 0);
    const auto x = random_bytes(rng, static_cast<size_t>(d.in_h) * d.in_w * xs);
    const size_t out_n = static_cast<size_t>(d.out_h()) * d.out_w() * ys;
    std::vector<uint8_t> want(out_n, kCanary);
    maxpool2d_nhwc_u8(d, x.data(), xs, want.data(), ys, Isa::kScalar);
    for (ThreadPool* tp : {static_cast<ThreadPool*>(nullptr), &pool}) {
      std::vector<uint8_t> got(out_n, kCanary);
      maxpool2d_nhwc_u8(d, x.data(), xs, got.data(), ys, isa, tp);
      ASSERT_EQ(got, want) << isa_name(isa) << ": " << d.in_h << "x" << d.in_w << "x" << c << " k" << k << " s" << s
                           << " p" << pad << " d" << dil << (d.ceil_mode ? " ceil" : "") << " strides " << xs << "/"
                           << ys << (tp ? ", 2 threads" : "");
    }
  }
  // A large SPPF-like pool goes parallel.
  const Pool2dDesc big = pool_desc(40, 40, 128, 5, 1, 2);
  const auto x = random_bytes(rng, static_cast<size_t>(40) * 40 * 128);
  std::vector<uint8_t> want(x.size()), got(x.size());
  maxpool2d_nhwc_u8(big, x.data(), 128, want.data(), 128, Isa::kScalar);
  maxpool2d_nhwc_u8(big, x.data(), 128, got.data(), 128, isa, &pool);
  EXPECT_EQ(got, want);
}

INSTANTIATE_TEST_SUITE_P(AllIsas, QuantU8Isa,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni,
                                           Isa::kAmx),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

TEST(QuantU8, RejectsBadArguments) {
  float f[4] = {};
  uint8_t b[4] = {};
  EXPECT_THROW(quantize_f32_u8(f, 2, 2, 2, {0.0f, 0}, b, 2, Isa::kScalar), Error);
  EXPECT_THROW(quantize_f32_u8(f, 2, 2, 2, {std::numeric_limits<float>::infinity(), 0}, b, 2, Isa::kScalar), Error);
  EXPECT_THROW(quantize_f32_u8(f, 2, 2, 2, {1.0f, 256}, b, 2, Isa::kScalar), Error);
  EXPECT_THROW(dequantize_u8_f32(b, 1, 2, 2, {1.0f, 0}, f, 2, Isa::kScalar), Error);  // stride < channels
  EXPECT_THROW(lookup_u8(b, 2, 2, 2, nullptr, b, 2, Isa::kScalar), Error);
  EXPECT_THROW(add_u8(b, 2, {1.0f, -1}, b, 2, {1.0f, 0}, 2, 2, b, 2, {1.0f, 0}, Isa::kScalar), Error);
  Pool2dDesc d = pool_desc(2, 2, 1, 3, 1, 0);  // window larger than the input
  EXPECT_THROW(maxpool2d_nhwc_u8(d, b, 1, b, 1, Isa::kScalar), Error);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx})
    if (!isa_supported(isa)) {
      EXPECT_THROW(lookup_u8(b, 2, 2, 2, b, b, 2, isa), Error) << isa_name(isa);
    }
  // Empty views are fine.
  EXPECT_NO_THROW(quantize_f32_u8(nullptr, 0, 0, 5, {1.0f, 0}, nullptr, 0, Isa::kScalar));
}

}  // namespace
}  // namespace sp::kernels
