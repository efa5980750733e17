// Dispatch for the u8 activation kernels (baseline code): validates arguments, folds back-to-back pixels
// into one long row, splits the work over the thread pool, and calls the scalar / AVX2 / AVX-512
// variant for float_isa(isa).
#include "core/kernels/quant_u8/quant_u8.h"

#include <cmath>
#include <string>

#include "core/error.h"
#include "core/kernels/quant_u8/quant_u8_internal.h"
#include "core/thread_pool.h"

namespace sp::kernels {
namespace {

namespace qi = quant_u8_internal;

[[noreturn]] void fail(const char* fn, const std::string& what) { throw Error(std::string(fn) + ": " + what); }

void check_grid(const char* fn, const char* name, U8Grid g) {
  if (!(g.scale > 0.0f) || !std::isfinite(g.scale))
    fail(fn, std::string(name) + " scale must be positive and finite, got " + std::to_string(g.scale));
  if (g.zero_point < 0 || g.zero_point > 255)
    fail(fn, std::string(name) + " zero point " + std::to_string(g.zero_point) + " outside [0, 255]");
}

void check_rows(const char* fn, const char* name, const void* p, int64_t stride, int64_t pixels, int64_t channels) {
  if (p == nullptr) fail(fn, std::string("null pointer for ") + name);
  if (pixels > 1 && stride < channels)
    fail(fn, std::string("pixel stride of ") + name + " (" + std::to_string(stride) + ") is less than channels (" +
                 std::to_string(channels) + ")");
}

// Which variant runs: the float family of the ISA, which the CPU must have.
Isa variant(const char* fn, Isa isa) {
  if (!isa_supported(isa)) fail(fn, "ISA " + std::string(isa_name(isa)) + " not supported by this CPU");
  return float_isa(isa);
}

// Below this many elements a parallel loop costs more than it saves.
constexpr int64_t kMinParallelElems = 1 << 15;

// Runs fn(p0, p1) over pixel ranges: on the calling thread, or in ~4 chunks per pool thread.
template <typename Fn>
void split_pixels(ThreadPool* pool, int64_t pixels, int64_t channels, Fn&& fn) {
  const int threads = pool ? pool->num_threads() : 1;
  if (threads <= 1 || pixels < 2 || pixels * channels < kMinParallelElems) {
    fn(int64_t{0}, pixels);
    return;
  }
  const int64_t tasks = pixels < 4 * threads ? pixels : 4 * threads;
  const int64_t chunk = (pixels + tasks - 1) / tasks;
  pool->parallel_for((pixels + chunk - 1) / chunk, [&](int64_t t) {
    const int64_t p0 = t * chunk;
    fn(p0, p0 + chunk < pixels ? p0 + chunk : pixels);
  });
}

// A range of pixels whose strides all equal the channel count is one row of pixels * channels.
struct Rows {
  int64_t pixels, channels;
};
Rows fold(int64_t pixels, int64_t channels, int64_t s0, int64_t s1, int64_t s2 = -1) {
  if (s0 == channels && s1 == channels && (s2 < 0 || s2 == channels)) return {1, pixels * channels};
  return {pixels, channels};
}

}  // namespace

void quantize_f32_u8(const float* x, int64_t xs, int64_t pixels, int64_t channels, U8Grid grid, uint8_t* y,
                     int64_t ys, Isa isa, ThreadPool* pool) {
  const char* fn = "quantize_f32_u8";
  if (pixels < 0 || channels < 0) fail(fn, "negative shape");
  check_grid(fn, "output", grid);
  const Isa v = variant(fn, isa);
  if (pixels == 0 || channels == 0) return;
  check_rows(fn, "x", x, xs, pixels, channels);
  check_rows(fn, "y", y, ys, pixels, channels);
  split_pixels(pool, pixels, channels, [&](int64_t p0, int64_t p1) {
    const Rows r = fold(p1 - p0, channels, xs, ys);
    const float* xp = x + p0 * xs;
    uint8_t* yp = y + p0 * ys;
    if (v == Isa::kAvx512) return qi::avx512::quantize_f32_u8(xp, xs, yp, ys, r.pixels, r.channels, grid);
    if (v == Isa::kAvx2) return qi::avx2::quantize_f32_u8(xp, xs, yp, ys, r.pixels, r.channels, grid);
    qi::scalar::quantize_f32_u8(xp, xs, yp, ys, r.pixels, r.channels, grid);
  });
}

void dequantize_u8_f32(const uint8_t* x, int64_t xs, int64_t pixels, int64_t channels, U8Grid grid, float* y,
                       int64_t ys, Isa isa, ThreadPool* pool) {
  const char* fn = "dequantize_u8_f32";
  if (pixels < 0 || channels < 0) fail(fn, "negative shape");
  check_grid(fn, "input", grid);
  const Isa v = variant(fn, isa);
  if (pixels == 0 || channels == 0) return;
  check_rows(fn, "x", x, xs, pixels, channels);
  check_rows(fn, "y", y, ys, pixels, channels);
  split_pixels(pool, pixels, channels, [&](int64_t p0, int64_t p1) {
    const Rows r = fold(p1 - p0, channels, xs, ys);
    const uint8_t* xp = x + p0 * xs;
    float* yp = y + p0 * ys;
    if (v == Isa::kAvx512) return qi::avx512::dequantize_u8_f32(xp, xs, yp, ys, r.pixels, r.channels, grid);
    if (v == Isa::kAvx2) return qi::avx2::dequantize_u8_f32(xp, xs, yp, ys, r.pixels, r.channels, grid);
    qi::scalar::dequantize_u8_f32(xp, xs, yp, ys, r.pixels, r.channels, grid);
  });
}

void lookup_u8(const uint8_t* x, int64_t xs, int64_t pixels, int64_t channels, const uint8_t* table, uint8_t* y,
               int64_t ys, Isa isa, ThreadPool* pool) {
  const char* fn = "lookup_u8";
  if (pixels < 0 || channels < 0) fail(fn, "negative shape");
  if (table == nullptr) fail(fn, "null table");
  const Isa v = variant(fn, isa);
  if (pixels == 0 || channels == 0) return;
  check_rows(fn, "x", x, xs, pixels, channels);
  check_rows(fn, "y", y, ys, pixels, channels);
  split_pixels(pool, pixels, channels, [&](int64_t p0, int64_t p1) {
    const Rows r = fold(p1 - p0, channels, xs, ys);
    const uint8_t* xp = x + p0 * xs;
    uint8_t* yp = y + p0 * ys;
    if (v == Isa::kAvx512) return qi::avx512::lookup_u8(xp, xs, yp, ys, r.pixels, r.channels, table);
    if (v == Isa::kAvx2) return qi::avx2::lookup_u8(xp, xs, yp, ys, r.pixels, r.channels, table);
    qi::scalar::lookup_u8(xp, xs, yp, ys, r.pixels, r.channels, table);
  });
}

std::array<uint8_t, 256> requantization_table(U8Grid in, U8Grid out) {
  const char* fn = "requantization_table";
  check_grid(fn, "input", in);
  check_grid(fn, "output", out);
  float real[256];
  uint8_t q[256];
  for (int i = 0; i < 256; ++i) q[i] = static_cast<uint8_t>(i);
  qi::scalar::dequantize_u8_f32(q, 256, real, 256, 1, 256, in);
  std::array<uint8_t, 256> table{};
  qi::scalar::quantize_f32_u8(real, 256, table.data(), 256, 1, 256, out);
  return table;
}

void add_u8(const uint8_t* a, int64_t as, U8Grid ga, const uint8_t* b, int64_t bs, U8Grid gb, int64_t pixels,
            int64_t channels, uint8_t* y, int64_t ys, U8Grid gy, Isa isa, ThreadPool* pool) {
  const char* fn = "add_u8";
  if (pixels < 0 || channels < 0) fail(fn, "negative shape");
  check_grid(fn, "a", ga);
  check_grid(fn, "b", gb);
  check_grid(fn, "output", gy);
  const Isa v = variant(fn, isa);
  if (pixels == 0 || channels == 0) return;
  check_rows(fn, "a", a, as, pixels, channels);
  check_rows(fn, "b", b, bs, pixels, channels);
  check_rows(fn, "y", y, ys, pixels, channels);
  split_pixels(pool, pixels, channels, [&](int64_t p0, int64_t p1) {
    const Rows r = fold(p1 - p0, channels, as, bs, ys);
    const uint8_t* ap = a + p0 * as;
    const uint8_t* bp = b + p0 * bs;
    uint8_t* yp = y + p0 * ys;
    if (v == Isa::kAvx512) return qi::avx512::add_u8(ap, as, ga, bp, bs, gb, yp, ys, gy, r.pixels, r.channels);
    if (v == Isa::kAvx2) return qi::avx2::add_u8(ap, as, ga, bp, bs, gb, yp, ys, gy, r.pixels, r.channels);
    qi::scalar::add_u8(ap, as, ga, bp, bs, gb, yp, ys, gy, r.pixels, r.channels);
  });
}

void maxpool2d_nhwc_u8(const Pool2dDesc& d, const uint8_t* x, int64_t xs, uint8_t* y, int64_t ys, Isa isa,
                       ThreadPool* pool) {
  const char* fn = "maxpool2d_nhwc_u8";
  if (d.in_h < 1 || d.in_w < 1 || d.channels < 0)
    fail(fn, "bad input shape " + std::to_string(d.in_h) + "x" + std::to_string(d.in_w) + "x" +
                 std::to_string(d.channels));
  if (d.kernel_h < 1 || d.kernel_w < 1 || d.stride_h < 1 || d.stride_w < 1 || d.dilation_h < 1 || d.dilation_w < 1)
    fail(fn, "kernel, stride and dilation must be >= 1");
  if (d.pad_top < 0 || d.pad_left < 0 || d.pad_bottom < 0 || d.pad_right < 0) fail(fn, "negative padding");
  const int out_h = d.out_h(), out_w = d.out_w();
  if (out_h < 1 || out_w < 1) fail(fn, "the pooling window is larger than the padded input");
  if (xs < d.channels || ys < d.channels) fail(fn, "pixel stride less than channels");
  const Isa v = variant(fn, isa);
  if (d.channels == 0) return;
  if (x == nullptr || y == nullptr) fail(fn, "null pointer");
  auto rows = [&](int r0, int r1) {
    if (v == Isa::kAvx512) return qi::avx512::maxpool2d_nhwc_u8(d, x, xs, y, ys, r0, r1);
    if (v == Isa::kAvx2) return qi::avx2::maxpool2d_nhwc_u8(d, x, xs, y, ys, r0, r1);
    qi::scalar::maxpool2d_nhwc_u8(d, x, xs, y, ys, r0, r1);
  };
  const int threads = pool ? pool->num_threads() : 1;
  const int64_t work = static_cast<int64_t>(out_h) * out_w * d.channels * d.kernel_h * d.kernel_w;
  if (threads <= 1 || out_h < 2 || work < kMinParallelElems) {
    rows(0, out_h);
    return;
  }
  const int tasks = out_h < 4 * threads ? out_h : 4 * threads;
  const int chunk = (out_h + tasks - 1) / tasks;
  pool->parallel_for((out_h + chunk - 1) / chunk, [&](int64_t t) {
    const int r0 = static_cast<int>(t) * chunk;
    rows(r0, r0 + chunk < out_h ? r0 + chunk : out_h);
  });
}

}  // namespace sp::kernels
