// The engine's bf16 plumbing: the pass that marks Conv nodes (model metadata, none, all), the Session
// option, the Conv op choosing the bf16 kernel, and the bundled model with every conv in bf16 detecting
// what the fp32 model detects.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/kernels/conv_bf16/conv_bf16.h"
#include "core/onnx_import.h"
#include "core/passes/passes.h"
#include "core/session.h"
#include "models/nms.h"
#include "models/pose_decode.h"
#include "models/pose_head.h"
#include "tests/test_paths.h"

namespace sp {
namespace {

const char* kModel = "assets/models/yolo11n-pose.onnx";

Graph bundled_model() { return load_onnx_file(test::source_path(kModel)); }

std::vector<std::string> marked(const Graph& g) {
  std::vector<std::string> out;
  for (const Node& n : g.nodes)
    if (n.attr_int("bf16", 0) != 0) out.push_back(n.name);
  return out;
}

TEST(Bf16Convs, MetadataNamesTheConvs) {
  Graph g = bundled_model();
  g.metadata[passes::kBf16ConvsMetadataKey] = "/model.1/conv/Conv, /model.5/conv/Conv,";
  Graph none = g;
  EXPECT_EQ(passes::mark_bf16_convs(none, passes::Bf16Convs::kNone), 0);
  EXPECT_TRUE(marked(none).empty());
  EXPECT_EQ(passes::mark_bf16_convs(g, passes::Bf16Convs::kFromModel), 2);
  EXPECT_EQ(marked(g), (std::vector<std::string>{"/model.1/conv/Conv", "/model.5/conv/Conv"}));
}

TEST(Bf16Convs, AllMarksEveryConv) {
  Graph g = bundled_model();
  const int convs = static_cast<int>(std::count_if(g.nodes.begin(), g.nodes.end(), [](const Node& n) { return n.op_type == "Conv"; }));
  EXPECT_GT(convs, 90);
  EXPECT_EQ(passes::mark_bf16_convs(g, passes::Bf16Convs::kAll), convs);
  Graph plain = bundled_model();  // no metadata: from-model marks nothing
  EXPECT_EQ(passes::mark_bf16_convs(plain, passes::Bf16Convs::kFromModel), 0);
}

TEST(Bf16Convs, BadNamesAndModesAreOneLineErrors) {
  Graph g = bundled_model();
  g.metadata[passes::kBf16ConvsMetadataKey] = "/model.1/conv/Conv,/no/such/node";
  try {
    passes::mark_bf16_convs(g, passes::Bf16Convs::kFromModel);
    ADD_FAILURE() << "an unknown node name was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'/no/such/node', which is not a Conv node"), std::string::npos) << e.what();
  }
  g.metadata[passes::kBf16ConvsMetadataKey] = "/model.2/Split";  // a node, not a Conv
  EXPECT_THROW(passes::mark_bf16_convs(g, passes::Bf16Convs::kFromModel), Error);
  EXPECT_THROW(passes::parse_bf16_convs("bf16"), Error);
  EXPECT_EQ(passes::parse_bf16_convs("from-model"), passes::Bf16Convs::kFromModel);
  EXPECT_STREQ(passes::bf16_convs_name(passes::Bf16Convs::kAll), "all");
}

// The Session runs exactly the marked convs on bf16 kernels (depthwise ones stay fp32), whatever the
// passes after the marking do to the nodes (BatchNorm folding, activation and residual fusion).
TEST(Bf16Convs, SessionRunsTheMarkedConvsInBf16) {
  Graph g = bundled_model();
  g.metadata[passes::kBf16ConvsMetadataKey] = "/model.1/conv/Conv,/model.2/m.0/cv2/conv/Conv,/model.23/cv3.0/cv3.0.0/cv3.0.0.0/conv/Conv";
  auto head = models::find_pose_head(g);
  ASSERT_TRUE(head.has_value());
  for (auto mode : {passes::Bf16Convs::kNone, passes::Bf16Convs::kFromModel, passes::Bf16Convs::kAll}) {
    SessionOptions o;
    o.threads = 1;
    o.input_hw = {128, 128};
    o.outputs = head->output_names();  // the exported decode tail is baked for 640
    o.bf16_convs = mode;
    Session s(g, o);
    std::vector<std::string> bf16, fp32_not_depthwise;
    for (const OpProfile& p : s.profile()) {
      if (p.op_type != "Conv") continue;
      if (p.kernel.find("bf16") != std::string::npos) {
        bf16.push_back(p.node);
      } else if (p.kernel.rfind("dwconv", 0) != 0) {
        fp32_not_depthwise.push_back(p.node);
      }
    }
    SCOPED_TRACE(passes::bf16_convs_name(mode));
    if (mode == passes::Bf16Convs::kNone) {
      EXPECT_TRUE(bf16.empty());
    }
    if (mode == passes::Bf16Convs::kFromModel) {
      // The third name is a depthwise conv of the class branch: marked, but it stays fp32.
      EXPECT_EQ(bf16, (std::vector<std::string>{"/model.1/conv/Conv", "/model.2/m.0/cv2/conv/Conv"}));
    }
    if (mode == passes::Bf16Convs::kAll) {
      EXPECT_TRUE(fp32_not_depthwise.empty()) << fp32_not_depthwise.front() << " stayed fp32";
      EXPECT_GT(bf16.size(), 80u);
    }
  }
}

// ---- The whole model in bf16 -------------------------------------------------------------------------

// The golden input image (tests/golden/input_640.u8, planar RGB) as NCHW floats in 0..1.
std::vector<float> golden_input() {
  std::ifstream f(test::source_path("tests/golden/input_640.u8"), std::ios::binary);
  std::vector<unsigned char> u8((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_EQ(u8.size(), 3u * 640 * 640);
  std::vector<float> x(u8.size());
  for (size_t i = 0; i < u8.size(); ++i) x[i] = u8[i] / 255.0f;
  return x;
}

std::vector<models::PoseDetection> detect(const Graph& g, const models::PoseHead& head, passes::Bf16Convs mode) {
  SessionOptions o;
  o.threads = 2;
  o.outputs = head.output_names();
  o.bf16_convs = mode;
  Session s(g, o);
  const auto x = golden_input();
  std::copy(x.begin(), x.end(), s.input_data(0));
  s.run();
  models::HeadScale scales[3];
  for (int i = 0; i < 3; ++i) {
    const Shape& sh = s.output_shape(3 * i);
    scales[i].stride = head.scales[i].stride;
    scales[i].h = static_cast<int>(sh[2]);
    scales[i].w = static_cast<int>(sh[3]);
    scales[i].box = models::BranchView::nchw(s.output_data(3 * i), scales[i].h, scales[i].w);
    scales[i].score = models::BranchView::nchw(s.output_data(3 * i + 1), scales[i].h, scales[i].w);
    scales[i].kpt = models::BranchView::nchw(s.output_data(3 * i + 2), scales[i].h, scales[i].w);
  }
  auto dets = models::decode_pose_head(std::span<const models::HeadScale>(scales, 3), 0.25f);
  models::nms(dets);
  return dets;
}

// Every fp32 detection above 0.5 has a bf16 twin. bf16 keeps 8 significant bits, so each weight and
// activation is off by up to 2^-9 (0.2 %) relative, and those errors pass through ~90 layers; measured on
// this image (AVX-512 BF16, 3 people): box IoU >= 0.998, score within 0.0003, visible keypoints within
// 0.8 px. The bounds below leave room for other paths and images (about 3x on keypoints) and stay below
// what would change a pose's COCO match (OKS's tightest keypoint, an eye, tolerates ~2.5 px on a 100 px
// person).
TEST(Bf16Convs, WholeModelInBf16DetectsWhatFp32Detects) {
  Graph g = bundled_model();
  auto head = models::find_pose_head(g);
  ASSERT_TRUE(head.has_value());
  const auto ref = detect(g, *head, passes::Bf16Convs::kNone);
  const auto got = detect(g, *head, passes::Bf16Convs::kAll);
  int confident = 0;
  for (const auto& r : ref) {
    if (r.score < 0.5f) continue;
    ++confident;
    const models::PoseDetection* best = nullptr;
    for (const auto& d : got)
      if (!best || models::box_iou(d.box, r.box) > models::box_iou(best->box, r.box)) best = &d;
    ASSERT_NE(best, nullptr);
    const float iou = models::box_iou(best->box, r.box);
    EXPECT_GT(iou, 0.99f);
    EXPECT_NEAR(best->score, r.score, 0.01f);
    float worst_px = 0.0f;
    for (size_t k = 0; k < r.keypoints.size(); ++k) {
      if (r.keypoints[k].conf < 0.5f) continue;
      worst_px = std::max({worst_px, std::fabs(best->keypoints[k].x - r.keypoints[k].x),
                           std::fabs(best->keypoints[k].y - r.keypoints[k].y)});
      EXPECT_NEAR(best->keypoints[k].conf, r.keypoints[k].conf, 0.02f);
    }
    EXPECT_LT(worst_px, 2.5f);
    std::printf("fp32 score %.3f: bf16 IoU %.4f, score %+.4f, worst visible keypoint %.2f px\n", r.score, iou,
                best->score - r.score, worst_px);
  }
  EXPECT_GE(confident, 2);
}

}  // namespace
}  // namespace sp
