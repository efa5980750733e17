// Per-ISA entry points behind core/kernels/vector_f32/vector_ops_f32.h. Only vector_ops_f32.cpp (the dispatcher)
// and the tests should include this. The dispatcher has already validated the arguments, returned
// early on empty views, and collapsed contiguous 2-D views into one row, so the variants may assume
// rows >= 1, cols >= 1 and a well-formed Pool2dDesc with out_h() >= 1 and out_w() >= 1.
//
//   scalar::  vector_ops_f32_scalar.cpp  plain C++, the reference and the fallback
//   avx2::    vector_ops_f32_avx2.cpp    8-wide AVX2 + FMA
//   avx512::  vector_ops_f32_avx512.cpp  16-wide AVX-512 F/BW/VL/DQ + FMA
//
// avx2:: and avx512:: share their code through vector_ops_f32_simd.inc.
#pragma once

#include <cstdint>

#include "core/kernels/vector_f32/vector_ops_f32.h"

#define SP_VECTOR_OPS_F32_DECLARE_ENTRY_POINTS()                                                             \
  void binary_f32(BinaryOp op, const float* a, int64_t lda, const float* b, int64_t ldb, float* y,         \
                  int64_t ldy, int64_t rows, int64_t cols);                                                \
  void binary_scalar_f32(BinaryOp op, const float* a, int64_t lda, float scalar, bool scalar_first,        \
                         float* y, int64_t ldy, int64_t rows, int64_t cols);                               \
  void binary_row_broadcast_f32(BinaryOp op, const float* a, int64_t lda, const float* b, float* y,        \
                                int64_t ldy, int64_t rows, int64_t cols);                                  \
  void activation_f32(Activation act, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t rows,    \
                      int64_t cols);                                                                       \
  void softmax_rows_f32(const float* x, float* y, int64_t rows, int64_t cols);                             \
  void matmul_f32(const float* a, int64_t lda, const float* b, int64_t ldb, float* c, int64_t ldc,         \
                  int64_t m, int64_t n, int64_t k);                                                        \
  void maxpool2d_nhwc_f32(const Pool2dDesc& d, const float* x, int64_t x_pixel_stride, float* y,           \
                          int64_t y_pixel_stride);                                                         \
  void resize_nearest_nhwc_f32(const float* x, int in_h, int in_w, int channels, int64_t x_pixel_stride,   \
                               float* y, int out_h, int out_w, int64_t y_pixel_stride);                    \
  void nchw_to_nhwc_f32(const float* x, int channels, int64_t pixels, float* y, int64_t y_pixel_stride);   \
  void nhwc_to_nchw_f32(const float* x, int channels, int64_t pixels, int64_t x_pixel_stride, float* y);

namespace sp::kernels::scalar {
SP_VECTOR_OPS_F32_DECLARE_ENTRY_POINTS()
}  // namespace sp::kernels::scalar

namespace sp::kernels::avx2 {
SP_VECTOR_OPS_F32_DECLARE_ENTRY_POINTS()
}  // namespace sp::kernels::avx2

namespace sp::kernels::avx512 {
SP_VECTOR_OPS_F32_DECLARE_ENTRY_POINTS()
}  // namespace sp::kernels::avx512

#undef SP_VECTOR_OPS_F32_DECLARE_ENTRY_POINTS
