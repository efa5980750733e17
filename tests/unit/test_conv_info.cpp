// Op::conv_info() and Session::op(): the read-only description of each compiled convolution that peer
// benchmarks (bench/bench_onednn_conv.cpp) rebuild the same layer from — descriptor, weights and bias as the
// kernel received them — for a float Conv+SiLU and for a quantized conv lowered onto the integer kernels.
#include <gtest/gtest.h>

#include <random>

#include "core/kernels/conv_f32/conv_f32.h"
#include "core/kernels/conv_s8/conv_s8.h"
#include "core/session.h"
#include "tests/onnx_builder.h"

namespace sp {
namespace {

std::vector<const Op*> convs(const Session& s) {
  std::vector<const Op*> r;
  for (size_t i = 0; i < s.num_ops(); ++i) {
    if (s.op(i).conv_info()) r.push_back(&s.op(i));
  }
  return r;
}

TEST(ConvInfo, FloatConvDescribesDescriptorWeightsAndBias) {
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::vector<float> w(6 * 4 * 3 * 3), b(6);
  for (auto& v : w) v = u(rng);
  for (auto& v : b) v = u(rng);
  test::OnnxBuilder m;
  m.input("x", {1, 4, 8, 8});
  m.floats("w", {6, 4, 3, 3}, w);
  m.floats("b", {6}, b);
  auto* c = m.node("Conv", {"x", "w", "b"}, {"c"}, "conv");
  test::OnnxBuilder::attr(c, "kernel_shape", std::vector<int64_t>{3, 3});
  test::OnnxBuilder::attr(c, "pads", std::vector<int64_t>{1, 1, 1, 1});
  test::OnnxBuilder::attr(c, "strides", std::vector<int64_t>{2, 2});
  m.node("Sigmoid", {"c"}, {"s"});
  m.node("Mul", {"c", "s"}, {"y"});
  m.output("y");
  SessionOptions o;
  o.threads = 1;
  Session s(m.graph(), o);

  auto ops = convs(s);
  ASSERT_EQ(ops.size(), 1u);
  const ConvOpInfo& info = *ops[0]->conv_info();
  ASSERT_NE(info.f32, nullptr);
  EXPECT_EQ(info.s8, nullptr);
  const kernels::Conv2dDesc& d = *info.f32;
  EXPECT_EQ(d.in_c, 4);
  EXPECT_EQ(d.out_c, 6);
  EXPECT_EQ(d.in_h, 8);
  EXPECT_EQ(d.kernel_h, 3);
  EXPECT_EQ(d.stride_w, 2);
  EXPECT_EQ(d.pad_top, 1);
  EXPECT_EQ(d.out_h(), 4);
  EXPECT_EQ(d.activation, kernels::Activation::kSilu);  // the Sigmoid*Mul was fused into the conv
  EXPECT_FALSE(info.residual);
  const float* wi = static_cast<const float*>(info.weights);
  const float* bi = static_cast<const float*>(info.bias);
  ASSERT_NE(bi, nullptr);
  for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(wi[i], w[i]) << i;  // OIHW, as in the file
  for (size_t i = 0; i < b.size(); ++i) ASSERT_EQ(bi[i], b[i]) << i;
}

TEST(ConvInfo, QuantizedConvDescribesItsGrids) {
  test::OnnxBuilder m;
  m.input("x", {1, 8, 6, 6});
  // u8 input grid, s8 per-channel weights, int32 bias, u8 output grid.
  m.floats("xs", {}, {0.05f});
  m.typed<uint8_t>("xz", onnx::TensorProto::UINT8, {}, {uint8_t{3}});
  m.node("QuantizeLinear", {"x", "xs", "xz"}, {"xq"});
  m.node("DequantizeLinear", {"xq", "xs", "xz"}, {"xdq"});
  std::vector<int8_t> w(4 * 8);
  for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<int8_t>(static_cast<int>(i * 37 % 255) - 127);
  const std::vector<float> ws{0.01f, 0.02f, 0.03f, 0.04f};
  m.typed<int8_t>("w", onnx::TensorProto::INT8, {4, 8, 1, 1}, w);
  m.floats("ws", {4}, ws);
  m.typed<int8_t>("wz", onnx::TensorProto::INT8, {4}, std::vector<int8_t>(4, 0));
  test::OnnxBuilder::attr(m.node("DequantizeLinear", {"w", "ws", "wz"}, {"wdq"}), "axis", int64_t{0});
  const std::vector<int32_t> bias{100, -200, 300, -400};
  std::vector<float> bs(4);
  for (int o = 0; o < 4; ++o) bs[o] = static_cast<float>(0.05 * ws[o]);
  m.typed<int32_t>("b", onnx::TensorProto::INT32, {4}, bias);
  m.floats("bs", {4}, bs);
  m.typed<int32_t>("bz", onnx::TensorProto::INT32, {4}, std::vector<int32_t>(4, 0));
  test::OnnxBuilder::attr(m.node("DequantizeLinear", {"b", "bs", "bz"}, {"bdq"}), "axis", int64_t{0});
  auto* c = m.node("Conv", {"xdq", "wdq", "bdq"}, {"c"}, "conv");
  test::OnnxBuilder::attr(c, "kernel_shape", std::vector<int64_t>{1, 1});
  m.floats("ys", {}, {0.1f});
  m.typed<uint8_t>("yz", onnx::TensorProto::UINT8, {}, {uint8_t{128}});
  m.node("QuantizeLinear", {"c", "ys", "yz"}, {"yq"});
  m.node("DequantizeLinear", {"yq", "ys", "yz"}, {"y"});
  m.node("Relu", {"y"}, {"out"});  // a float consumer after the output grid
  m.output("out");
  SessionOptions o;
  o.threads = 1;
  o.integer = true;
  Session s(m.graph(), o);

  auto ops = convs(s);
  ASSERT_EQ(ops.size(), 1u);
  const ConvOpInfo& info = *ops[0]->conv_info();
  ASSERT_NE(info.s8, nullptr);
  EXPECT_EQ(info.f32, nullptr);
  const kernels::Conv2dS8Desc& d = *info.s8;
  EXPECT_EQ(d.in_c, 8);
  EXPECT_EQ(d.out_c, 4);
  EXPECT_FLOAT_EQ(d.input_scale, 0.05f);
  EXPECT_EQ(d.input_zero_point, 3);
  ASSERT_EQ(d.weight_scales.size(), 4u);
  for (int o2 = 0; o2 < 4; ++o2) EXPECT_FLOAT_EQ(d.weight_scales[o2], ws[o2]);
  EXPECT_EQ(d.output, kernels::QuantOutput::kU8);
  EXPECT_FLOAT_EQ(d.output_scale, 0.1f);
  EXPECT_EQ(d.output_zero_point, 128);
  const int8_t* wi = static_cast<const int8_t*>(info.weights);
  const int32_t* bi = static_cast<const int32_t*>(info.bias);
  ASSERT_NE(bi, nullptr);
  for (size_t i = 0; i < w.size(); ++i) ASSERT_EQ(wi[i], w[i]) << i;
  for (int o2 = 0; o2 < 4; ++o2) EXPECT_EQ(bi[o2], bias[o2]);
}

}  // namespace
}  // namespace sp
