// Dispatch for the non-convolution float kernels: validates arguments, normalises the views, and calls
// the scalar / AVX2 / AVX-512 variant for float_isa(isa).
#include "core/kernels/vector_f32/vector_ops_f32.h"

#include <string>

#include "core/error.h"
#include "core/kernels/matrix_views.h"
#include "core/kernels/vector_f32/vector_ops_f32_internal.h"

namespace sp::kernels {
namespace {

using views::check_view;
using views::fail;

// Views whose rows are back to back are one long row: fewer loop iterations and tails.
void collapse(int64_t& rows, int64_t& cols, int64_t& ld0, int64_t& ld1, int64_t& ld2) {
  if (rows > 1 && ld0 == cols && ld1 == cols && ld2 == cols) {
    cols *= rows;
    rows = 1;
  }
  if (rows == 1) ld0 = ld1 = ld2 = cols;
}

int pool_out(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation, bool ceil_mode) {
  if (kernel < 1 || stride < 1 || dilation < 1) return 0;
  int64_t span = static_cast<int64_t>(dilation) * (kernel - 1) + 1;
  int64_t room = static_cast<int64_t>(in) + pad_begin + pad_end - span;
  if (room < 0) return 0;
  int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
  // ceil_mode: the last window must start inside the input or the leading padding (ONNX, PyTorch).
  if (ceil_mode && (out - 1) * stride >= static_cast<int64_t>(in) + pad_begin) --out;
  return static_cast<int>(out);
}

}  // namespace

int Pool2dDesc::out_h() const {
  return pool_out(in_h, kernel_h, stride_h, pad_top, pad_bottom, dilation_h, ceil_mode);
}
int Pool2dDesc::out_w() const {
  return pool_out(in_w, kernel_w, stride_w, pad_left, pad_right, dilation_w, ceil_mode);
}

void binary_f32(BinaryOp op, const float* a, int64_t lda, const float* b, int64_t ldb, float* y, int64_t ldy,
                int64_t rows, int64_t cols, Isa isa) {
  const char* fn = "binary_f32";
  check_view(fn, "a", a, lda, rows, cols);
  check_view(fn, "b", b, ldb, rows, cols);
  check_view(fn, "y", y, ldy, rows, cols);
  if (rows == 0 || cols == 0) return;
  collapse(rows, cols, lda, ldb, ldy);
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::binary_f32(op, a, lda, b, ldb, y, ldy, rows, cols);
    case Isa::kAvx2: return avx2::binary_f32(op, a, lda, b, ldb, y, ldy, rows, cols);
    default: return scalar::binary_f32(op, a, lda, b, ldb, y, ldy, rows, cols);
  }
}

void binary_scalar_f32(BinaryOp op, const float* a, int64_t lda, float s, bool scalar_first, float* y,
                       int64_t ldy, int64_t rows, int64_t cols, Isa isa) {
  const char* fn = "binary_scalar_f32";
  check_view(fn, "a", a, lda, rows, cols);
  check_view(fn, "y", y, ldy, rows, cols);
  if (rows == 0 || cols == 0) return;
  int64_t unused = cols;
  collapse(rows, cols, lda, ldy, unused);
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::binary_scalar_f32(op, a, lda, s, scalar_first, y, ldy, rows, cols);
    case Isa::kAvx2: return avx2::binary_scalar_f32(op, a, lda, s, scalar_first, y, ldy, rows, cols);
    default: return scalar::binary_scalar_f32(op, a, lda, s, scalar_first, y, ldy, rows, cols);
  }
}

void binary_row_broadcast_f32(BinaryOp op, const float* a, int64_t lda, const float* b, float* y, int64_t ldy,
                              int64_t rows, int64_t cols, Isa isa) {
  const char* fn = "binary_row_broadcast_f32";
  check_view(fn, "a", a, lda, rows, cols);
  check_view(fn, "b", b, cols, 1, cols);
  check_view(fn, "y", y, ldy, rows, cols);
  if (rows == 0 || cols == 0) return;
  if (rows == 1) lda = ldy = cols;
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::binary_row_broadcast_f32(op, a, lda, b, y, ldy, rows, cols);
    case Isa::kAvx2: return avx2::binary_row_broadcast_f32(op, a, lda, b, y, ldy, rows, cols);
    default: return scalar::binary_row_broadcast_f32(op, a, lda, b, y, ldy, rows, cols);
  }
}

void activation_f32(Activation act, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                    int64_t cols, Isa isa) {
  const char* fn = "activation_f32";
  check_view(fn, "x", x, ldx, rows, cols);
  check_view(fn, "y", y, ldy, rows, cols);
  if (rows == 0 || cols == 0) return;
  int64_t unused = cols;
  collapse(rows, cols, ldx, ldy, unused);
  if (act == Activation::kNone && x == y && ldx == ldy) return;  // in-place identity
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::activation_f32(act, x, ldx, y, ldy, rows, cols);
    case Isa::kAvx2: return avx2::activation_f32(act, x, ldx, y, ldy, rows, cols);
    default: return scalar::activation_f32(act, x, ldx, y, ldy, rows, cols);
  }
}

void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols, Isa isa) {
  const char* fn = "softmax_rows_f32";
  check_view(fn, "x", x, cols, rows, cols);
  check_view(fn, "y", y, cols, rows, cols);
  if (rows == 0 || cols == 0) return;
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::softmax_rows_f32(x, y, rows, cols);
    case Isa::kAvx2: return avx2::softmax_rows_f32(x, y, rows, cols);
    default: return scalar::softmax_rows_f32(x, y, rows, cols);
  }
}

void matmul_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, Isa isa) {
  if (!views::prepare_matmul("matmul_f32", a, lda, b, ldb, c, ldc, m, n, k)) return;
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::matmul_f32(a, lda, b, ldb, c, ldc, m, n, k);
    case Isa::kAvx2: return avx2::matmul_f32(a, lda, b, ldb, c, ldc, m, n, k);
    default: return scalar::matmul_f32(a, lda, b, ldb, c, ldc, m, n, k);
  }
}

void maxpool2d_nhwc_f32(const Pool2dDesc& d, const float* x, int64_t x_pixel_stride, float* y,
                        int64_t y_pixel_stride, Isa isa) {
  const char* fn = "maxpool2d_nhwc_f32";
  if (d.in_h < 1 || d.in_w < 1 || d.channels < 0) {
    fail(fn, "bad input shape " + std::to_string(d.in_h) + "x" + std::to_string(d.in_w) + "x" +
                 std::to_string(d.channels));
  }
  if (d.kernel_h < 1 || d.kernel_w < 1 || d.stride_h < 1 || d.stride_w < 1 || d.dilation_h < 1 ||
      d.dilation_w < 1) {
    fail(fn, "kernel, stride and dilation must be >= 1");
  }
  if (d.pad_top < 0 || d.pad_left < 0 || d.pad_bottom < 0 || d.pad_right < 0) fail(fn, "negative padding");
  if (d.out_h() < 1 || d.out_w() < 1) fail(fn, "the pooling window is larger than the padded input");
  if (x_pixel_stride < d.channels || y_pixel_stride < d.channels) fail(fn, "pixel stride less than channels");
  if (d.channels == 0) return;
  if (x == nullptr || y == nullptr) fail(fn, "null pointer");
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::maxpool2d_nhwc_f32(d, x, x_pixel_stride, y, y_pixel_stride);
    case Isa::kAvx2: return avx2::maxpool2d_nhwc_f32(d, x, x_pixel_stride, y, y_pixel_stride);
    default: return scalar::maxpool2d_nhwc_f32(d, x, x_pixel_stride, y, y_pixel_stride);
  }
}

void resize_nearest_nhwc_f32(const float* x, int in_h, int in_w, int channels, int64_t x_pixel_stride, float* y,
                             int out_h, int out_w, int64_t y_pixel_stride, Isa isa) {
  const char* fn = "resize_nearest_nhwc_f32";
  if (in_h < 0 || in_w < 0 || out_h < 0 || out_w < 0 || channels < 0) fail(fn, "negative shape");
  if (x_pixel_stride < channels || y_pixel_stride < channels) fail(fn, "pixel stride less than channels");
  if (out_h == 0 || out_w == 0 || channels == 0) return;
  if (in_h == 0 || in_w == 0) fail(fn, "empty input resized to a non-empty output");
  if (x == nullptr || y == nullptr) fail(fn, "null pointer");
  switch (float_isa(isa)) {
    case Isa::kAvx512:
      return avx512::resize_nearest_nhwc_f32(x, in_h, in_w, channels, x_pixel_stride, y, out_h, out_w,
                                             y_pixel_stride);
    case Isa::kAvx2:
      return avx2::resize_nearest_nhwc_f32(x, in_h, in_w, channels, x_pixel_stride, y, out_h, out_w,
                                           y_pixel_stride);
    default:
      return scalar::resize_nearest_nhwc_f32(x, in_h, in_w, channels, x_pixel_stride, y, out_h, out_w,
                                             y_pixel_stride);
  }
}

void nchw_to_nhwc_f32(const float* x, int channels, int64_t pixels, float* y, int64_t y_pixel_stride, Isa isa) {
  const char* fn = "nchw_to_nhwc_f32";
  if (channels < 0 || pixels < 0) fail(fn, "negative shape");
  if (y_pixel_stride < channels) fail(fn, "pixel stride less than channels");
  if (channels == 0 || pixels == 0) return;
  if (x == nullptr || y == nullptr) fail(fn, "null pointer");
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::nchw_to_nhwc_f32(x, channels, pixels, y, y_pixel_stride);
    case Isa::kAvx2: return avx2::nchw_to_nhwc_f32(x, channels, pixels, y, y_pixel_stride);
    default: return scalar::nchw_to_nhwc_f32(x, channels, pixels, y, y_pixel_stride);
  }
}

void nhwc_to_nchw_f32(const float* x, int channels, int64_t pixels, int64_t x_pixel_stride, float* y, Isa isa) {
  const char* fn = "nhwc_to_nchw_f32";
  if (channels < 0 || pixels < 0) fail(fn, "negative shape");
  if (x_pixel_stride < channels) fail(fn, "pixel stride less than channels");
  if (channels == 0 || pixels == 0) return;
  if (x == nullptr || y == nullptr) fail(fn, "null pointer");
  switch (float_isa(isa)) {
    case Isa::kAvx512: return avx512::nhwc_to_nchw_f32(x, channels, pixels, x_pixel_stride, y);
    case Isa::kAvx2: return avx2::nhwc_to_nchw_f32(x, channels, pixels, x_pixel_stride, y);
    default: return scalar::nhwc_to_nchw_f32(x, channels, pixels, x_pixel_stride, y);
  }
}

}  // namespace sp::kernels
