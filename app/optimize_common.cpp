#include "app/optimize_common.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/onnx_import.h"
#include "models/pose_agreement.h"

namespace sp::app {
namespace fs = std::filesystem;

double seconds_since(OptimizeClock::time_point t0) {
  return std::chrono::duration<double>(OptimizeClock::now() - t0).count();
}

void check_output_writable(const std::string& out) {
  if (out.empty()) throw Error("-o: give the output model path");
  fs::path dir = fs::path(out).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) throw Error("-o: directory '" + dir.string() + "' does not exist");
  if (::access(dir.c_str(), W_OK) != 0) throw Error("-o: directory '" + dir.string() + "' is not writable");
  if (fs::is_directory(out, ec)) throw Error("-o: '" + out + "' is a directory");
}

void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (f) f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) {
      std::error_code ec;
      fs::remove(tmp, ec);
      throw Error("cannot write '" + tmp + "'");
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    throw Error("cannot rename '" + tmp + "' to '" + path + "'");
  }
}

std::vector<const cv::Mat*> spread(const std::vector<cv::Mat>& frames, size_t n) {
  std::vector<const cv::Mat*> out;
  n = std::min(n, frames.size());
  for (size_t i = 0; i < n; ++i) out.push_back(&frames[(2 * i + 1) * frames.size() / (2 * n)]);
  return out;
}

PoseDamage::PoseDamage(const Graph& reference, const models::PoseModelOptions& opt, std::vector<const cv::Mat*> frames)
    : opt_(opt), frames_(std::move(frames)) {
  // Dense kernels: the sparse ones give the same integers (and float to rounding), and every candidate
  // would otherwise time its pruned layers at creation (--kernels auto) and leave a plan file behind.
  opt_.kernels = KernelMode::kDense;
  models::PoseModel ref(reference, opt_);
  head_ = ref.head();
  reference_ = decode_all(ref);
}

double PoseDamage::operator()(const Graph& candidate, bool integer) {
  models::PoseModelOptions co = opt_;
  co.integer = integer;
  models::PoseModel cand(candidate, co);
  return compare(decode_all(cand));
}

double PoseDamage::operator()(const std::string& model_bytes, bool integer) {
  Graph g = load_onnx_bytes(model_bytes.data(), model_bytes.size(), "candidate model");
  return (*this)(g, integer);
}

double PoseDamage::operator()(const prune::DamageCandidate& candidate) {
  if (!head_) throw Error("pose damage: the reference model has no pose head to decode");
  models::PoseModel cand(*candidate.graph, opt_, *head_);
  return compare(decode_all(cand, &candidate));
}

double PoseDamage::compare(const std::vector<std::vector<models::PoseDetection>>& anchors) {
  double sum = 0, weight = 0;
  for (size_t i = 0; i < anchors.size(); ++i) {
    auto a = models::anchor_agreement(reference_[i], anchors[i], kReferenceConf);
    sum += a.weighted_sum;
    weight += a.weight;
  }
  ++evaluations_;
  return weight > 0 ? 1.0 - sum / weight : 0.0;
}

std::vector<std::vector<models::PoseDetection>> PoseDamage::decode_all(models::PoseModel& m, const prune::DamageCandidate* cut) {
  std::vector<std::vector<models::PoseDetection>> out;
  for (size_t i = 0; i < frames_.size(); ++i) {
    if (!cut || cut->reads_image) imaging::letterbox_into(pre_, *frames_[i], m);
    if (cut && cut->feed) cut->feed(m.session(), i);
    m.infer();
    out.emplace_back();
    m.decode_all_anchors(out.back());
  }
  return out;
}

}  // namespace sp::app
