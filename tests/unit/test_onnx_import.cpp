#include "core/onnx_import.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "core/error.h"
#include "tests/onnx_builder.h"
#include "tests/test_paths.h"

namespace sp {
namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(OnnxImport, LoadsTheBundledModels) {
  Graph g = load_onnx_file(test::source_path("assets/models/yolo11n-pose.onnx"));
  EXPECT_EQ(g.opset, 20);
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.values[g.inputs[0]].shape, (Shape{1, 3, 640, 640}));
  int convs = 0;
  for (const Node& n : g.nodes) convs += n.op_type == "Conv";
  EXPECT_EQ(convs, 97);
  Graph q = load_onnx_file(test::source_path("assets/models/yolo11n-pose_int8.onnx"));
  int dq = 0;
  for (const Node& n : q.nodes) dq += n.op_type == "DequantizeLinear";
  EXPECT_EQ(dq, 565);
}

TEST(OnnxImport, MissingFileNamesThePath) {
  std::string msg = error_of([] { load_onnx_file("/nonexistent/model.onnx"); });
  EXPECT_NE(msg.find("cannot open model file '/nonexistent/model.onnx'"), std::string::npos) << msg;
}

TEST(OnnxImport, GarbageAndEmptyInputAreRejected) {
  std::string garbage = "this is not a protobuf at all \x01\x02\x03\xff\xfe";
  EXPECT_NE(error_of([&] { load_onnx_bytes(garbage.data(), garbage.size(), "g.onnx"); }).find("not a valid ONNX model"),
            std::string::npos);
  EXPECT_NE(error_of([] { load_onnx_bytes("", 0, "empty.onnx"); }).find("not a valid ONNX model"), std::string::npos);
}

TEST(OnnxImport, TruncatedModelIsRejectedAtEveryCut) {
  std::ifstream f(test::source_path("assets/models/yolo11n-pose.onnx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  ASSERT_GT(bytes.size(), 1000000u);
  for (size_t cut : {size_t{10}, size_t{1000}, bytes.size() / 3, bytes.size() / 2, bytes.size() - 7}) {
    std::string msg = error_of([&] { load_onnx_bytes(bytes.data(), cut, "cut.onnx"); });
    EXPECT_FALSE(msg.empty()) << "a model cut at " << cut << " bytes loaded";
  }
}

TEST(OnnxImport, UnsupportedOpNamesOpAndNode) {
  test::OnnxBuilder b;
  b.input("x", {1, 4});
  b.node("Gelu", {"x"}, {"y"}, "my_gelu_node");
  b.output("y");
  std::string msg = error_of([&] { b.graph(); });
  EXPECT_NE(msg.find("unsupported op 'Gelu'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("my_gelu_node"), std::string::npos) << msg;
}

TEST(OnnxImport, CustomDomainIsRejected) {
  test::OnnxBuilder b;
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"}, "n")->set_domain("com.example");
  b.output("y");
  EXPECT_NE(error_of([&] { b.graph(); }).find("domain 'com.example'"), std::string::npos);
}

TEST(OnnxImport, OpsetOutsideTheSupportedRangeIsRejected) {
  test::OnnxBuilder b(9);
  b.input("x", {1, 4});
  b.node("Relu", {"x"}, {"y"});
  b.output("y");
  EXPECT_NE(error_of([&] { b.graph(); }).find("opset 9 is not supported"), std::string::npos);
}

TEST(OnnxImport, DanglingInputAndBadInitializerAreRejected) {
  test::OnnxBuilder b;
  b.input("x", {1, 4});
  b.node("Add", {"x", "nowhere"}, {"y"}, "adder");
  b.output("y");
  EXPECT_NE(error_of([&] { b.graph(); }).find("reads 'nowhere'"), std::string::npos);

  test::OnnxBuilder c;
  c.input("x", {1, 4});
  c.floats("w", {2, 3}, {1, 2, 3});  // 3 values for 6 elements
  c.node("Add", {"x", "w"}, {"y"});
  c.output("y");
  EXPECT_NE(error_of([&] { c.graph(); }).find("holds 3 values"), std::string::npos);

  // Dims claiming 1.8 GB with no data: refused before anything is allocated (a fuzzer find, also kept
  // as tests/fuzz/seeds/regress_huge_dims_no_data.onnx).
  test::OnnxBuilder d;
  d.input("x", {1, 4});
  d.typed<int32_t>("big", onnx::TensorProto::INT32, {127, 2, 16383, 109}, {});
  d.node("Add", {"x", "big"}, {"y"});
  d.output("y");
  EXPECT_NE(error_of([&] { d.graph(); }).find("holds 0 values but its shape [127,2,16383,109]"), std::string::npos);
}

}  // namespace
}  // namespace sp
