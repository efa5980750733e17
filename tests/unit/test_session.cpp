// The Session end to end on small graphs built in memory, against naive NCHW references written here,
// for every ISA this CPU has: fusion (Conv+SiLU, residual Add), NHWC layouts with zero-copy
// Split/Concat, MaxPool, Resize, the attention ops (Reshape/Transpose/MatMul/Softmax), shape
// arithmetic of dynamic exports, and re-specialised Reshape targets.
#include "core/session.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "core/error.h"
#include "core/memory_planner.h"
#include "tests/onnx_builder.h"

namespace sp {
namespace {

using Vec = std::vector<float>;

Vec random_vec(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> d(-scale, scale);
  Vec v(n);
  for (float& x : v) x = d(rng);
  return v;
}

// Naive NCHW conv, batch 1, groups 1, square kernel, symmetric pad.
Vec ref_conv(const Vec& x, int c, int h, int w, const Vec& wt, const Vec& b, int oc, int k, int stride, int pad) {
  int oh = (h + 2 * pad - k) / stride + 1, ow = (w + 2 * pad - k) / stride + 1;
  Vec y(static_cast<size_t>(oc) * oh * ow);
  for (int o = 0; o < oc; ++o)
    for (int i = 0; i < oh; ++i)
      for (int j = 0; j < ow; ++j) {
        double s = b[o];
        for (int ci = 0; ci < c; ++ci)
          for (int ki = 0; ki < k; ++ki)
            for (int kj = 0; kj < k; ++kj) {
              int yy = i * stride - pad + ki, xx = j * stride - pad + kj;
              if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
              s += x[(ci * h + yy) * w + xx] * wt[((o * c + ci) * k + ki) * k + kj];
            }
        y[(o * oh + i) * ow + j] = static_cast<float>(s);
      }
  return y;
}

float silu(float v) { return v / (1.0f + std::exp(-v)); }

void expect_close(const float* got, const Vec& want, float tol, const std::string& what) {
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    if (!(std::fabs(got[i] - want[i]) <= tol * (1.0f + std::fabs(want[i])))) {
      if (++bad < 5) ADD_FAILURE() << what << " [" << i << "]: got " << got[i] << " want " << want[i];
    }
  }
  EXPECT_EQ(bad, 0u) << what;
}

// x[1,4,8,8] → Conv3x3(8)+SiLU → Split(4,4) → a: MaxPool3x3 pad1, b: Conv1x1(4)+SiLU + b (residual)
// → Concat(a, b, split0) → Resize x2 nearest → output
struct BlockFixture {
  Vec w1 = random_vec(8 * 4 * 9, 1, 0.3f), b1 = random_vec(8, 2, 0.1f);
  Vec w2 = random_vec(4 * 4, 3, 0.5f), b2 = random_vec(4, 4, 0.1f);
  Vec x = random_vec(4 * 8 * 8, 5);

  Graph graph() const {
    test::OnnxBuilder b;
    b.input("x", {1, 4, 8, 8});
    b.floats("w1", {8, 4, 3, 3}, w1);
    b.floats("b1", {8}, b1);
    b.floats("w2", {4, 4, 1, 1}, w2);
    b.floats("b2", {4}, b2);
    b.ints("split", {4, 4});
    b.floats("scales", {4}, {1, 1, 2, 2});
    auto* c1 = b.node("Conv", {"x", "w1", "b1"}, {"c1"});
    test::OnnxBuilder::attr(c1, "pads", std::vector<int64_t>{1, 1, 1, 1});
    b.node("Sigmoid", {"c1"}, {"s1"});
    b.node("Mul", {"c1", "s1"}, {"a1"});
    auto* sp = b.node("Split", {"a1", "split"}, {"p0", "p1"});
    test::OnnxBuilder::attr(sp, "axis", int64_t{1});
    auto* mp = b.node("MaxPool", {"p0"}, {"m"});
    test::OnnxBuilder::attr(mp, "kernel_shape", std::vector<int64_t>{3, 3});
    test::OnnxBuilder::attr(mp, "pads", std::vector<int64_t>{1, 1, 1, 1});
    b.node("Conv", {"p1", "w2", "b2"}, {"c2"});
    b.node("Sigmoid", {"c2"}, {"s2"});
    b.node("Mul", {"c2", "s2"}, {"a2"});
    b.node("Add", {"p1", "a2"}, {"r"});
    auto* cat = b.node("Concat", {"m", "r", "p0"}, {"cat"});
    test::OnnxBuilder::attr(cat, "axis", int64_t{1});
    auto* rs = b.node("Resize", {"cat", "", "scales"}, {"y"});
    test::OnnxBuilder::attr(rs, "mode", std::string("nearest"));
    test::OnnxBuilder::attr(rs, "coordinate_transformation_mode", std::string("asymmetric"));
    test::OnnxBuilder::attr(rs, "nearest_mode", std::string("floor"));
    b.output("y");
    return b.graph();
  }

  Vec reference() const {
    Vec a1 = ref_conv(x, 4, 8, 8, w1, b1, 8, 3, 1, 1);
    for (float& v : a1) v = silu(v);
    Vec p0(a1.begin(), a1.begin() + 4 * 64), p1(a1.begin() + 4 * 64, a1.end());
    Vec m(4 * 64);
    for (int c = 0; c < 4; ++c)
      for (int i = 0; i < 8; ++i)
        for (int j = 0; j < 8; ++j) {
          float best = -INFINITY;
          for (int di = -1; di <= 1; ++di)
            for (int dj = -1; dj <= 1; ++dj) {
              int yy = i + di, xx = j + dj;
              if (yy >= 0 && yy < 8 && xx >= 0 && xx < 8) best = std::max(best, p0[(c * 8 + yy) * 8 + xx]);
            }
          m[(c * 8 + i) * 8 + j] = best;
        }
    Vec a2 = ref_conv(p1, 4, 8, 8, w2, b2, 4, 1, 1, 0);
    Vec r(4 * 64);
    for (size_t i = 0; i < r.size(); ++i) r[i] = p1[i] + silu(a2[i]);
    Vec cat;
    cat.insert(cat.end(), m.begin(), m.end());
    cat.insert(cat.end(), r.begin(), r.end());
    cat.insert(cat.end(), p0.begin(), p0.end());
    Vec y(12 * 16 * 16);
    for (int c = 0; c < 12; ++c)
      for (int i = 0; i < 16; ++i)
        for (int j = 0; j < 16; ++j) y[(c * 16 + i) * 16 + j] = cat[(c * 8 + i / 2) * 8 + j / 2];
    return y;
  }
};

class SessionIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << "this CPU lacks " << isa_name(GetParam());
  }
};

TEST_P(SessionIsa, ConvBlockMatchesNaiveReference) {
  BlockFixture f;
  Vec want = f.reference();
  for (bool nhwc_input : {false, true}) {
    for (int threads : {1, 2}) {
      SessionOptions o;
      o.isa = GetParam();
      o.threads = threads;
      o.nhwc_input = nhwc_input;
      Session s(f.graph(), o);
      ASSERT_EQ(s.output_shape(0), (Shape{1, 12, 16, 16}));
      float* in = s.input_data(0);
      for (int c = 0; c < 4; ++c)
        for (int p = 0; p < 64; ++p) in[nhwc_input ? p * 4 + c : c * 64 + p] = f.x[c * 64 + p];
      for (int run = 0; run < 2; ++run) {  // a second run must give the same answer: no hidden state
        s.run();
        expect_close(s.output_data(0), want, 2e-5f, std::string(isa_name(GetParam())) + " run " + std::to_string(run));
      }
    }
  }
}

TEST_P(SessionIsa, ConcatAndSplitAreViewsNotCopies) {
  BlockFixture f;
  SessionOptions o;
  o.isa = GetParam();
  o.threads = 1;
  Session s(f.graph(), o);
  for (const auto& p : s.profile()) {
    EXPECT_NE(p.op_type, "Split") << "Split should be a view";
    // The concat copies at most the one input placed elsewhere (p0 is read by the MaxPool too, but it
    // is a slice of the conv output, which lands in the concat buffer as a whole only if safe).
    EXPECT_NE(p.op_type, "Mul") << "SiLU should be fused into the conv";
    EXPECT_NE(p.op_type, "Add") << "the residual Add should be fused into the conv";
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, SessionIsa,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512, Isa::kAvx512Vnni, Isa::kAvxVnni, Isa::kAmx),
                         [](const auto& info) { return std::string(isa_name(info.param)); });

// Attention-style ops on NCHW: Reshape, Transpose, MatMul, Softmax(last axis), and Softmax on axis 1.
TEST(Session, AttentionOpsMatchReference) {
  Vec x = random_vec(2 * 3 * 4, 7);
  test::OnnxBuilder b;
  b.input("x", {1, 2, 3, 4});
  b.ints("shape", {1, 2, 12});
  b.node("Reshape", {"x", "shape"}, {"r"});            // [1,2,12]
  auto* t = b.node("Transpose", {"r"}, {"t"});          // [1,12,2]
  test::OnnxBuilder::attr(t, "perm", std::vector<int64_t>{0, 2, 1});
  b.node("MatMul", {"t", "r"}, {"mm"});                 // [1,12,12]
  auto* sm = b.node("Softmax", {"mm"}, {"y"});
  test::OnnxBuilder::attr(sm, "axis", int64_t{-1});
  auto* sm1 = b.node("Softmax", {"x"}, {"z"});
  test::OnnxBuilder::attr(sm1, "axis", int64_t{1});
  b.output("y");
  b.output("z");
  SessionOptions o;
  o.threads = 1;
  Session s(b.graph(), o);
  std::copy(x.begin(), x.end(), s.input_data(0));
  s.run();
  Vec want(144);
  for (int i = 0; i < 12; ++i) {
    double row[12], m = -1e30, sum = 0;
    for (int j = 0; j < 12; ++j) {
      row[j] = x[i] * x[j] + x[12 + i] * x[12 + j];  // t[i][k] = r[k][i]
      m = std::max(m, row[j]);
    }
    for (int j = 0; j < 12; ++j) sum += std::exp(row[j] - m);
    for (int j = 0; j < 12; ++j) want[i * 12 + j] = static_cast<float>(std::exp(row[j] - m) / sum);
  }
  expect_close(s.output_data(0), want, 1e-5f, "softmax(matmul)");
  Vec z(24);
  for (int p = 0; p < 12; ++p) {
    double a = std::exp(x[p]), c = std::exp(x[12 + p]);
    z[p] = static_cast<float>(a / (a + c));
    z[12 + p] = static_cast<float>(c / (a + c));
  }
  expect_close(s.output_data(1), z, 1e-5f, "softmax axis 1");
}

// Dynamic exports compute Reshape targets from Shape(); with the input size fixed they fold away.
TEST(Session, ShapeArithmeticFoldsForAnyInputSize) {
  test::OnnxBuilder b;
  b.input("x", {1, 2, -1, -1});
  b.ints("i2", {2});
  b.ints("one", {1});
  b.ints("minus1", {-1});
  b.node("Shape", {"x"}, {"sh"});
  auto* g = b.node("Gather", {"sh", "i2"}, {"h"});
  test::OnnxBuilder::attr(g, "axis", int64_t{0});
  auto* c = b.node("Concat", {"one", "h", "minus1"}, {"target"});
  test::OnnxBuilder::attr(c, "axis", int64_t{0});
  b.node("Reshape", {"x", "target"}, {"y"});
  b.output("y");
  Graph graph = b.graph();
  SessionOptions o;
  o.input_hw = {3, 5};
  Session s(graph, o);
  EXPECT_EQ(s.output_shape(0), (Shape{1, 3, 10}));
  SessionOptions missing;
  EXPECT_THROW(Session(graph, missing), Error);  // dynamic H, W and no size given
}

// Static exports bake spatial sizes into Reshape targets; at another input size they follow it.
TEST(Session, StaticReshapeTargetsFollowTheInputSize) {
  test::OnnxBuilder b;
  b.input("x", {1, 16, 4, 4});
  b.ints("s1", {1, 2, 8, 16});
  b.ints("s2", {1, 16, 4, 4});
  b.node("Reshape", {"x", "s1"}, {"a"});
  b.node("Reshape", {"a", "s2"}, {"y"});
  b.output("y");
  SessionOptions o;
  o.input_hw = {2, 6};
  Session s(b.graph(), o);
  EXPECT_EQ(s.output_shape(0), (Shape{1, 16, 2, 6}));
}

// The same value twice in one Concat: it can live in only one of the two slices; the other is copied.
TEST(Session, ConcatOfTheSameValueTwice) {
  Vec w = random_vec(3 * 2, 21), x = random_vec(2 * 4 * 4, 22);
  test::OnnxBuilder b;
  b.input("x", {1, 2, 4, 4});
  b.floats("w", {3, 2, 1, 1}, w);
  b.floats("b", {3}, {0, 0, 0});
  b.node("Conv", {"x", "w", "b"}, {"c"});
  auto* cat = b.node("Concat", {"c", "c"}, {"y"});
  test::OnnxBuilder::attr(cat, "axis", int64_t{1});
  b.output("y");
  SessionOptions o;
  o.threads = 1;
  Session s(b.graph(), o);
  std::copy(x.begin(), x.end(), s.input_data(0));
  s.run();
  Vec c = ref_conv(x, 2, 4, 4, w, {0, 0, 0}, 3, 1, 1, 0);
  Vec want = c;
  want.insert(want.end(), c.begin(), c.end());
  expect_close(s.output_data(0), want, 1e-5f, "concat(c, c)");
}

TEST(Session, UnknownCutPointIsAClearError) {
  BlockFixture f;
  SessionOptions o;
  o.outputs = {"no_such_value"};
  try {
    Session s(f.graph(), o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no_such_value"), std::string::npos);
  }
}

TEST(MemoryPlanner, BuffersAliveTogetherNeverOverlap) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<BufferRequest> req(30);
    size_t sum = 0;
    for (auto& r : req) {
      r.bytes = 1 + rng() % 5000;
      r.first_step = static_cast<int>(rng() % 40);
      r.last_step = r.first_step + static_cast<int>(rng() % 10);
      sum += r.bytes;
    }
    ArenaPlan p = plan_arena(req);
    for (size_t i = 0; i < req.size(); ++i) {
      EXPECT_EQ(p.offsets[i] % kArenaAlignment, 0u);
      EXPECT_LE(p.offsets[i] + req[i].bytes, p.total_bytes);
      for (size_t j = i + 1; j < req.size(); ++j) {
        bool time = req[i].first_step <= req[j].last_step && req[j].first_step <= req[i].last_step;
        bool space = p.offsets[i] < p.offsets[j] + req[j].bytes && p.offsets[j] < p.offsets[i] + req[i].bytes;
        EXPECT_FALSE(time && space) << "buffers " << i << " and " << j << " overlap";
      }
    }
    EXPECT_LE(p.total_bytes, sum + req.size() * kArenaAlignment);
  }
}

}  // namespace
}  // namespace sp
