// Random float convolution problems for the float kernels' unit tests (test_conv_f32, test_spconv_f32,
// test_conv_bf16): NHWC tensors that are channel slices of wider buffers, random shapes within a test's
// limits, random operands, and a run that checks the floats around the output slice stay untouched.
//
// The draws are made in the order each test made them before they were shared, so a test's seeds still
// give it the very same cases.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/cpu_features.h"
#include "core/kernels/activation.h"
#include "core/kernels/conv_f32/conv_f32.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_test {

constexpr float kCanary = -12345.5f;

// A tensor that is a channel slice [offset, offset + channels) of a wider NHWC buffer.
struct Slice {
  std::vector<float> buf;
  int64_t pixel_stride = 0;
  int offset = 0;
  float* data() { return buf.data() + offset; }
  const float* data() const { return buf.data() + offset; }
};

inline Slice make_slice(int64_t pixels, int channels, int extra_stride, int offset, float fill) {
  Slice s;
  s.pixel_stride = channels + offset + extra_stride;
  s.offset = offset;
  s.buf.assign(static_cast<size_t>(pixels * s.pixel_stride), fill);
  return s;
}

// What a test case is besides its own fields: the descriptor and how the tensors are laid out.
struct ConvProblem {
  Conv2dDesc desc;
  bool has_bias = true;
  int residual = 0;  // 0 none, 1 separate buffer, 2 in place (residual == output)
  int in_extra = 0, in_offset = 0, out_extra = 0, out_offset = 0;
};

struct ConvData {
  std::vector<float> weights, bias;
  Slice input, residual;
};

// Where the tests' random shapes differ. A shape is of one of ten kinds: kinds 0 .. max_dense_kind have
// groups = 1, the kinds up to max_depthwise_kind are depthwise, the rest have 2 .. max_groups groups.
struct RandomShapeLimits {
  int max_dense_kind, max_depthwise_kind;
  int small_in_c, max_in_c, max_out_c;  // groups = 1: in_c up to small_in_c one time in four, else max_in_c
  int max_depthwise_channels;
  int max_groups, max_group_out_c;
  int max_size;  // in_h up to max_size, in_w up to max_size + 4 (10 and 14 for the widest layers)
};

// A random shape (kernels 1, 2, 3, 5, some not square, strides 1..3, dilation 2, asymmetric padding) and
// activation.
inline Conv2dDesc random_desc(std::mt19937& rng, const RandomShapeLimits& lim) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Conv2dDesc d;
  const int kind = pick(0, 9);
  int per_group_in = 0, per_group_out = 0;
  if (kind <= lim.max_dense_kind) {
    d.groups = 1;
    per_group_in = pick(0, 3) == 0 ? pick(1, lim.small_in_c) : pick(1, lim.max_in_c);
    per_group_out = pick(0, 4) == 0 ? pick(1, 9) : pick(1, lim.max_out_c);
  } else if (kind <= lim.max_depthwise_kind) {
    per_group_in = per_group_out = 1;
    d.groups = pick(1, lim.max_depthwise_channels);
  } else {  // general groups (including depthwise with a channel multiplier)
    d.groups = pick(2, lim.max_groups);
    per_group_in = pick(1, 12);
    per_group_out = pick(1, lim.max_group_out_c);
  }
  d.in_c = per_group_in * d.groups;
  d.out_c = per_group_out * d.groups;
  const int k = std::vector<int>{1, 1, 3, 3, 3, 5, 2}[pick(0, 6)];
  d.kernel_h = k;
  d.kernel_w = pick(0, 5) == 0 ? std::vector<int>{1, 3, 5}[pick(0, 2)] : k;
  d.stride_h = pick(1, 2);
  d.stride_w = pick(0, 4) == 0 ? pick(1, 3) : d.stride_h;
  d.dilation_h = pick(0, 5) == 0 ? 2 : 1;
  d.dilation_w = pick(0, 5) == 0 ? 2 : d.dilation_h;
  d.pad_top = pick(0, d.kernel_h / 2 + 1);
  d.pad_bottom = pick(0, 4) == 0 ? pick(0, 2) : d.pad_top;
  d.pad_left = pick(0, d.kernel_w / 2 + 1);
  d.pad_right = pick(0, 4) == 0 ? pick(0, 2) : d.pad_left;
  const int area = d.in_c * d.out_c / d.groups > 1500 ? 10 : lim.max_size;
  d.in_h = pick(1, area);
  d.in_w = pick(1, area + 4);
  // The kernel must fit in the padded input.
  while (d.out_h() <= 0) ++d.in_h;
  while (d.out_w() <= 0) ++d.in_w;
  d.activation = static_cast<Activation>(pick(0, 3));
  return d;
}

// A random layout: bias (4 in 5), residual (none, separate, in place), extra pixel stride and channel
// offset of the input and output slices.
inline void random_layout(std::mt19937& rng, ConvProblem& c) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  c.has_bias = pick(0, 4) != 0;
  c.residual = pick(0, 2);
  c.in_extra = pick(0, 2) == 0 ? 0 : pick(1, 9);
  c.in_offset = pick(0, 2) == 0 ? 0 : pick(1, 7);
  c.out_extra = pick(0, 2) == 0 ? 0 : pick(1, 9);
  c.out_offset = pick(0, 2) == 0 ? 0 : pick(1, 7);
}

// OIHW weights uniform in [-1, 1].
inline std::vector<float> random_weights(const Conv2dDesc& d, std::mt19937& rng) {
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(static_cast<size_t>(d.out_c) * (d.in_c / d.groups) * d.kernel_h * d.kernel_w);
  for (float& v : w) v = u(rng);
  return w;
}

// The problem's data around the given weights, drawn after them: bias and residual uniform in [-1, 1],
// input in [-2, 2] (the whole buffer: also the floats outside the slice).
inline ConvData random_operands(const ConvProblem& c, std::vector<float> weights, std::mt19937& rng) {
  const Conv2dDesc& d = c.desc;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  ConvData data;
  data.weights = std::move(weights);
  if (c.has_bias) {
    data.bias.resize(d.out_c);
    for (float& v : data.bias) v = u(rng);
  }
  data.input = make_slice(static_cast<int64_t>(d.in_h) * d.in_w, d.in_c, c.in_extra, c.in_offset, 0.0f);
  for (float& v : data.input.buf) v = u(rng) * 2.0f;
  if (c.residual) {
    data.residual = make_slice(static_cast<int64_t>(d.out_h()) * d.out_w(), d.out_c, c.out_extra, c.out_offset, 0.0f);
    for (float& v : data.residual.buf) v = u(rng);
  }
  return data;
}

// Dense random weights, then the operands.
inline ConvData random_data(const ConvProblem& c, std::mt19937& rng) {
  std::vector<float> weights = random_weights(c.desc, rng);
  return random_operands(c, std::move(weights), rng);
}

// A run's input (the data's) and output (`out`); no residual.
inline ConvIO conv_io(const ConvData& data, Slice& out) {
  ConvIO io;
  io.input = data.input.data();
  io.in_pixel_stride = data.input.pixel_stride;
  io.output = out.data();
  io.out_pixel_stride = out.pixel_stride;
  return io;
}

// Runs `conv` into a canary-filled output slice; checks the canary survives outside the slice. Case: a
// ConvProblem with a label() for the failure messages.
template <class Case>
Slice run_conv(const Conv2dF32& conv, const Case& c, const ConvData& data, ThreadPool* pool) {
  const Conv2dDesc& d = c.desc;
  const int64_t pixels = static_cast<int64_t>(d.out_h()) * d.out_w();
  Slice out = make_slice(pixels, d.out_c, c.out_extra, c.out_offset, kCanary);
  ConvIO io = conv_io(data, out);
  if (c.residual == 1) {
    io.residual = data.residual.data();
    io.residual_pixel_stride = data.residual.pixel_stride;
  } else if (c.residual == 2) {
    // In place: the output buffer starts out holding the residual inside the slice.
    for (int64_t p = 0; p < pixels; ++p)
      for (int ch = 0; ch < d.out_c; ++ch)
        out.data()[p * out.pixel_stride + ch] = data.residual.data()[p * data.residual.pixel_stride + ch];
    io.residual = out.data();
    io.residual_pixel_stride = out.pixel_stride;
  }
  conv.run(io, pool);
  int bad = 0;
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t i = 0; i < out.pixel_stride; ++i) {
      const bool inside = i >= out.offset && i < out.offset + d.out_c;
      if (!inside && out.buf[p * out.pixel_stride + i] != kCanary && ++bad <= 3)
        ADD_FAILURE() << conv.name() << ": wrote outside the output slice at pixel " << p << " float " << i << " ("
                      << c.label() << ")";
    }
  return out;
}

// The ISAs of `wanted` this CPU runs; prints a visible skip line, naming `family`, for each one it lacks.
inline std::vector<Isa> runnable_isas(const char* family, std::initializer_list<Isa> wanted) {
  std::vector<Isa> out;
  for (Isa isa : wanted) {
    if (isa_supported(isa)) {
      out.push_back(isa);
    } else {
      std::printf("[  SKIPPED ] %s: this CPU lacks %s; its kernels are not tested here\n", family,
                  std::string(isa_name(isa)).c_str());
    }
  }
  return out;
}

// The activations in double, as the textbook convolutions apply them.
inline float act_ref(Activation a, double x) {
  switch (a) {
    case Activation::kNone: return static_cast<float>(x);
    case Activation::kRelu: return static_cast<float>(x > 0 ? x : 0);
    case Activation::kSigmoid: return static_cast<float>(1.0 / (1.0 + std::exp(-x)));
    case Activation::kSilu: return static_cast<float>(x / (1.0 + std::exp(-x)));
  }
  return 0;
}

}  // namespace sp::kernels::conv_test
