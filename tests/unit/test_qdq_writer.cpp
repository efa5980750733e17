// The QDQ writer on a tiny float model (Conv -> SiLU -> Split -> Conv -> SiLU -> residual Add ->
// Concat -> head Conv -> decode-tail Conv): which tensors get Q/DQ pairs, shared group parameters,
// int8 per-channel weights, int32 biases with s_x * s_w, untouched head outputs, and that the
// engine runs the written model close to the float one.
#include <gtest/gtest.h>

#include <onnx/onnx_pb.h>

#include <cmath>
#include <cstring>
#include <map>
#include <set>

#include "core/error.h"
#include "core/onnx_import.h"
#include "core/quantize/activation_observer.h"
#include "core/quantize/quantizable_model.h"
#include "core/session.h"
#include "tests/onnx_builder.h"

namespace sp::quant {
namespace {

using test::OnnxBuilder;

// Deterministic weights in [-scale, scale].
std::vector<float> lcg_values(size_t n, float scale, uint32_t seed) {
  std::vector<float> v(n);
  for (auto& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = scale * (static_cast<float>(seed >> 8) / 8388608.0f - 1.0f);
  }
  return v;
}

void silu(OnnxBuilder& b, const std::string& x, const std::string& out) {
  b.node("Sigmoid", {x}, {x + "_sig"}, out + "_Sigmoid");
  b.node("Mul", {x, x + "_sig"}, {out}, out + "_Mul");
}

void conv(OnnxBuilder& b, const std::string& name, const std::string& in, const std::string& out, int64_t cin,
          int64_t cout, int64_t k, uint32_t seed, bool bias = true) {
  b.floats(name + ".w", {cout, cin, k, k}, lcg_values(static_cast<size_t>(cout * cin * k * k), 0.5f, seed));
  std::vector<std::string> ins{in, name + ".w"};
  if (bias) {
    b.floats(name + ".b", {cout}, lcg_values(static_cast<size_t>(cout), 0.2f, seed + 7));
    ins.push_back(name + ".b");
  }
  auto* n = b.node("Conv", ins, {out}, name);
  OnnxBuilder::attr(n, "kernel_shape", std::vector<int64_t>{k, k});
  OnnxBuilder::attr(n, "pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
}

// x -> c0 (3x3, 3->4) -> SiLU a0 -> Split(axis 1) s0, s1 -> c1 (1x1 on s1) -> SiLU a1 -> r = s1 + a1
// -> cat = Concat(s0, s1, r) -> head (1x1, 6->2) -> h -> tail (1x1) -> out; Sigmoid(h) -> prob.
std::string tiny_model(int opset = 17) {
  OnnxBuilder b(opset);
  b.input("x", {1, 3, 8, 8});
  conv(b, "c0", "x", "y0", 3, 4, 3, 1);
  silu(b, "y0", "a0");
  b.ints("split_sizes", {2, 2});
  auto* sp = b.node("Split", {"a0", "split_sizes"}, {"s0", "s1"}, "split");
  OnnxBuilder::attr(sp, "axis", int64_t{1});
  conv(b, "c1", "s1", "y1", 2, 2, 1, 2);
  silu(b, "y1", "a1");
  b.node("Add", {"s1", "a1"}, {"r"}, "residual");
  auto* cat = b.node("Concat", {"s0", "s1", "r"}, {"cat"}, "concat");
  OnnxBuilder::attr(cat, "axis", int64_t{1});
  conv(b, "head", "cat", "h", 6, 2, 1, 3);
  conv(b, "tail", "h", "out", 2, 2, 1, 4, false);
  b.node("Sigmoid", {"h"}, {"prob"}, "prob");
  b.output("out");
  b.output("prob");
  return b.bytes();
}

onnx::ModelProto parse(const std::string& bytes) {
  onnx::ModelProto m;
  EXPECT_TRUE(m.ParseFromString(bytes));
  return m;
}

const onnx::TensorProto* initializer(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& t : g.initializer()) {
    if (t.name() == name) return &t;
  }
  return nullptr;
}

template <typename T>
std::vector<T> raw(const onnx::TensorProto& t) {
  std::vector<T> v(t.raw_data().size() / sizeof(T));
  std::memcpy(v.data(), t.raw_data().data(), v.size() * sizeof(T));
  return v;
}

const onnx::NodeProto* node_reading(const onnx::GraphProto& g, const std::string& op, const std::string& input) {
  for (const auto& n : g.node()) {
    if (n.op_type() == op && n.input_size() > 0 && n.input(0) == input) return &n;
  }
  return nullptr;
}

const onnx::NodeProto* node_named(const onnx::GraphProto& g, const std::string& name) {
  for (const auto& n : g.node()) {
    if (n.name() == name) return &n;
  }
  return nullptr;
}

// Calibrated ranges of the tiny model on a few deterministic inputs, through the real observer.
RangeTable calibrate(const std::string& bytes, const QuantizableModel& qm) {
  Graph g = load_onnx_bytes(bytes.data(), bytes.size(), "tiny");
  SessionOptions so;
  so.threads = 1;
  so.input_hw = {8, 8};
  ActivationObserver obs(g, qm.observed_tensors(), so);
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t f = 0; f < 4; ++f) {
      std::vector<float> in = lcg_values(8 * 8 * 3, 0.5f, 100 + f);
      for (auto& v : in) v = std::nearbyint((v + 0.5f) * 255.0f) / 255.0f;  // pixels / 255
      std::memcpy(obs.input(), in.data(), in.size() * sizeof(float));
      pass == 0 ? obs.observe_minmax() : obs.observe_histogram();
    }
  }
  return obs.ranges(CalibMethod::kMinMax, 100.0);
}

TEST(QdqWriter, AnalysisFindsQuantizableConvsAndTheHead) {
  QuantizableModel qm = QuantizableModel::from_bytes(tiny_model(), "tiny", {"h"});
  EXPECT_EQ(qm.image_input(), "x");
  EXPECT_EQ(qm.quantizable_convs(), (std::vector<std::string>{"c0", "c1", "head"}));
  ASSERT_EQ(qm.skipped_convs().count("tail"), 1u);  // after the head: the decode tail stays float
  EXPECT_TRUE(qm.is_head_conv("head"));
  EXPECT_THROW(QuantizableModel::from_bytes(tiny_model(), "tiny", {"nope"}), Error);
}

TEST(QdqWriter, PlanFollowsTheContract) {
  QuantizableModel qm = QuantizableModel::from_bytes(tiny_model(), "tiny", {"h"});
  QdqPlan all = qm.plan(qm.quantizable_convs());
  // Image; c0's block output a0 (c1 reads it through the Split); the Split closure s0, s1; the residual
  // Add r and the Concat output cat (the head conv reads cat). Not c1's block output a1: no int8 conv
  // reads it (the Add runs in float), so quantizing it would only add noise. Not y0/y1, not h.
  EXPECT_EQ(all.tensors, (std::vector<std::string>{"x", "a0", "s0", "s1", "r", "cat"}));
  std::map<std::string, int> group;
  for (size_t i = 0; i < all.tensors.size(); ++i) group[all.tensors[i]] = all.group[i];
  EXPECT_EQ(all.num_groups, 2);
  EXPECT_EQ(group["a0"], group["s0"]);
  EXPECT_EQ(group["a0"], group["s1"]);
  EXPECT_EQ(group["a0"], group["cat"]);
  EXPECT_EQ(group["r"], group["cat"]);  // through the Concat
  EXPECT_NE(group["x"], group["a0"]);
  // Only c1: its input s1 pulls in the Split (a0, s0), and through the Concat the rest; c0's output
  // y0 stays unquantized and so does a1's producer's input.
  QdqPlan one = qm.plan({"c1"});
  EXPECT_EQ(one.int8_convs, (std::vector<std::string>{"c1"}));
  EXPECT_TRUE(one.contains("s1"));
  EXPECT_FALSE(one.contains("a1"));
  EXPECT_TRUE(one.contains("a0"));
  EXPECT_FALSE(one.contains("y0"));
  EXPECT_FALSE(one.contains("h"));
  // Only the head: its input, and the Concat group around it, but never its output.
  QdqPlan head = qm.plan({"head"});
  EXPECT_TRUE(head.contains("cat"));
  EXPECT_FALSE(head.contains("h"));
  EXPECT_FALSE(head.contains("a1"));  // a1 would reach T only through an Add with both inputs in T
  EXPECT_THROW(qm.plan({"tail"}), Error);
}

TEST(QdqWriter, WrittenModelHasTheQdqStructure) {
  const std::string bytes = tiny_model();
  QuantizableModel qm = QuantizableModel::from_bytes(bytes, "tiny", {"h"});
  RangeTable ranges = calibrate(bytes, qm);
  QdqPlan plan = qm.plan(qm.quantizable_convs());
  onnx::ModelProto m = parse(qm.write(plan, ranges, "{\"method\":\"minmax\"}"));
  const onnx::GraphProto& g = m.graph();

  // A Q -> DQ pair on every tensor of T, right after its producer; every other reader takes the DQ.
  std::map<std::string, std::pair<float, int>> params;
  for (const auto& t : plan.tensors) {
    const onnx::NodeProto* q = node_reading(g, "QuantizeLinear", t);
    ASSERT_NE(q, nullptr) << t;
    EXPECT_EQ(q->name(), t + "_q");
    const onnx::NodeProto* dq = node_reading(g, "DequantizeLinear", q->output(0));
    ASSERT_NE(dq, nullptr) << t;
    EXPECT_EQ(dq->output(0), t + "_dq");
    EXPECT_EQ(q->input(1), dq->input(1));
    EXPECT_EQ(q->input(2), dq->input(2));
    const onnx::TensorProto* s = initializer(g, q->input(1));
    const onnx::TensorProto* z = initializer(g, q->input(2));
    ASSERT_TRUE(s && z);
    EXPECT_EQ(s->dims_size(), 0);
    EXPECT_EQ(z->data_type(), onnx::TensorProto::UINT8);
    params[t] = {raw<float>(*s)[0], raw<uint8_t>(*z)[0]};
    for (const auto& n : g.node()) {
      if (&n == q) continue;
      for (const auto& in : n.input()) EXPECT_NE(in, t) << n.name() << " still reads " << t;
    }
  }
  for (const std::string untouched : {"y0", "y1", "h"}) EXPECT_EQ(node_reading(g, "QuantizeLinear", untouched), nullptr);
  EXPECT_EQ(params["x"].first, 1.0f / 255.0f);
  EXPECT_EQ(params["x"].second, 0);
  for (const std::string member : {"s0", "s1", "r", "cat"}) EXPECT_EQ(params[member], params["a0"]) << member;
  // The group's range is the union of its members': its scale covers every member's range.
  float hi = 0;
  for (const std::string member : {"a0", "s0", "s1", "r", "cat"}) hi = std::max(hi, ranges.at(member).hi);
  EXPECT_NEAR(params["a0"].first * (255 - params["a0"].second), hi, 1e-3 * hi + params["a0"].first);

  // Weights: INT8 per output channel behind a DequantizeLinear(axis 0) that keeps the original name.
  for (const std::string c : {"c0", "c1", "head"}) {
    const onnx::NodeProto* conv = node_named(g, c);
    ASSERT_NE(conv, nullptr);
    EXPECT_EQ(initializer(g, c + ".w"), nullptr) << "the float weight must be gone";
    const onnx::NodeProto* wdq = node_named(g, c + ".w_dq");
    ASSERT_NE(wdq, nullptr);
    EXPECT_EQ(wdq->output(0), c + ".w");
    ASSERT_EQ(wdq->attribute_size(), 1);
    EXPECT_EQ(wdq->attribute(0).name(), "axis");
    EXPECT_EQ(wdq->attribute(0).i(), 0);
    const onnx::TensorProto* wq = initializer(g, wdq->input(0));
    const onnx::TensorProto* ws = initializer(g, wdq->input(1));
    const onnx::TensorProto* wz = initializer(g, wdq->input(2));
    ASSERT_TRUE(wq && ws && wz);
    EXPECT_EQ(wq->data_type(), onnx::TensorProto::INT8);
    EXPECT_EQ(wz->data_type(), onnx::TensorProto::INT8);
    const int64_t out_ch = wq->dims(0);
    EXPECT_EQ(ws->dims(0), out_ch);
    for (int8_t z : raw<int8_t>(*wz)) EXPECT_EQ(z, 0);
    std::vector<int8_t> qv = raw<int8_t>(*wq);
    std::vector<float> sw = raw<float>(*ws);
    const size_t per = qv.size() / static_cast<size_t>(out_ch);
    for (size_t o = 0; o < sw.size(); ++o) {
      int amax = 0;
      for (size_t k = 0; k < per; ++k) amax = std::max(amax, std::abs(static_cast<int>(qv[o * per + k])));
      EXPECT_EQ(amax, 127) << c << " channel " << o << ": per-channel symmetric uses the full range";
    }
    // Bias: INT32 with scale float(double(s_x) * s_w[o]), s_x the scale of the conv's input.
    const onnx::NodeProto* bdq = node_named(g, c + ".b_dq");
    ASSERT_NE(bdq, nullptr);
    const onnx::TensorProto* bq = initializer(g, bdq->input(0));
    const onnx::TensorProto* bs = initializer(g, bdq->input(1));
    const onnx::TensorProto* bz = initializer(g, bdq->input(2));
    ASSERT_TRUE(bq && bs && bz);
    EXPECT_EQ(bq->data_type(), onnx::TensorProto::INT32);
    EXPECT_EQ(bz->data_type(), onnx::TensorProto::INT32);
    const float s_x = params[conv->input(0).substr(0, conv->input(0).size() - 3)].first;  // "<t>_dq" -> t
    std::vector<float> bscale = raw<float>(*bs);
    for (size_t o = 0; o < sw.size(); ++o) EXPECT_EQ(bscale[o], static_cast<float>(static_cast<double>(s_x) * sw[o]));
  }
  EXPECT_EQ(node_named(g, "c0")->input(0), "x_dq");
  EXPECT_EQ(node_named(g, "c1")->input(0), "s1_dq");
  EXPECT_EQ(node_named(g, "head")->input(0), "cat_dq");
  // The tail conv and the head output are untouched.
  EXPECT_NE(initializer(g, "tail.w"), nullptr);
  EXPECT_EQ(node_named(g, "tail")->input(0), "h");
  // Metadata kept and added.
  bool note = false;
  for (const auto& p : m.metadata_props()) note |= p.key() == "sparsepose.quantization" && p.value().find("minmax") != std::string::npos;
  EXPECT_TRUE(note);
}

TEST(QdqWriter, EngineRunsTheQuantizedModelCloseToTheFloatOne) {
  const std::string bytes = tiny_model();
  QuantizableModel qm = QuantizableModel::from_bytes(bytes, "tiny", {"h"});
  RangeTable ranges = calibrate(bytes, qm);
  const std::string qbytes = qm.write(qm.plan(qm.quantizable_convs()), ranges, "");
  Graph fg = load_onnx_bytes(bytes.data(), bytes.size(), "float");
  Graph qg = load_onnx_bytes(qbytes.data(), qbytes.size(), "qdq");
  SessionOptions so;
  so.threads = 1;
  so.input_hw = {8, 8};
  so.outputs = {"h"};
  Session fs(fg, so), qs(qg, so);
  std::vector<float> in = lcg_values(3 * 8 * 8, 0.5f, 101);
  for (auto& v : in) v = std::nearbyint((v + 0.5f) * 255.0f) / 255.0f;
  std::memcpy(fs.input_data(0), in.data(), in.size() * sizeof(float));
  std::memcpy(qs.input_data(0), in.data(), in.size() * sizeof(float));
  fs.run();
  qs.run();
  const size_t n = static_cast<size_t>(shape_numel(fs.output_shape(0)));
  double max_abs = 0, max_err = 0;
  for (size_t i = 0; i < n; ++i) {
    max_abs = std::max(max_abs, std::fabs(static_cast<double>(fs.output_data(0)[i])));
    max_err = std::max(max_err, std::fabs(static_cast<double>(fs.output_data(0)[i]) - qs.output_data(0)[i]));
  }
  // Three int8 layers and 8-bit activations: a few percent of the output's magnitude, and not zero.
  EXPECT_GT(max_err, 0.0);
  EXPECT_LT(max_err, 0.05 * max_abs) << "max |h| " << max_abs;
}

TEST(QdqWriter, RefusesQuantizedAndOldModels) {
  std::string q = tiny_model();
  QuantizableModel qm = QuantizableModel::from_bytes(q, "tiny", {"h"});
  const std::string qdq = qm.write(qm.plan({"c0"}), calibrate(q, qm), "");
  try {
    QuantizableModel::from_bytes(qdq, "qdq.onnx", {"h"});
    FAIL() << "a QDQ model must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("already quantized"), std::string::npos) << e.what();
  }
  try {
    QuantizableModel::from_bytes(tiny_model(12), "old.onnx", {"h"});
    FAIL() << "opset 12 must be refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("opset 12"), std::string::npos) << e.what();
  }
  EXPECT_THROW(QuantizableModel::from_bytes("garbage", "g.onnx", {"h"}), Error);
}

}  // namespace
}  // namespace sp::quant
