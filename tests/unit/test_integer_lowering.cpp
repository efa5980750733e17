// The integer lowering of QDQ graphs (core/passes/lower_to_integer.cpp) against the exact float
// emulation of the same graph (FakeQuant), for every ISA this CPU has: small graphs built here that
// exercise each integer op and the float fallback, and the bundled third-party int8 export end to end.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>

#include "core/error.h"
#include "core/onnx_import.h"
#include "core/session.h"
#include "models/pose_head.h"
#include "tests/onnx_builder.h"

namespace sp {
namespace {

std::vector<Isa> cpu_isas() {
  std::vector<Isa> r;
  for (Isa i : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx}) {
    if (isa_supported(i)) r.push_back(i);
  }
  return r;
}

std::multiset<std::string> op_types(const Session& s) {
  std::multiset<std::string> r;
  for (const auto& p : s.profile()) r.insert(p.op_type);
  return r;
}

// Writes an activation QDQ pair (u8 or s8) named after `x`: returns the DequantizeLinear output.
std::string qdq(test::OnnxBuilder& b, const std::string& x, float scale, int zp, bool s8 = false) {
  b.floats(x + "_s", {}, {scale});
  if (s8) b.typed<int8_t>(x + "_z", onnx::TensorProto::INT8, {}, {static_cast<int8_t>(zp)});
  else b.typed<uint8_t>(x + "_z", onnx::TensorProto::UINT8, {}, {static_cast<uint8_t>(zp)});
  b.node("QuantizeLinear", {x, x + "_s", x + "_z"}, {x + "_q"});
  b.node("DequantizeLinear", {x + "_q", x + "_s", x + "_z"}, {x + "_dq"});
  return x + "_dq";
}

// Conv with s8 per-channel weights (DequantizeLinear axis 0) and an int32 bias at scale sx * sw.
std::string qconv(test::OnnxBuilder& b, const std::string& name, const std::string& x, float sx, int cin, int cout, int k,
                  int stride, int group, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> wd(-127, 127), bd(-2000, 2000);
  std::uniform_real_distribution<float> sd(0.002f, 0.02f);
  std::vector<int8_t> w(static_cast<size_t>(cout) * (cin / group) * k * k);
  for (auto& v : w) v = static_cast<int8_t>(wd(rng));
  std::vector<float> sw(cout), sb(cout);
  std::vector<int8_t> wz(cout, 0);
  std::vector<int32_t> bias(cout), bz(cout, 0);
  for (int o = 0; o < cout; ++o) {
    sw[o] = sd(rng);
    sb[o] = static_cast<float>(static_cast<double>(sx) * sw[o]);
    bias[o] = bd(rng);
  }
  b.typed<int8_t>(name + "_w", onnx::TensorProto::INT8, {cout, cin / group, k, k}, w);
  b.floats(name + "_ws", {cout}, sw);
  b.typed<int8_t>(name + "_wz", onnx::TensorProto::INT8, {cout}, wz);
  auto* dw = b.node("DequantizeLinear", {name + "_w", name + "_ws", name + "_wz"}, {name + "_wdq"});
  test::OnnxBuilder::attr(dw, "axis", int64_t{0});
  b.typed<int32_t>(name + "_b", onnx::TensorProto::INT32, {cout}, bias);
  b.floats(name + "_bs", {cout}, sb);
  b.typed<int32_t>(name + "_bz", onnx::TensorProto::INT32, {cout}, bz);
  auto* db = b.node("DequantizeLinear", {name + "_b", name + "_bs", name + "_bz"}, {name + "_bdq"});
  test::OnnxBuilder::attr(db, "axis", int64_t{0});
  auto* c = b.node("Conv", {x, name + "_wdq", name + "_bdq"}, {name}, name);
  test::OnnxBuilder::attr(c, "kernel_shape", std::vector<int64_t>{k, k});
  test::OnnxBuilder::attr(c, "pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
  test::OnnxBuilder::attr(c, "strides", std::vector<int64_t>{stride, stride});
  test::OnnxBuilder::attr(c, "group", int64_t{group});
  return name;
}

std::string silu(test::OnnxBuilder& b, const std::string& x) {
  b.node("Sigmoid", {x}, {x + "_sig"});
  b.node("Mul", {x, x + "_sig"}, {x + "_silu"});
  return x + "_silu";
}

struct RunResult {
  std::vector<std::vector<float>> outputs;
  std::multiset<std::string> ops;
  passes::IntegerLoweringReport report;
};

RunResult run(const Graph& g, const std::vector<float>& input, bool integer, Isa isa, bool u8_input = false,
              std::vector<std::string> outputs = {}, std::vector<int64_t> hw = {}) {
  SessionOptions o;
  o.threads = 2;
  o.isa = isa;
  o.integer = integer;
  o.nhwc_input = u8_input;
  o.u8_input = u8_input;
  o.outputs = std::move(outputs);
  o.input_hw = std::move(hw);
  o.profile = true;
  Session s(g, o);
  if (s.input_dtype(0) == DType::kUInt8) {
    // input given NCHW: write the NHWC bytes QuantizeLinear would give
    const Shape& sh = s.input_shape(0);
    int64_t c = sh[1], hw_ = sh[2] * sh[3];
    for (int64_t p = 0; p < hw_; ++p) {
      for (int64_t k = 0; k < c; ++k) {
        float q = std::nearbyint(input[k * hw_ + p] / s.input_scale(0)) + static_cast<float>(s.input_zero_point(0));
        s.input_u8(0)[p * c + k] = static_cast<uint8_t>(std::clamp(q, 0.0f, 255.0f));
      }
    }
  } else if (u8_input) {
    const Shape& sh = s.input_shape(0);
    int64_t c = sh[1], hw_ = sh[2] * sh[3];
    for (int64_t p = 0; p < hw_; ++p)
      for (int64_t k = 0; k < c; ++k) s.input_data(0)[p * c + k] = input[k * hw_ + p];
  } else {
    std::copy(input.begin(), input.end(), s.input_data(0));
  }
  s.run();
  RunResult r;
  for (size_t i = 0; i < s.num_outputs(); ++i) {
    r.outputs.emplace_back(s.output_data(i), s.output_data(i) + shape_numel(s.output_shape(i)));
  }
  r.ops = op_types(s);
  r.report = s.integer_report();
  return r;
}

std::vector<float> image_like(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> d(0, 255);
  std::vector<float> v(n);
  for (auto& x : v) x = static_cast<float>(d(rng)) / 255.0f;
  return v;
}

// A block of every kind the lowering handles: u8 and s8 grids, dense 3x3 s2 and 1x1 convs, a
// depthwise conv, a quantized SiLU (table), Split, a residual Add, Concat of two grids, MaxPool,
// nearest Resize, and a float-output conv at the end.
Graph block_model(bool grouped_conv) {
  test::OnnxBuilder b(17);
  b.input("images", {1, 3, 32, 32});
  std::string x = qdq(b, "images", 1.0f / 255.0f, 0);
  std::string c0 = qconv(b, "c0", x, 1.0f / 255.0f, 3, 16, 3, 2, 1, 1);
  std::string a0 = qdq(b, c0, 0.05f, 3, /*s8=*/true);  // pre-activation grid, as the stock export
  b.node("Sigmoid", {a0}, {a0 + "_sig"});
  std::string s0 = qdq(b, a0 + "_sig", 1.0f / 255.0f, 0);
  b.node("Mul", {a0, s0}, {"m0"});
  std::string m0 = qdq(b, "m0", 0.03f, 10);
  b.ints("split_sizes", {8, 8});
  auto* sp = b.node("Split", {m0, "split_sizes"}, {"sa", "sb"});
  test::OnnxBuilder::attr(sp, "axis", int64_t{1});
  std::string c1 = qconv(b, "c1", "sb", 0.03f, 8, 8, 3, 1, grouped_conv ? 2 : 8, 2);  // depthwise (or grouped)
  std::string m1 = qdq(b, silu(b, c1), 0.02f, 14);
  b.node("Add", {"sb", m1}, {"add"});
  std::string ad = qdq(b, "add", 0.04f, 12);
  auto* cc = b.node("Concat", {"sa", ad}, {"cat"});
  test::OnnxBuilder::attr(cc, "axis", int64_t{1});
  std::string ct = qdq(b, "cat", 0.035f, 9);
  auto* mp = b.node("MaxPool", {ct}, {"pool"});
  test::OnnxBuilder::attr(mp, "kernel_shape", std::vector<int64_t>{5, 5});
  test::OnnxBuilder::attr(mp, "pads", std::vector<int64_t>{2, 2, 2, 2});
  test::OnnxBuilder::attr(mp, "strides", std::vector<int64_t>{1, 1});
  std::string c2 = qconv(b, "c2", ct, 0.035f, 16, 16, 1, 2, 1, 3);
  std::string m2 = qdq(b, silu(b, c2), 0.025f, 11);
  b.floats("scales", {4}, {1, 1, 2, 2});
  auto* rs = b.node("Resize", {m2, "", "scales"}, {"up"});
  test::OnnxBuilder::attr(rs, "mode", std::string("nearest"));
  test::OnnxBuilder::attr(rs, "coordinate_transformation_mode", std::string("asymmetric"));
  test::OnnxBuilder::attr(rs, "nearest_mode", std::string("floor"));
  auto* c3 = b.node("Concat", {"up", "pool"}, {"cat2"});
  test::OnnxBuilder::attr(c3, "axis", int64_t{1});
  std::string ct2 = qdq(b, "cat2", 0.035f, 9);
  qconv(b, "head", ct2, 0.035f, 32, 5, 1, 1, 1, 4);
  b.output("head");
  return b.graph();
}

TEST(IntegerLowering, BlockMatchesFloatEmulationOnEveryIsa) {
  Graph g = block_model(false);
  auto input = image_like(3 * 32 * 32, 7);
  RunResult ref = run(g, input, false, Isa::kScalar);
  EXPECT_EQ(ref.ops.count("QConv"), 0u);
  for (Isa isa : cpu_isas()) {
    SCOPED_TRACE(isa_name(isa));
    for (bool u8_input : {false, true}) {
      RunResult got = run(g, input, true, isa, u8_input);
      EXPECT_EQ(got.report.integer_convs, 4);
      EXPECT_TRUE(got.report.float_fallbacks.empty());
      for (const char* op : {"QConv", "LutU8", "QSplit", "QAdd", "QConcat", "QMaxPool", "QResize"}) {
        if (std::string(op) == "QSplit") continue;  // a zero-copy view: no op runs
        EXPECT_GE(got.ops.count(op), 1u) << op;
      }
      EXPECT_EQ(got.ops.count("FakeQuant"), 0u);
      EXPECT_EQ(got.ops.count("QuantizeU8"), u8_input ? 0u : 1u);
      // Same integers as the emulation: the float head output may differ only by the float
      // rounding of its dequantized epilogue (and a rare table entry one step off where float
      // sigmoid rounds differently).
      ASSERT_EQ(got.outputs[0].size(), ref.outputs[0].size());
      double max_diff = 0, max_ref = 0;
      for (size_t i = 0; i < ref.outputs[0].size(); ++i) {
        max_diff = std::max<double>(max_diff, std::fabs(got.outputs[0][i] - ref.outputs[0][i]));
        max_ref = std::max<double>(max_ref, std::fabs(ref.outputs[0][i]));
      }
      EXPECT_GT(max_ref, 0.1);
      EXPECT_LE(max_diff, 1e-4 * max_ref) << "max |integer - emulated| " << max_diff << " of " << max_ref;
    }
  }
}

TEST(IntegerLowering, GroupedConvFallsBackToFloatWithAReason) {
  Graph g = block_model(true);
  auto input = image_like(3 * 32 * 32, 8);
  RunResult ref = run(g, input, false, Isa::kScalar);
  RunResult got = run(g, input, true, best_isa());
  ASSERT_EQ(got.report.float_fallbacks.size(), 1u);
  EXPECT_NE(got.report.float_fallbacks[0].find("grouped convolution (group=2)"), std::string::npos) << got.report.float_fallbacks[0];
  EXPECT_NE(got.report.float_fallbacks[0].find("'c1'"), std::string::npos);
  EXPECT_EQ(got.report.integer_convs, 3);
  EXPECT_GE(got.ops.count("Conv"), 1u);
  double max_diff = 0, max_ref = 0;
  for (size_t i = 0; i < ref.outputs[0].size(); ++i) {
    max_diff = std::max<double>(max_diff, std::fabs(got.outputs[0][i] - ref.outputs[0][i]));
    max_ref = std::max<double>(max_ref, std::fabs(ref.outputs[0][i]));
  }
  EXPECT_LE(max_diff, 1e-4 * max_ref);
}

// Residual blocks as the sparsepose int8 writer emits them: the second conv's output is not quantized
// (only what an int8 conv reads is), so each lowers to QConv (float out) -> Add with DequantizeU8 of the
// shortcut -> QuantizeU8, which fuse_qconv_residual folds into the conv's epilogue. Two blocks, the Add's
// operands in either order, with and without SiLU on the conv; optionally the first block's float sum
// is also a graph output (then that block must stay unfused).
Graph residual_model(bool sum_is_output) {
  test::OnnxBuilder b(17);
  b.input("images", {1, 3, 20, 24});
  std::string x = qdq(b, "images", 1.0f / 255.0f, 0);
  std::string a0 = qdq(b, silu(b, qconv(b, "c0", x, 1.0f / 255.0f, 3, 16, 3, 1, 1, 21)), 0.03f, 20);
  std::string m1 = qdq(b, silu(b, qconv(b, "c1", a0, 0.03f, 16, 16, 3, 1, 1, 22)), 0.02f, 5);
  std::string c2 = silu(b, qconv(b, "c2", m1, 0.02f, 16, 16, 3, 1, 1, 23));
  b.node("Add", {a0, c2}, {"add1"});
  std::string r1 = qdq(b, "add1", 0.05f, 100);
  std::string c3 = qconv(b, "c3", r1, 0.05f, 16, 16, 1, 1, 1, 24);  // no activation
  b.node("Add", {c3, r1}, {"add2"});
  std::string r2 = qdq(b, "add2", 0.06f, 90);
  qconv(b, "head", r2, 0.06f, 16, 5, 1, 1, 1, 25);
  b.output("head");
  if (sum_is_output) b.output("add1");
  return b.graph();
}

TEST(IntegerLowering, ResidualFusionIsBitIdentical) {
  auto input = image_like(3 * 20 * 24, 5);
  for (bool sum_is_output : {false, true}) {
    Graph g = residual_model(sum_is_output);
    for (Isa isa : cpu_isas()) {
      SCOPED_TRACE(std::string(isa_name(isa)) + (sum_is_output ? ", float sum is an output" : ""));
      std::vector<std::vector<float>> outs[2];
      std::multiset<std::string> ops[2];
      int res_kernels[2] = {0, 0};
      for (bool fuse : {false, true}) {
        SessionOptions o;
        o.threads = 2;
        o.isa = isa;
        o.integer = true;
        o.integer_fusions = fuse;
        o.profile = true;
        Session s(g, o);
        std::copy(input.begin(), input.end(), s.input_data(0));
        s.run();
        for (size_t i = 0; i < s.num_outputs(); ++i)
          outs[fuse].emplace_back(s.output_data(i), s.output_data(i) + shape_numel(s.output_shape(i)));
        ops[fuse] = op_types(s);
        for (const auto& p : s.profile()) res_kernels[fuse] += p.kernel.find("-res") != std::string::npos;
      }
      EXPECT_EQ(ops[0].count("Add"), 2u);
      EXPECT_EQ(res_kernels[0], 0);
      EXPECT_EQ(res_kernels[1], sum_is_output ? 1 : 2);
      EXPECT_EQ(ops[1].count("Add"), sum_is_output ? 1u : 0u);
      EXPECT_LT(ops[1].count("QuantizeU8"), ops[0].count("QuantizeU8"));
      ASSERT_EQ(outs[1].size(), outs[0].size());
      for (size_t k = 0; k < outs[0].size(); ++k) {
        ASSERT_EQ(outs[1][k].size(), outs[0][k].size());
        EXPECT_EQ(std::memcmp(outs[1][k].data(), outs[0][k].data(), outs[0][k].size() * sizeof(float)), 0)
            << "output " << k << " differs with the residual fused";
      }
    }
  }
}

// The bundled int8 model (sparsepose's own QDQ writer: residual blocks of that form throughout) gives the
// same head outputs, bit for bit, with its residual adds fused into the convs.
TEST(IntegerLowering, BundledInt8ModelResidualFusionIsBitIdentical) {
  Graph g = load_onnx_file(std::string(SP_SOURCE_DIR) + "/assets/models/yolo11n-pose_sp-int8.onnx");
  auto head = models::find_pose_head(g);
  ASSERT_TRUE(head.has_value());
  auto input = image_like(3 * 160 * 160, 12);
  std::vector<std::vector<float>> outs[2];
  int res_kernels = 0;
  for (bool fuse : {false, true}) {
    SessionOptions o;
    o.threads = 2;
    o.isa = best_isa();
    o.integer = true;
    o.integer_fusions = fuse;
    o.outputs = head->output_names();
    o.input_hw = {160, 160};
    o.profile = true;
    Session s(g, o);
    std::copy(input.begin(), input.end(), s.input_data(0));
    s.run();
    for (size_t i = 0; i < s.num_outputs(); ++i)
      outs[fuse].emplace_back(s.output_data(i), s.output_data(i) + shape_numel(s.output_shape(i)));
    if (fuse)
      for (const auto& p : s.profile()) res_kernels += p.kernel.find("-res") != std::string::npos;
  }
  EXPECT_GE(res_kernels, 10);
  ASSERT_EQ(outs[1].size(), outs[0].size());
  for (size_t k = 0; k < outs[0].size(); ++k) {
    ASSERT_EQ(outs[1][k].size(), outs[0][k].size());
    EXPECT_EQ(std::memcmp(outs[1][k].data(), outs[0][k].data(), outs[0][k].size() * sizeof(float)), 0) << "output " << k;
  }
}

TEST(IntegerLowering, FloatModelIsUntouched) {
  test::OnnxBuilder b(17);
  b.input("x", {1, 4, 8, 8});
  b.floats("w", {4, 4, 1, 1}, std::vector<float>(16, 0.25f));
  auto* c = b.node("Conv", {"x", "w"}, {"y"});
  test::OnnxBuilder::attr(c, "kernel_shape", std::vector<int64_t>{1, 1});
  b.output("y");
  RunResult got = run(b.graph(), image_like(256, 1), true, best_isa());
  EXPECT_EQ(got.report.integer_convs, 0);
  EXPECT_EQ(got.ops.count("QConv"), 0u);
}

// The stock Ultralytics int8 export (QDQ after every op, s8 activations, per-tensor weights): every
// conv runs in integer. Its quantized tensors are IDENTICAL to the emulation's through the first
// 40-odd layers; deeper, the emulation's float-accumulated convs (inexact, unlike int32) start to land
// on the other side of a rounding boundary now and then, and such one-step differences propagate. So
// exactness is checked where it must hold and the head only for staying within quantization noise.
TEST(IntegerLowering, StockInt8ExportMatchesEmulation) {
  Graph g = load_onnx_file(std::string(SP_SOURCE_DIR) + "/assets/models/yolo11n-pose_int8.onnx");
  auto input = image_like(3 * 320 * 320, 11);
  const std::vector<int64_t> hw{320, 320};
  std::vector<std::string> early = {"/model.0/act/Mul_output_0_DequantizeLinear_Output",
                                    "/model.2/m.0/Add_output_0_DequantizeLinear_Output",
                                    "/model.2/Concat_output_0_DequantizeLinear_Output",
                                    "/model.4/cv2/act/Mul_output_0_DequantizeLinear_Output"};
  RunResult ref_early = run(g, input, false, Isa::kScalar, false, early, hw);
  auto head = models::find_pose_head(g);
  ASSERT_TRUE(head.has_value());
  RunResult ref = run(g, input, false, Isa::kScalar, false, head->output_names(), hw);
  for (Isa isa : cpu_isas()) {
    SCOPED_TRACE(isa_name(isa));
    RunResult got_early = run(g, input, true, isa, true, early, hw);
    for (size_t o = 0; o < early.size(); ++o) EXPECT_EQ(got_early.outputs[o], ref_early.outputs[o]) << early[o];

    RunResult got = run(g, input, true, isa, true, head->output_names(), hw);
    EXPECT_EQ(got.report.integer_convs, static_cast<int>(got.ops.count("QConv")));
    EXPECT_GE(got.report.integer_convs, 90);
    EXPECT_TRUE(got.report.float_fallbacks.empty()) << got.report.float_fallbacks[0];
    ASSERT_EQ(got.report.u8_inputs.size(), 1u);  // u8 input: no float image
    EXPECT_EQ(got.report.u8_inputs[0].scale, 1.0f / 255.0f);
    ASSERT_EQ(got.outputs.size(), ref.outputs.size());
    for (size_t o = 0; o < ref.outputs.size(); ++o) {
      double sum_diff = 0, sum_ref = 0;
      size_t n = ref.outputs[o].size();
      for (size_t i = 0; i < n; ++i) {
        sum_diff += std::fabs(got.outputs[o][i] - ref.outputs[o][i]);
        sum_ref += std::fabs(ref.outputs[o][i]);
      }
      // Measured on this random image: 1-7 % of the mean magnitude; a wrong lowering is ~100 %.
      EXPECT_LT(sum_diff, 0.15 * sum_ref) << "output " << o;
    }
  }
}

}  // namespace
}  // namespace sp
