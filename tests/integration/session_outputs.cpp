// The engine's half of a tensor-level comparison with ONNX Runtime, the twin of bench/ort_eval.js: for every
// input of a `sparsepose eval --dump-inputs` directory (DIR/index.json, DIR/<id>.bin: [1, 3, H, W] float32
// NCHW) it runs the whole graph in a float Session and writes the model's output0 to OUT/<id>.out.bin, the
// file format ort_eval.js writes. Test tooling: the command line has no route to raw model outputs.
//
//   session_outputs MODEL DIR OUT [--threads N] [--isa NAME]
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/onnx_import.h"
#include "core/session.h"

namespace {

std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw sp::Error("cannot read " + path);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

int run(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: session_outputs MODEL DIR OUT [--threads N] [--isa NAME]\n");
    return 2;
  }
  sp::SessionOptions o;
  o.threads = 1;
  for (int i = 4; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) {
      o.threads = std::stoi(argv[i + 1]);
    } else if (std::strcmp(argv[i], "--isa") == 0) {
      o.isa = sp::resolve_isa(argv[i + 1]);
    } else {
      throw sp::Error(std::string("unknown option ") + argv[i]);
    }
  }
  const std::string dir = argv[2], out = argv[3];
  auto index = nlohmann::json::parse(read_file(dir + "/index.json"));
  std::vector<int64_t> shape = index.at("shape").get<std::vector<int64_t>>();
  if (shape.size() != 4 || shape[0] != 1 || shape[1] != 3) throw sp::Error(dir + "/index.json: shape is not [1, 3, H, W]");
  o.input_hw = {shape[2], shape[3]};

  sp::Session s(sp::load_onnx_file(argv[1]), o);
  size_t which = 0;
  while (which < s.num_outputs() && s.output_name(which) != "output0") ++which;
  if (which == s.num_outputs()) which = 0;
  if (s.output_nhwc(which)) throw sp::Error("output0 is NHWC: not the exported [1, 56, N] output");
  const size_t in_elems = static_cast<size_t>(3 * shape[2] * shape[3]);
  size_t out_elems = 1;
  for (int64_t d : s.output_shape(which)) out_elems *= static_cast<size_t>(d);

  std::filesystem::create_directories(out);
  int n = 0;
  for (const auto& im : index.at("images")) {
    const std::string id = std::to_string(im.at("id").get<int64_t>());
    std::vector<char> x = read_file(dir + "/" + id + ".bin");
    if (x.size() != in_elems * sizeof(float)) throw sp::Error(dir + "/" + id + ".bin: wrong size");
    std::memcpy(s.input_data(0), x.data(), x.size());
    s.run();
    std::ofstream f(out + "/" + id + ".out.bin", std::ios::binary);
    f.write(reinterpret_cast<const char*>(s.output_data(which)), static_cast<std::streamsize>(out_elems * sizeof(float)));
    if (!f) throw sp::Error("cannot write " + out + "/" + id + ".out.bin");
    ++n;
  }
  std::printf("session_outputs: %d inputs, %s %s, isa %s, %d threads -> %s\n", n, s.output_name(which).c_str(),
              sp::shape_string(s.output_shape(which)).c_str(), std::string(sp::isa_name(s.isa())).c_str(), s.threads(),
              out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "session_outputs: %s\n", e.what());
    return 1;
  }
}
