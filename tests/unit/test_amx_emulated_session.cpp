// Whole sessions on emulated AMX: this test sets SP_AMX=emulate for its own process (before anything
// detects the CPU), so Isa::kAmx runs every dense integer conv on the tile emulator, and checks that
// the bundled int8 models give outputs IDENTICAL to --isa avx512vnni: the convs are bit-exact and every
// other op runs the same AVX-512 kernels under both ISAs. The convs a model keeps in bf16 are the one
// exception (AMX-BF16 tdpbf16ps sums even and odd pairs apart, AVX-512 BF16 vdpbf16ps does not: see
// docs/BF16.md), so the identity test runs them in fp32 on both ISAs, and a second test checks that with
// the model's bf16 marks they run on (emulated) AMX-BF16 and stay close. Small input sizes keep the
// emulator to seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "core/cpu_features.h"
#include "core/onnx_import.h"
#include "core/passes/passes.h"
#include "core/session.h"
#include "models/pose_head.h"
#include "tests/test_paths.h"

namespace {
// Static initialization of this test binary runs before main(), hence before the first detect_cpu().
const bool kEmulateAmx = [] { return setenv("SP_AMX", "emulate", 1) == 0; }();
}  // namespace

namespace sp {
namespace {

struct Outputs {
  std::vector<std::vector<float>> values;
  std::vector<std::string> qconv_kernels;
  std::vector<std::string> float_conv_kernels;
  std::vector<std::string> kernel_isas;  // Session::kernel_isas(), what info / bench / the HUD show
};

// The nine head branch outputs (the graph cut where models/ decodes in float), so any input size works
// for static exports too.
Outputs run_model(const Graph& g, Isa isa, int size, passes::Bf16Convs bf16 = passes::Bf16Convs::kNone) {
  SessionOptions o;
  o.bf16_convs = bf16;
  auto head = models::find_pose_head(g);
  if (head) o.outputs = head->output_names();
  o.threads = 2;
  o.isa = isa;
  o.integer = true;
  o.input_hw = {size, size};
  o.profile = true;
  Session s(g, o);
  std::mt19937 rng(5);
  const Shape& in = s.input_shape(0);
  float* x = s.input_data(0);
  for (int64_t i = 0; i < shape_numel(in); ++i) x[i] = static_cast<float>(rng() % 256) / 255.0f;
  s.run();
  Outputs r;
  for (size_t i = 0; i < s.num_outputs(); ++i)
    r.values.emplace_back(s.output_data(i), s.output_data(i) + shape_numel(s.output_shape(i)));
  for (const auto& p : s.profile())
    if (p.op_type == "QConv") r.qconv_kernels.push_back(p.kernel);
    else if (p.op_type == "Conv") r.float_conv_kernels.push_back(p.kernel);
  for (const auto& k : s.kernel_isas()) r.kernel_isas.push_back(k.isa);
  return r;
}

class AmxEmulated : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(kEmulateAmx);
    ASSERT_TRUE(detect_cpu().amx_emulated) << "SP_AMX=emulate was not seen by the CPU detection";
    if (!isa_supported(Isa::kAvx512Vnni))
      GTEST_SKIP() << "SP_AMX=emulate needs AVX-512 VNNI, which this CPU lacks: emulated AMX sessions not tested";
  }
};
class AmxEmulatedSession : public AmxEmulated, public ::testing::WithParamInterface<const char*> {};

TEST_P(AmxEmulatedSession, Int8ModelIdenticalToAvx512Vnni) {
  ASSERT_TRUE(isa_supported(Isa::kAmx));
  Graph g = load_onnx_file(test::source_path(GetParam()));
  const Outputs amx = run_model(g, Isa::kAmx, 160);
  const Outputs vnni = run_model(g, Isa::kAvx512Vnni, 160);
  int dense = 0, depthwise = 0;
  for (const std::string& k : amx.qconv_kernels) {
    if (k.rfind("dwconv", 0) == 0) {
      ++depthwise;
      EXPECT_NE(k.find("-avx512"), std::string::npos) << "depthwise stays on AVX-512 and says so: " << k;
    } else {
      ++dense;
      EXPECT_NE(k.find("-amx-emu"), std::string::npos) << "dense integer conv not on (emulated) AMX: " << k;
    }
  }
  EXPECT_GT(dense, 50) << "the model's dense integer convs";
  EXPECT_GT(depthwise, 0);
  // Truthful labels: the emulated tiles say "amx-emu", never "amx" (no AMX hardware ran).
  EXPECT_EQ(std::count(amx.kernel_isas.begin(), amx.kernel_isas.end(), "amx-emu"), 1);
  EXPECT_EQ(std::count(amx.kernel_isas.begin(), amx.kernel_isas.end(), "amx"), 0);
  EXPECT_EQ(std::count(vnni.kernel_isas.begin(), vnni.kernel_isas.end(), "amx-emu"), 0);
  ASSERT_EQ(amx.values.size(), vnni.values.size());
  for (size_t i = 0; i < amx.values.size(); ++i) {
    ASSERT_EQ(amx.values[i].size(), vnni.values[i].size());
    for (size_t j = 0; j < amx.values[i].size(); ++j)
      ASSERT_EQ(std::memcmp(&amx.values[i][j], &vnni.values[i][j], 4), 0)
          << "output " << i << " element " << j << ": amx " << amx.values[i][j] << " vs avx512vnni " << vnni.values[i][j];
  }
}

// The bundled sparsepose model keeps some convs in bf16 (its metadata names them): on --isa amx they run
// AMX-BF16 (here on the emulator), whose rounding differs from AVX-512 BF16's, so the outputs are close to
// --isa avx512vnni's rather than identical.
TEST_F(AmxEmulated, Bf16MarkedConvsRunOnAmxBf16AndStayClose) {
  Graph g = load_onnx_file(test::source_path("assets/models/yolo11n-pose_sp-int8.onnx"));
  const Outputs amx = run_model(g, Isa::kAmx, 160, passes::Bf16Convs::kFromModel);
  const Outputs vnni = run_model(g, Isa::kAvx512Vnni, 160, passes::Bf16Convs::kFromModel);
  int amx_bf16 = 0;
  for (const std::string& k : amx.float_conv_kernels) amx_bf16 += k.find("-bf16-amx-emu") != std::string::npos;
  if (amx_bf16 == 0) GTEST_SKIP() << "the bundled model marks no bf16 convs: nothing to test";
  EXPECT_EQ(std::count(amx.kernel_isas.begin(), amx.kernel_isas.end(), "amx"), 0);
  ASSERT_EQ(amx.values.size(), vnni.values.size());
  double max_diff = 0, max_abs = 0;
  size_t differing = 0, total = 0;
  for (size_t i = 0; i < amx.values.size(); ++i) {
    ASSERT_EQ(amx.values[i].size(), vnni.values[i].size());
    for (size_t j = 0; j < amx.values[i].size(); ++j) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(amx.values[i][j] - vnni.values[i][j])));
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(vnni.values[i][j])));
      differing += amx.values[i][j] != vnni.values[i][j];
      ++total;
    }
  }
  std::printf("[          ] %d bf16 convs on emulated AMX-BF16: %zu of %zu outputs differ from avx512vnni, max |diff| "
              "%.4g (max |output| %.4g)\n", amx_bf16, differing, total, max_diff, max_abs);
  EXPECT_LT(max_diff, 0.002 * max_abs);  // measured: ~1e-5 of max |output| at 160
}

// The ISA tag of a kernel name (Op::kernel_isa, Session::kernel_isas): AMX kernels on the CPU's tiles say
// "amx", on the emulator "amx-emu"; "emu" elsewhere in a name is not an ISA.
TEST(AmxKernelIsaTag, EmulatedKernelsSaySo) {
  EXPECT_EQ(kernel_isa_tag("conv3x3s1-s8-u8-amx"), "amx");
  EXPECT_EQ(kernel_isa_tag("conv3x3s1-s8-u8-im2col-amx-emu"), "amx-emu");
  EXPECT_EQ(kernel_isa_tag("conv1x1s1-bf16-amx-emu"), "amx-emu");
  EXPECT_EQ(kernel_isa_tag("conv1x1s1-s8-f32-avx512vnni"), "avx512vnni");
  EXPECT_EQ(kernel_isa_tag("conv1x1s1-emu-avx2"), "avx2");
  EXPECT_EQ(kernel_isa_tag("avx2-emu"), "avx2");
  EXPECT_EQ(kernel_isa_tag("emu"), "");
}

// The bundled model made by `sparsepose optimize` (u8 activations, 86 int8 convs) and the stock
// Ultralytics int8 export (QDQ after every op, s8 activations).
INSTANTIATE_TEST_SUITE_P(BundledInt8, AmxEmulatedSession,
                         ::testing::Values("assets/models/yolo11n-pose_sp-int8.onnx", "assets/models/yolo11n-pose_int8.onnx"),
                         [](const auto& info) { return std::string(info.index == 0 ? "sparsepose_int8" : "stock_int8"); });

}  // namespace
}  // namespace sp
