// Random integer convolution problems for the int8 kernels' unit tests (test_conv_s8, test_spconv_s8,
// test_conv_s8_amx): zero points, scales, weights, bias and input drawn from one seed around a given
// geometry, and a run into a guarded, canary-filled output buffer.
//
// The draws are made in the order each test made them before they were shared, so a test's seeds still
// give it the very same problems.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "core/kernels/conv_s8/conv_s8.h"
#include "core/thread_pool.h"

namespace sp::kernels::conv_s8_test {

struct S8Problem {
  Conv2dS8Desc desc;
  std::vector<int8_t> w;
  std::vector<int32_t> bias;
  std::vector<uint8_t> in;
  int64_t ips = 0, ops = 0;  // pixel strides: channels + extra
};

struct S8Draws {
  bool unit_scales = false;      // input and weight scales 1 (and not drawn)
  bool nonzero_weights = false;  // a weight drawn as 0 becomes 1: zeros only where a test puts them
};

// `desc`: the geometry, output and activation. Draws (std::mt19937(seed)) the zero points, the scales, the
// weights (OIHW, uniform s8), the bias (+-10000) and the input (uniform u8, the whole buffer).
inline S8Problem random_s8_problem(const Conv2dS8Desc& desc, int in_extra, int out_extra, uint32_t seed,
                                   S8Draws draws = {}) {
  std::mt19937 rng(seed);
  S8Problem p;
  Conv2dS8Desc& d = p.desc;
  d = desc;
  d.input_zero_point = static_cast<uint8_t>(rng() % 256);
  d.input_scale = draws.unit_scales ? 1.0f : 0.01f + 0.05f * static_cast<float>(rng() % 1000) / 1000.0f;
  d.output_zero_point = static_cast<uint8_t>(rng() % 256);
  const int taps = d.kernel_h * d.kernel_w * d.in_c;
  // Output scale so that the accumulators span a few hundred output steps: exercises clamping too.
  d.output_scale = d.input_scale * 0.02f * std::sqrt(static_cast<float>(taps)) * 127.0f * 64.0f / 100.0f;
  d.weight_scales.clear();
  for (int o = 0; o < d.out_c; ++o)
    d.weight_scales.push_back(draws.unit_scales ? 1.0f : 0.001f + 0.02f * static_cast<float>(rng() % 1000) / 1000.0f);
  p.w.resize(static_cast<size_t>(d.out_c) * taps);
  for (auto& v : p.w) {
    v = static_cast<int8_t>(static_cast<int>(rng() % 256) - 128);
    if (draws.nonzero_weights && v == 0) v = 1;
  }
  p.bias.resize(static_cast<size_t>(d.out_c));
  for (auto& v : p.bias) v = static_cast<int32_t>(rng() % 20001) - 10000;
  p.ips = d.in_c + in_extra;
  p.ops = d.out_c + out_extra;
  p.in.resize(static_cast<size_t>(d.in_h) * d.in_w * p.ips);
  for (auto& v : p.in) v = static_cast<uint8_t>(rng() % 256);
  return p;
}

constexpr uint8_t kCanary = 0xA5;
constexpr int kGuard = 64;  // bytes before and after the output buffer

// Runs `conv` into a canary-filled buffer; returns the bytes (guards included) and checks the canaries.
inline std::vector<uint8_t> run_checked(const Conv2dS8& conv, const S8Problem& p, ThreadPool* pool) {
  const Conv2dS8Desc& d = p.desc;
  const size_t elem = d.output == QuantOutput::kU8 ? 1 : 4;
  const size_t pixels = static_cast<size_t>(d.out_h()) * d.out_w();
  std::vector<uint8_t> buf(pixels * p.ops * elem + 2 * kGuard, kCanary);
  // Float output needs 4-byte alignment: kGuard is a multiple of 4 and vector data is malloc-aligned.
  conv.run(p.in.data(), p.ips, buf.data() + kGuard, p.ops, pool);
  for (int i = 0; i < kGuard; ++i) {
    EXPECT_EQ(buf[i], kCanary) << "guard before output clobbered";
    EXPECT_EQ(buf[buf.size() - 1 - i], kCanary) << "guard after output clobbered";
  }
  for (size_t px = 0; px < pixels; ++px)
    for (size_t b = d.out_c * elem; b < p.ops * elem; ++b)
      if (buf[kGuard + px * p.ops * elem + b] != kCanary) {
        ADD_FAILURE() << "channel padding of pixel " << px << " clobbered at byte " << b;
        return buf;
      }
  return buf;
}

}  // namespace sp::kernels::conv_s8_test
