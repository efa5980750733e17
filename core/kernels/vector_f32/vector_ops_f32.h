// Float kernels other than convolution: elementwise math, softmax, pooling, resize, matmul and the
// layout transposes. Each has a scalar reference and AVX2 / AVX-512 variants selected by `isa`
// (the float family of it: see sp::float_isa). All are batch-1 and allocation-free.
//
// 2-D strided views: `rows` x `cols` elements, row r starting at ptr + r * ld. NHWC tensors with a
// pixel stride map onto this directly (rows = pixels, cols = channels, ld = pixel stride).
#pragma once

#include <cstdint>

#include "core/cpu_features.h"
#include "core/kernels/activation.h"

namespace sp::kernels {

enum class BinaryOp : uint8_t { kAdd, kSub, kMul, kDiv };

// y = a op b, element by element over a rows x cols view. y may alias a or b.
void binary_f32(BinaryOp op, const float* a, int64_t lda, const float* b, int64_t ldb, float* y, int64_t ldy,
                int64_t rows, int64_t cols, Isa isa);
// y = a op scalar (or scalar op a when scalar_first) — for broadcasting a single value.
void binary_scalar_f32(BinaryOp op, const float* a, int64_t lda, float scalar, bool scalar_first, float* y,
                       int64_t ldy, int64_t rows, int64_t cols, Isa isa);
// y = a op b[col] — broadcasting a vector along rows (e.g. a per-channel value over NHWC pixels).
void binary_row_broadcast_f32(BinaryOp op, const float* a, int64_t lda, const float* b, float* y, int64_t ldy,
                              int64_t rows, int64_t cols, Isa isa);
// y = act(x); y may alias x.
void activation_f32(Activation act, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,
                    int64_t cols, Isa isa);
// Softmax along each contiguous row of `cols` elements (numerically stable: max subtracted).
void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols, Isa isa);

// C[M x N] = A[M x K] * B[K x N], row-major with leading dimensions; C must not alias A or B.
void matmul_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc, int64_t m,
                int64_t n, int64_t k, Isa isa);

struct Pool2dDesc {
  int in_h = 0, in_w = 0, channels = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
  bool ceil_mode = false;
  int out_h() const;
  int out_w() const;
};
// Max pooling, NHWC with pixel strides; padding never wins (it counts as -inf).
void maxpool2d_nhwc_f32(const Pool2dDesc& d, const float* x, int64_t x_pixel_stride, float* y,
                        int64_t y_pixel_stride, Isa isa);

// Nearest-neighbour resize, NHWC with pixel strides. src index = floor(dst * in / out) per axis
// (ONNX Resize: coordinate_transformation_mode=asymmetric, nearest_mode=floor, as YOLO exports use).
void resize_nearest_nhwc_f32(const float* x, int in_h, int in_w, int channels, int64_t x_pixel_stride, float* y,
                             int out_h, int out_w, int64_t y_pixel_stride, Isa isa);

// Layout changes between ONNX's NCHW and our NHWC (batch 1): [C][H*W] <-> [H*W][C] with a pixel stride.
void nchw_to_nhwc_f32(const float* x, int channels, int64_t pixels, float* y, int64_t y_pixel_stride, Isa isa);
void nhwc_to_nchw_f32(const float* x, int channels, int64_t pixels, int64_t x_pixel_stride, float* y, Isa isa);

}  // namespace sp::kernels
