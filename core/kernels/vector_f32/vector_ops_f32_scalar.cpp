// Scalar reference for the non-convolution float kernels: plain loops, written to be obviously correct.
// Also the fallback on CPUs without AVX2. Arguments were validated by the dispatcher.
#include <cmath>
#include <limits>

#include "core/kernels/vector_f32/vector_ops_f32_internal.h"

namespace sp::kernels::scalar {
namespace {

float apply(BinaryOp op, float a, float b) {
  switch (op) {
    case BinaryOp::kAdd: return a + b;
    case BinaryOp::kSub: return a - b;
    case BinaryOp::kMul: return a * b;
    case BinaryOp::kDiv: return a / b;
  }
  return 0.0f;
}

float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

float activate(Activation act, float x) {
  switch (act) {
    case Activation::kNone: return x;
    case Activation::kRelu: return x > 0.0f ? x : 0.0f;
    case Activation::kSigmoid: return sigmoid(x);
    case Activation::kSilu: return x * sigmoid(x);
  }
  return x;
}

}  // namespace

void binary_f32(BinaryOp op, const float* a, int64_t lda, const float* b, int64_t ldb, float* y, int64_t ldy,
                int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) y[r * ldy + c] = apply(op, a[r * lda + c], b[r * ldb + c]);
  }
}

void binary_scalar_f32(BinaryOp op, const float* a, int64_t lda, float s, bool scalar_first, float* y,
                       int64_t ldy, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      float v = a[r * lda + c];
      y[r * ldy + c] = scalar_first ? apply(op, s, v) : apply(op, v, s);
    }
  }
}

void binary_row_broadcast_f32(BinaryOp op, const float* a, int64_t lda, const float* b, float* y, int64_t ldy,
                              int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) y[r * ldy + c] = apply(op, a[r * lda + c], b[c]);
  }
}

void activation_f32(Activation act, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                    int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) y[r * ldy + c] = activate(act, x[r * ldx + c]);
  }
}

void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * cols;
    float* yr = y + r * cols;
    float m = xr[0];
    for (int64_t c = 1; c < cols; ++c) m = xr[c] > m ? xr[c] : m;
    float sum = 0.0f;
    for (int64_t c = 0; c < cols; ++c) {
      yr[c] = std::exp(xr[c] - m);
      sum += yr[c];
    }
    for (int64_t c = 0; c < cols; ++c) yr[c] /= sum;
  }
}

void matmul_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k) {
  for (int64_t i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) ci[j] = 0.0f;
    for (int64_t p = 0; p < k; ++p) {
      float aip = a[i * lda + p];
      const float* bp = b + p * ldb;
      for (int64_t j = 0; j < n; ++j) ci[j] += aip * bp[j];
    }
  }
}

void maxpool2d_nhwc_f32(const Pool2dDesc& d, const float* x, int64_t x_pixel_stride, float* y,
                        int64_t y_pixel_stride) {
  const int out_h = d.out_h(), out_w = d.out_w();
  for (int oh = 0; oh < out_h; ++oh) {
    for (int ow = 0; ow < out_w; ++ow) {
      float* yp = y + (static_cast<int64_t>(oh) * out_w + ow) * y_pixel_stride;
      for (int c = 0; c < d.channels; ++c) yp[c] = -std::numeric_limits<float>::infinity();
      for (int kh = 0; kh < d.kernel_h; ++kh) {
        int ih = oh * d.stride_h - d.pad_top + kh * d.dilation_h;
        if (ih < 0 || ih >= d.in_h) continue;
        for (int kw = 0; kw < d.kernel_w; ++kw) {
          int iw = ow * d.stride_w - d.pad_left + kw * d.dilation_w;
          if (iw < 0 || iw >= d.in_w) continue;
          const float* xp = x + (static_cast<int64_t>(ih) * d.in_w + iw) * x_pixel_stride;
          for (int c = 0; c < d.channels; ++c) yp[c] = xp[c] > yp[c] ? xp[c] : yp[c];
        }
      }
    }
  }
}

void resize_nearest_nhwc_f32(const float* x, int in_h, int in_w, int channels, int64_t x_pixel_stride, float* y,
                             int out_h, int out_w, int64_t y_pixel_stride) {
  for (int oh = 0; oh < out_h; ++oh) {
    int64_t ih = static_cast<int64_t>(oh) * in_h / out_h;
    for (int ow = 0; ow < out_w; ++ow) {
      int64_t iw = static_cast<int64_t>(ow) * in_w / out_w;
      const float* xp = x + (ih * in_w + iw) * x_pixel_stride;
      float* yp = y + (static_cast<int64_t>(oh) * out_w + ow) * y_pixel_stride;
      for (int c = 0; c < channels; ++c) yp[c] = xp[c];
    }
  }
}

void nchw_to_nhwc_f32(const float* x, int channels, int64_t pixels, float* y, int64_t y_pixel_stride) {
  for (int64_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < channels; ++c) y[p * y_pixel_stride + c] = x[c * pixels + p];
  }
}

void nhwc_to_nchw_f32(const float* x, int channels, int64_t pixels, int64_t x_pixel_stride, float* y) {
  for (int c = 0; c < channels; ++c) {
    for (int64_t p = 0; p < pixels; ++p) y[c * pixels + p] = x[p * x_pixel_stride + c];
  }
}

}  // namespace sp::kernels::scalar
