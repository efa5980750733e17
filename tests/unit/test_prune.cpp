// One-shot pruning (core/prune/): patterns, OBS against magnitude on inputs with known correlation,
// exact sparsity per layer and per column block, masks that respect the pattern, damping of a
// rank-deficient Hessian, the conv input statistics against a brute-force im2col, waves, the
// sensitivity curves (the same on any number of threads) and allocation, the whole-model pass on a small graph (bias correction included), and
// pruned zeros that stay exactly zero through int8 quantization.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <numeric>
#include <random>
#include <vector>

#include "core/error.h"
#include "core/prune/allocation.h"
#include "core/prune/input_statistics.h"
#include "core/prune/layer_inputs.h"
#include "core/prune/obs.h"
#include "core/prune/one_shot.h"
#include "core/prune/pattern.h"
#include "core/prune/prunable_model.h"
#include "core/prune/sensitivity.h"
#include "core/prune/silu_refit.h"
#include "core/prune/wave_runner.h"
#include "core/quantize/calibration.h"
#include "core/quantize/quantizable_model.h"
#include "core/session.h"
#include "tests/onnx_builder.h"
#include "tests/unit/prune_test_data.h"

namespace sp::prune {
namespace {

using test::OnnxBuilder;

int64_t zeros(const std::vector<float>& w) { return std::count(w.begin(), w.end(), 0.0f); }

TEST(PrunePattern, ParsesNamesAndChecksFit) {
  EXPECT_TRUE(PrunePattern::parse("unstructured").unstructured());
  PrunePattern k4 = PrunePattern::parse("block-k4");
  EXPECT_EQ(k4.rows, 1);
  EXPECT_EQ(k4.cols, 4);
  EXPECT_EQ(k4.name(), "block-k4");
  PrunePattern o8 = PrunePattern::parse("block-o8");
  EXPECT_EQ(o8.rows, 8);
  EXPECT_EQ(o8.cols, 1);
  PrunePattern tile = PrunePattern::parse("block-o2k4");
  EXPECT_EQ(tile.group_size(), 8);
  EXPECT_EQ(tile.name(), "block-o2k4");
  for (const char* bad : {"", "block", "block-", "block-k0", "block-k65", "block-x4", "block-k4o2", "block-k4 ", "4", "block-k1000"}) {
    EXPECT_THROW(PrunePattern::parse(bad), Error) << bad;
  }
  EXPECT_EQ(k4.misfit(51, 64), "");
  EXPECT_EQ(k4.misfit(16, 3), "3 input channels are not a multiple of 4");
  EXPECT_EQ(PrunePattern::parse("block-o4").misfit(51, 64), "51 output channels are not a multiple of 4");
}

// On inputs with strongly correlated features, OBS (which moves the remaining weights to make up for
// the removed ones) reconstructs the layer's output far better than magnitude, for every pattern.
TEST(Obs, BeatsMagnitudeOnCorrelatedInputs) {
  const int64_t rows = 32, K = 96;
  Hessian h = correlated_hessian(K, 2000, 24, 0.05f, 7);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 11);
  ObsSolver solver(h, {});
  for (const char* name : {"unstructured", "block-k4", "block-o4", "block-o2k4"}) {
    PrunePattern p = PrunePattern::parse(name);
    for (double s : {0.5, 0.7}) {
      std::vector<float> obs = w0, mag = w0;
      solver.prune(obs, rows, s, p);
      magnitude_prune(mag, rows, K, s, p);
      const double e_obs = relative_output_error(w0, obs, rows, h), e_mag = relative_output_error(w0, mag, rows, h);
      EXPECT_LT(e_obs, 0.5 * e_mag) << name << " at " << s << ": obs " << e_obs << " magnitude " << e_mag;
      EXPECT_EQ(zeros(obs), zeros(mag)) << name;
    }
  }
}

// round(s * groups) groups go, whatever the pattern; with OBS each 128-column block removes its share
// of them (cumulative rounding: within one group of the layer's sparsity).
TEST(Obs, ExactSparsityPerLayerAndPerBlock) {
  const int64_t rows = 16, K = 520;  // four full blocks and one of 8 columns
  Hessian h = correlated_hessian(K, 1200, 40, 0.1f, 3);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 5);
  ObsSolver solver(h, {});
  for (const char* name : {"unstructured", "block-k4", "block-o4"}) {
    const PrunePattern p = PrunePattern::parse(name);
    for (double s : {0.3, 0.5, 0.73}) {
      std::vector<float> w = w0;
      solver.prune(w, rows, s, p);
      const int64_t groups = rows / p.rows * (K / p.cols);
      EXPECT_EQ(zero_groups(w, rows, K, p), groups_to_remove(groups, s)) << name << " " << s;
      EXPECT_EQ(zeros(w), groups_to_remove(groups, s) * p.group_size()) << name << " " << s;
      for (int64_t b0 = 0; b0 < K; b0 += 128) {
        const int64_t b1 = std::min<int64_t>(K, b0 + 128);
        int64_t z = 0;
        for (int64_t r = 0; r < rows; ++r) {
          for (int64_t c = b0; c < b1; ++c) z += w[static_cast<size_t>(r * K + c)] == 0.0f;
        }
        const double expected = s * static_cast<double>(rows * (b1 - b0));
        EXPECT_LE(std::abs(static_cast<double>(z) - expected), p.group_size() + 1e-9) << name << " block " << b0;
      }
    }
  }
}

// Every zero belongs to a whole group of the pattern, and the kept groups are kept whole.
TEST(Obs, MasksRespectThePattern) {
  const int64_t rows = 24, K = 144;
  Hessian h = correlated_hessian(K, 800, 30, 0.1f, 9);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 13);
  ObsSolver solver(h, {});
  for (const char* name : {"block-k4", "block-k8", "block-o4", "block-o2k4"}) {
    const PrunePattern p = PrunePattern::parse(name);
    for (bool obs : {true, false}) {
      std::vector<float> w = w0;
      if (obs) solver.prune(w, rows, 0.6, p);
      else magnitude_prune(w, rows, K, 0.6, p);
      EXPECT_EQ(zeros(w), zero_groups(w, rows, K, p) * p.group_size()) << name << (obs ? " obs" : " magnitude");
    }
  }
  std::vector<float> w = w0;
  EXPECT_THROW(solver.prune(w, rows, 0.5, PrunePattern::parse("block-o5")), Error);  // 24 rows
  EXPECT_THROW(magnitude_prune(w, rows, K, 0.5, PrunePattern::parse("block-k5")), Error);
}

// Fewer samples than features and a dead input: H is singular; damping makes it invertible and the
// result is finite, exact in sparsity, and still better than magnitude.
TEST(Obs, RankDeficientHessianIsDamped) {
  const int64_t rows = 8, K = 64;
  Hessian h = correlated_hessian(K, 20, 20, 0.0f, 21);  // rank <= 20
  for (int64_t j = 0; j < K; ++j) {  // feature 5 never fires
    h.h[static_cast<size_t>(5 * K + j)] = 0;
    h.h[static_cast<size_t>(j * K + 5)] = 0;
  }
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 2);
  ObsSolver solver(h, {});
  EXPECT_GT(solver.damping_used(), 0);
  std::vector<float> w = w0, mag = w0;
  solver.prune(w, rows, 0.5, {});
  magnitude_prune(mag, rows, K, 0.5, {});
  for (float v : w) EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(zeros(w), rows * K / 2);
  EXPECT_LT(relative_output_error(w0, w, rows, h), relative_output_error(w0, mag, rows, h));
  // With the other features well sampled, a dead feature's weights cost nothing: OBS removes them.
  Hessian full = correlated_hessian(K, 2000, K, 0.1f, 22);
  for (int64_t j = 0; j < K; ++j) {
    full.h[static_cast<size_t>(5 * K + j)] = 0;
    full.h[static_cast<size_t>(j * K + 5)] = 0;
  }
  std::vector<float> wf = w0;
  ObsSolver(full, {}).prune(wf, rows, 0.5, {});
  for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(wf[static_cast<size_t>(r * K + 5)], 0.0f);
  // An all-zero Hessian (a layer that only ever sees zeros) still factors.
  Hessian zero{K, std::vector<double>(static_cast<size_t>(K * K), 0.0), 10};
  ObsSolver z(zero, {});
  std::vector<float> wz = w0;
  z.prune(wz, rows, 0.25, {});
  EXPECT_EQ(zeros(wz), rows * K / 4);
  // Non-finite statistics are refused.
  Hessian nan = zero;
  nan.h[3] = std::nan("");
  EXPECT_THROW(ObsSolver(nan, {}), Error);
}

TEST(Obs, SparsityEdges) {
  const int64_t rows = 4, K = 16;
  Hessian h = correlated_hessian(K, 200, 16, 0.1f, 1);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 3);
  ObsSolver solver(h, {});
  std::vector<float> w = w0;
  solver.prune(w, rows, 0.0, {});
  EXPECT_EQ(w, w0);  // nothing removed, nothing moved
  solver.prune(w, rows, 1.0, {});
  EXPECT_EQ(zeros(w), rows * K);
  EXPECT_THROW(solver.prune(w, rows, 1.5, {}), Error);
  EXPECT_THROW(solver.prune(w, rows + 1, 0.5, {}), Error);
}

// Refitting to a reference: no drift leaves W as it is; with drift, the refit reproduces W R from X
// far better than W itself, and OBS on the refit beats OBS on W for the float-target objective.
TEST(Obs, RefitToReferenceCorrectsDrift) {
  const int64_t rows = 12, K = 32, N = 4000;
  std::vector<float> X = gaussian(static_cast<size_t>(K * N), 1), D = gaussian(static_cast<size_t>(K * K), 2, 0.2f);
  std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 3);
  // R = X + D X: the reference inputs; the layer only sees X.
  Hessian h{K, std::vector<double>(static_cast<size_t>(K * K), 0.0), N};
  std::vector<double> G(static_cast<size_t>(K * K), 0.0), RR(static_cast<size_t>(K * K), 0.0);
  std::vector<double> r(static_cast<size_t>(K));
  for (int64_t s = 0; s < N; ++s) {
    for (int64_t i = 0; i < K; ++i) {
      double v = X[static_cast<size_t>(i * N + s)];
      for (int64_t j = 0; j < K; ++j) v += D[static_cast<size_t>(i * K + j)] * X[static_cast<size_t>(j * N + s)];
      r[static_cast<size_t>(i)] = v;
    }
    for (int64_t i = 0; i < K; ++i) {
      for (int64_t j = 0; j < K; ++j) {
        const double xi = X[static_cast<size_t>(i * N + s)], xj = X[static_cast<size_t>(j * N + s)];
        h.h[static_cast<size_t>(i * K + j)] += xi * xj / N;
        G[static_cast<size_t>(i * K + j)] += r[static_cast<size_t>(i)] * xj / N;
        RR[static_cast<size_t>(i * K + j)] += r[static_cast<size_t>(i)] * r[static_cast<size_t>(j)] / N;
      }
    }
  }
  // E||W r - V x||² = tr(W RR Wᵀ) - 2 tr(W G Vᵀ) + tr(V H Vᵀ), per unit of tr(W RR Wᵀ).
  auto target_error = [&](const std::vector<float>& v) {
    double a = 0, b = 0, c = 0;
    for (int64_t o = 0; o < rows; ++o)
      for (int64_t i = 0; i < K; ++i)
        for (int64_t j = 0; j < K; ++j) {
          const double wi = w0[static_cast<size_t>(o * K + i)], wj = w0[static_cast<size_t>(o * K + j)];
          const double vi = v[static_cast<size_t>(o * K + i)], vj = v[static_cast<size_t>(o * K + j)];
          a += wi * RR[static_cast<size_t>(i * K + j)] * wj;
          b += wi * G[static_cast<size_t>(i * K + j)] * vj;
          c += vi * h.h[static_cast<size_t>(i * K + j)] * vj;
        }
    return (a - 2 * b + c) / a;
  };
  std::vector<float> same = w0;
  refit_to_reference(same, rows, h, h.h, 0.01);
  for (size_t i = 0; i < same.size(); ++i) EXPECT_NEAR(same[i], w0[i], 1e-6);
  std::vector<float> v = w0;
  refit_to_reference(v, rows, h, G, 0.01);
  EXPECT_LT(target_error(v), 0.05 * target_error(w0));
  ObsSolver solver(h, {});
  std::vector<float> plain = w0, refit = v;
  solver.prune(plain, rows, 0.5, {});
  solver.prune(refit, rows, 0.5, {});
  EXPECT_LT(target_error(refit), target_error(plain));
  EXPECT_THROW(refit_to_reference(v, rows + 1, h, G, 0.01), Error);
}

// A 3x3 conv with padding 1 on an h x w x c input.
ConvGeometry padded_3x3(int64_t h, int64_t w, int64_t c, int64_t stride) {
  ConvGeometry g;
  g.in_h = h;
  g.in_w = w;
  g.channels = c;
  g.kernel_h = g.kernel_w = 3;
  g.stride_h = g.stride_w = stride;
  g.pad_top = g.pad_left = g.pad_bottom = g.pad_right = 1;
  return g;
}

// The statistics of a 3x3 stride-2 padded conv input against a brute-force im2col over every pixel.
TEST(InputStatistics, MatchBruteForceIm2col) {
  const ConvGeometry g = padded_3x3(7, 6, 3, 2);
  const int64_t K = g.patch_size(), oh = g.out_h(), ow = g.out_w();
  ASSERT_EQ(oh, 4);
  ASSERT_EQ(ow, 3);
  std::vector<double> H(static_cast<size_t>(K * K), 0.0), mean(static_cast<size_t>(K), 0.0);
  std::vector<double> G(static_cast<size_t>(K * K), 0.0), ref_mean(static_cast<size_t>(K), 0.0);
  InputStatistics all(g, 1000, 1), few(g, 5, 1), paired(g, 1000, 1);
  const int frames = 3;
  for (int f = 0; f < frames; ++f) {
    // NCHW storage for one frame, NHWC with a pixel stride of 5 for another: both layouts are read.
    std::vector<float> x = gaussian(static_cast<size_t>(g.in_h * g.in_w * g.channels), 40 + f);
    auto at = [&](int64_t y, int64_t xx, int64_t c) { return x[static_cast<size_t>((c * g.in_h + y) * g.in_w + xx)]; };
    ActivationView v;
    std::vector<float> strided;
    if (f == 1) {
      strided.assign(static_cast<size_t>(g.in_h * g.in_w * 5), -99.0f);
      for (int64_t y = 0; y < g.in_h; ++y)
        for (int64_t xx = 0; xx < g.in_w; ++xx)
          for (int64_t c = 0; c < g.channels; ++c) strided[static_cast<size_t>((y * g.in_w + xx) * 5 + c)] = at(y, xx, c);
      v = {strided.data(), g.in_h, g.in_w, g.channels, 5, 1};
    } else {
      v = {x.data(), g.in_h, g.in_w, g.channels, 1, g.in_h * g.in_w};
    }
    all.add(v);
    few.add(v);
    // The reference: the same frame squared (NCHW), paired with the frame itself.
    std::vector<float> sq(x.size());
    for (size_t i = 0; i < x.size(); ++i) sq[i] = x[i] * x[i];
    const ActivationView rv{sq.data(), g.in_h, g.in_w, g.channels, 1, g.in_h * g.in_w};
    paired.add(v, &rv);
    for (int64_t oy = 0; oy < oh; ++oy) {
      for (int64_t ox = 0; ox < ow; ++ox) {
        std::vector<double> p, q;
        for (int64_t ky = 0; ky < 3; ++ky)
          for (int64_t kx = 0; kx < 3; ++kx)
            for (int64_t c = 0; c < 3; ++c) {
              const int64_t iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
              const bool out = iy < 0 || iy >= g.in_h || ix < 0 || ix >= g.in_w;
              p.push_back(out ? 0.0 : at(iy, ix, c));
              q.push_back(out ? 0.0 : double(at(iy, ix, c)) * at(iy, ix, c));
            }
        for (int64_t i = 0; i < K; ++i) {
          mean[static_cast<size_t>(i)] += p[static_cast<size_t>(i)];
          ref_mean[static_cast<size_t>(i)] += q[static_cast<size_t>(i)];
          for (int64_t j = 0; j < K; ++j) {
            H[static_cast<size_t>(i * K + j)] += p[static_cast<size_t>(i)] * p[static_cast<size_t>(j)];
            G[static_cast<size_t>(i * K + j)] += q[static_cast<size_t>(i)] * p[static_cast<size_t>(j)];
          }
        }
      }
    }
  }
  const double n = static_cast<double>(frames * oh * ow);
  Hessian h = all.hessian();
  EXPECT_EQ(h.samples, frames * oh * ow);
  for (size_t i = 0; i < H.size(); ++i) EXPECT_NEAR(h.h[i], H[i] / n, 1e-5);
  std::vector<double> m = all.mean_patch(), mf = few.mean_patch();
  for (size_t i = 0; i < mean.size(); ++i) {
    EXPECT_NEAR(m[i], mean[i] / n, 1e-6);
    EXPECT_NEAR(mf[i], mean[i] / n, 1e-6);  // means always use every pixel
  }
  EXPECT_EQ(few.patches(), 5 * frames);  // the Hessian only a sample
  // Cross moments E[r xᵀ] with the reference, centered versions, and the reference's means.
  std::vector<double> cross = paired.cross_moment(), cross_c = paired.cross_moment(true), rm = paired.reference_mean_patch();
  Hessian hc = paired.hessian(true);
  for (int64_t i = 0; i < K; ++i) {
    EXPECT_NEAR(rm[static_cast<size_t>(i)], ref_mean[static_cast<size_t>(i)] / n, 1e-5);
    for (int64_t j = 0; j < K; ++j) {
      const size_t ij = static_cast<size_t>(i * K + j);
      EXPECT_NEAR(cross[ij], G[ij] / n, 1e-4);
      EXPECT_NEAR(cross_c[ij], G[ij] / n - (ref_mean[static_cast<size_t>(i)] / n) * (mean[static_cast<size_t>(j)] / n), 1e-4);
      EXPECT_NEAR(hc.h[ij], H[ij] / n - (mean[static_cast<size_t>(i)] / n) * (mean[static_cast<size_t>(j)] / n), 1e-5);
    }
  }
  EXPECT_THROW(all.cross_moment(), Error);
  EXPECT_THROW(all.reference_mean_patch(), Error);
  std::vector<float> frame(static_cast<size_t>(g.in_h * g.in_w * g.channels), 1.0f);
  const ActivationView alone{frame.data(), g.in_h, g.in_w, g.channels, g.channels, 1};
  EXPECT_THROW(paired.add(alone), Error);  // a frame without its reference
  const ActivationView null_view{nullptr, 7, 6, 3, 3, 1};
  EXPECT_THROW(all.add(null_view), Error);
  std::vector<float> four(7 * 6 * 4, 0.0f);
  const ActivationView wrong{four.data(), 7, 6, 4, 4, 1};  // 4 channels where the conv reads 3
  EXPECT_THROW(all.add(wrong), Error);
  InputStatistics means_only(g, 0, 1);
  EXPECT_THROW(means_only.hessian(), Error);
}

// ONNX [O][C][kh][kw] and the (ky, kx, c) matrix convert both ways.
TEST(PrunableModel, MatrixLayoutRoundTrips) {
  std::vector<float> w(2 * 3 * 2 * 2);
  std::iota(w.begin(), w.end(), 0.0f);
  std::vector<float> m = onnx_to_matrix(w, 2, 3, 2, 2);
  // Row 0, tap (0, 1), channel 2 = w[0][2][0][1] = (0 * 3 + 2) * 4 + 1.
  EXPECT_EQ(m[static_cast<size_t>(1 * 3 + 2)], 9.0f);
  EXPECT_EQ(matrix_to_onnx(m, 2, 3, 2, 2), w);
}

// --- a small model end to end

void silu(OnnxBuilder& b, const std::string& x, const std::string& out) {
  b.node("Sigmoid", {x}, {x + "_sig"}, out + "_Sigmoid");
  b.node("Mul", {x, x + "_sig"}, {out}, out + "_Mul");
}

void conv(OnnxBuilder& b, const std::string& name, const std::string& in, const std::string& out, int64_t cin,
          int64_t cout, int64_t k, int64_t stride, uint32_t seed, int64_t group = 1) {
  b.floats(name + ".w", {cout, cin / group, k, k}, gaussian(static_cast<size_t>(cout * cin / group * k * k), seed, 0.3f));
  b.floats(name + ".b", {cout}, gaussian(static_cast<size_t>(cout), seed + 1, 0.1f));
  auto* n = b.node("Conv", {in, name + ".w", name + ".b"}, {out}, name);
  OnnxBuilder::attr(n, "kernel_shape", std::vector<int64_t>{k, k});
  OnnxBuilder::attr(n, "pads", std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2});
  OnnxBuilder::attr(n, "strides", std::vector<int64_t>{stride, stride});
  if (group > 1) OnnxBuilder::attr(n, "group", group);
}

// x[1, 8, 12, 12] -> c0 3x3 8->16 -> SiLU -> c1 1x1 16->16 -> SiLU -> {c2 3x3 s2 16->8 -> out,
// dw 3x3 depthwise -> side}
std::string small_model() {
  OnnxBuilder b(17);
  b.input("x", {1, 8, 12, 12});
  conv(b, "c0", "x", "y0", 8, 16, 3, 1, 100);
  silu(b, "y0", "a0");
  conv(b, "c1", "a0", "y1", 16, 16, 1, 1, 200);
  silu(b, "y1", "a1");
  conv(b, "c2", "a1", "out", 16, 8, 3, 2, 300);
  conv(b, "dw", "a1", "side", 16, 16, 3, 1, 400, 16);
  b.output("out");
  b.output("side");
  return b.bytes();
}

// Inputs with correlated channels (a shared component), so the Hessians are far from diagonal.
FrameFiller correlated_frames() {
  return [](size_t f, float* nhwc) {
    std::vector<float> base = gaussian(12 * 12, 1000 + static_cast<uint32_t>(f));
    std::vector<float> own = gaussian(12 * 12 * 8, 2000 + static_cast<uint32_t>(f), 0.3f);
    for (int p = 0; p < 144; ++p)
      for (int c = 0; c < 8; ++c) nhwc[p * 8 + c] = base[static_cast<size_t>(p)] * (0.5f + 0.1f * c) + own[static_cast<size_t>(p * 8 + c)];
  };
}

TEST(PrunableModel, FindsConvsAndRefusesWhatCannotBePruned) {
  PrunableModel m = PrunableModel::from_bytes(small_model(), "small");
  ASSERT_EQ(m.convs().size(), 4u);
  EXPECT_TRUE(m.conv("c0").reads_graph_input);
  EXPECT_FALSE(m.conv("c1").reads_graph_input);
  EXPECT_FALSE(m.conv("dw").prunable_shape());
  EXPECT_EQ(m.conv("c2").cols(), 9 * 16);
  m.mark_tail({"out"});
  EXPECT_TRUE(m.conv("dw").after_outputs);
  EXPECT_FALSE(m.conv("c2").after_outputs);

  OnnxBuilder none(17);  // only a depthwise conv: nothing OBS can prune
  none.input("x", {1, 4, 8, 8});
  conv(none, "dw", "x", "y", 4, 4, 3, 1, 1, 4);
  none.output("y");
  try {
    PrunableModel::from_bytes(none.bytes(), "dw.onnx");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("dw.onnx: no prunable convolution"), std::string::npos) << e.what();
  }
  OnnxBuilder q(17);
  q.input("x", {1, 4, 8, 8});
  q.floats("s", {}, {0.1f});
  q.typed<uint8_t>("z", onnx::TensorProto::UINT8, {}, {0});
  q.node("QuantizeLinear", {"x", "s", "z"}, {"xq"}, "q");
  q.node("DequantizeLinear", {"xq", "s", "z"}, {"xd"}, "dq");
  conv(q, "c", "xd", "y", 4, 4, 1, 1, 1);
  q.output("y");
  EXPECT_THROW(PrunableModel::from_bytes(q.bytes(), "q"), Error);
  EXPECT_THROW(PrunableModel::from_bytes("not onnx", "junk"), Error);
}

TEST(Waves, NoConvFeedsAnotherOfItsWave) {
  Graph g = load_onnx_bytes(small_model().data(), small_model().size(), "small");
  auto waves = conv_waves(g, {"c0", "c1", "c2", "dw"});
  ASSERT_EQ(waves.size(), 3u);
  EXPECT_EQ(waves[0], std::vector<std::string>{"c0"});
  EXPECT_EQ(waves[1], std::vector<std::string>{"c1"});
  EXPECT_EQ(waves[2], (std::vector<std::string>{"c2", "dw"}));
  // Convs not listed do not count: c2 alone is wave 1.
  EXPECT_EQ(conv_waves(g, {"c2"}).size(), 1u);
  EXPECT_THROW(conv_waves(g, {"nope"}), Error);
}

// A one-thread session of g that outputs `value` and takes NHWC frames (what FrameFiller writes).
std::unique_ptr<Session> frame_session(const Graph& g, const std::string& value) {
  SessionOptions so;
  so.threads = 1;
  so.outputs = {value};
  so.nhwc_input = true;
  return std::make_unique<Session>(g, so);
}

// Mean of a Session output channel by channel over the frames.
std::vector<double> mean_output(const Graph& g, const std::string& value, size_t frames, const FrameFiller& fill) {
  const std::unique_ptr<Session> session = frame_session(g, value);
  Session& s = *session;
  const Shape& sh = s.output_shape(0);
  std::vector<double> m(static_cast<size_t>(sh[1]), 0.0);
  for (size_t f = 0; f < frames; ++f) {
    fill(f, s.input_data(0));
    s.run();
    const float* y = s.output_data(0);  // NCHW
    for (int64_t c = 0; c < sh[1]; ++c)
      for (int64_t p = 0; p < sh[2] * sh[3]; ++p) m[static_cast<size_t>(c)] += y[c * sh[2] * sh[3] + p] / static_cast<double>(frames * sh[2] * sh[3]);
  }
  return m;
}

TEST(OneShot, PrunesEveryLayerExactlyAndCorrectsBiases) {
  const std::string bytes = small_model();
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 1;
  const Graph float_graph = load_onnx_bytes(bytes.data(), bytes.size(), "small");
  const std::vector<double> float_mean = mean_output(float_graph, "out", 6, fill);

  std::map<PruneMethod, std::map<std::string, double>> error_of;
  for (PruneMethod method : {PruneMethod::kObs, PruneMethod::kAdmm, PruneMethod::kMagnitude}) {
    PrunableModel m = PrunableModel::from_bytes(bytes, "small");
    Graph g = float_graph;
    OneShotOptions opt;
    opt.method = method;
    opt.pattern = PrunePattern::parse("block-k4");
    opt.bias_correction = true;
    opt.max_patches_per_frame = 64;
    const std::vector<LayerTarget> layers{{"c0", 0.5}, {"c1", 0.5}, {"c2", 0.75}, {"dw", 0.0}};
    std::vector<LayerResult> r = prune_one_shot(m, g, layers, opt, so, 6, fill);
    ASSERT_EQ(r.size(), 4u);
    for (const auto& l : r) {
      const ConvLayer& c = m.conv(l.conv);
      std::vector<float> w = m.matrix(l.conv);
      EXPECT_EQ(zeros(w), std::llround(l.target * static_cast<double>(c.weights() / 4)) * 4) << l.conv;
      EXPECT_EQ(l.zeros, zeros(w));
      if (l.target > 0) {
        EXPECT_EQ(zero_groups(w, c.out_channels, c.cols(), opt.pattern) * 4, zeros(w)) << l.conv;
      }
      EXPECT_TRUE(l.bias_corrected) << l.conv;
      error_of[method][l.conv] = l.output_error;
    }
    EXPECT_EQ(r[3].zeros, 0);  // the depthwise conv is only bias-corrected
    // The graph carries the new weights, and the last conv's mean output is the float model's again.
    std::vector<double> mean = mean_output(g, "out", 6, fill);
    for (size_t c = 0; c < mean.size(); ++c) EXPECT_NEAR(mean[c], float_mean[c], 1e-4) << "channel " << c;
    // The written model loads and has the same zeros.
    const std::string out = m.write("sparsepose.pruning", "{}");
    PrunableModel back = PrunableModel::from_bytes(out, "written");
    EXPECT_EQ(back.matrix("c2"), m.matrix("c2"));
    EXPECT_EQ(back.bias("c1"), m.bias("c1"));
  }
  EXPECT_GE(error_of[PruneMethod::kObs]["c1"], 0.0);
  EXPECT_GE(error_of[PruneMethod::kAdmm]["c1"], 0.0);
  EXPECT_LT(error_of[PruneMethod::kMagnitude]["c1"], 0.0);  // magnitude gathers no Hessian: not measured

  // A pattern that does not fit a layer is refused before any work.
  PrunableModel m = PrunableModel::from_bytes(bytes, "small");
  Graph g = float_graph;
  OneShotOptions opt;
  opt.pattern = PrunePattern::parse("block-o32");
  EXPECT_THROW(prune_one_shot(m, g, {{"c0", 0.5}}, opt, so, 2, fill), Error);
  opt.pattern = {};
  EXPECT_THROW(prune_one_shot(m, g, {{"dw", 0.5}}, opt, so, 2, fill), Error);
}

// Mean squared difference of an output between two graphs over the frames.
double output_mse(const Graph& a, const Graph& b, const std::string& value, size_t frames, const FrameFiller& fill) {
  const std::unique_ptr<Session> session_a = frame_session(a, value), session_b = frame_session(b, value);
  Session &sa = *session_a, &sb = *session_b;
  const Shape& sh = sa.output_shape(0);
  const int64_t n = sh[1] * sh[2] * sh[3];
  double se = 0;
  for (size_t f = 0; f < frames; ++f) {
    fill(f, sa.input_data(0));
    fill(f, sb.input_data(0));
    sa.run();
    sb.run();
    for (int64_t i = 0; i < n; ++i) se += std::pow(double(sa.output_data(0)[i]) - sb.output_data(0)[i], 2);
  }
  return se / static_cast<double>(n * static_cast<int64_t>(frames));
}

// With float_target, refit_dense makes the conv kept dense after pruned ones (c2) refit to the float
// model's outputs from its drifted inputs: its weights move, its zeros stay as they were, and the
// model's output comes closer to the float model's than with c2 left as it was.
TEST(OneShot, RefitDenseBringsTheDenseConvsAfterPrunedOnesBackToFloat) {
  const std::string bytes = small_model();
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 1;
  so.kernels = KernelMode::kDense;
  const Graph float_graph = load_onnx_bytes(bytes.data(), bytes.size(), "small");
  double mse[2] = {0, 0};
  for (bool refit_dense : {false, true}) {
    for (PruneMethod method : {PruneMethod::kObs, PruneMethod::kAdmm}) {
      PrunableModel m = PrunableModel::from_bytes(bytes, "small");
      const std::vector<float> c2 = m.matrix("c2");
      Graph g = float_graph;
      OneShotOptions opt;
      opt.method = method;
      opt.float_target = true;
      opt.refit_dense = refit_dense;
      opt.max_patches_per_frame = 64;
      const std::vector<LayerResult> r = prune_one_shot(m, g, {{"c0", 0.6}, {"c1", 0.6}, {"c2", 0.0}}, opt, so, 8, fill);
      EXPECT_EQ(r[2].zeros, zeros(c2));
      if (refit_dense) {
        EXPECT_NE(m.matrix("c2"), c2);
        EXPECT_GT(r[2].hessian_samples, 0);
      } else {
        EXPECT_EQ(m.matrix("c2"), c2);
      }
      mse[refit_dense] += output_mse(float_graph, g, "out", 8, fill);
    }
  }
  EXPECT_LT(mse[1], 0.8 * mse[0]) << "refit " << mse[1] << " against " << mse[0];
}

// OBS on real conv inputs: the sequential pass gives a lower output error than magnitude per layer.
TEST(OneShot, ObsBeatsMagnitudeOnConvInputs) {
  const std::string bytes = small_model();
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 1;
  const Graph float_graph = load_onnx_bytes(bytes.data(), bytes.size(), "small");
  PrunableModel m = PrunableModel::from_bytes(bytes, "small");
  Graph g = float_graph;
  auto stats = gather_input_statistics(g, {{"c0", 1000, 0}, {"c1", 1000, 0}}, so, 4, fill);
  for (const char* c : {"c0", "c1"}) {
    const ConvLayer& layer = m.conv(c);
    Hessian h = stats.at(c)->hessian();
    std::vector<float> w0 = m.matrix(c), obs = w0, mag = w0;
    ObsSolver solver(h, {});
    prune_matrix(obs, layer, 0.6, PruneMethod::kObs, {}, &solver);
    prune_matrix(mag, layer, 0.6, PruneMethod::kMagnitude, {}, nullptr);
    EXPECT_LT(relative_output_error(w0, obs, layer.out_channels, h), relative_output_error(w0, mag, layer.out_channels, h)) << c;
  }
}

// A sampling seed draws other Hessian pixels; seed 0 is the standard draw, and the means (every pixel) do
// not depend on it.
TEST(InputStatistics, SamplingSeedDrawsOtherPixels) {
  const std::string bytes = small_model();
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 1;
  const Graph g = load_onnx_bytes(bytes.data(), bytes.size(), "small");
  auto draw = [&](uint64_t seed) { return gather_input_statistics(g, {{"c0", 20, seed}}, so, 3, fill).at("c0"); };
  const auto standard = draw(0), again = draw(0), other = draw(3);
  EXPECT_EQ(standard->hessian().h, again->hessian().h);
  EXPECT_NE(standard->hessian().h, other->hessian().h);
  EXPECT_EQ(standard->patches(), other->patches());
  EXPECT_EQ(standard->mean_patch(), other->mean_patch());
}

// The kept samples are the sampled patches themselves: over every pixel (budget >= pixels) their
// second moment is the Hessian, and the reference's columns are the same pixels of the reference.
TEST(InputStatistics, KeptSamplesAreTheSampledPatches) {
  const ConvGeometry g = padded_3x3(5, 4, 3, 1);
  const int64_t K = g.patch_size(), pixels = g.out_h() * g.out_w();
  InputStatistics all(g, 1000, 1), some(g, 1000, 1);
  all.keep_samples(1000);
  some.keep_samples(7);
  const int frames = 3;
  for (int f = 0; f < frames; ++f) {
    std::vector<float> x = gaussian(static_cast<size_t>(pixels * g.channels), 70 + f);
    std::vector<float> r(x.size());
    for (size_t i = 0; i < r.size(); ++i) r[i] = 2.0f * x[i];
    const ActivationView v{x.data(), g.in_h, g.in_w, g.channels, g.channels, 1}, rv{r.data(), g.in_h, g.in_w, g.channels, g.channels, 1};
    all.add(v, &rv);
    some.add(v, &rv);
  }
  ASSERT_EQ(all.kept_samples(), frames * pixels);
  ASSERT_EQ(some.kept_samples(), frames * 7);
  ASSERT_EQ(static_cast<int64_t>(some.samples().size()), K * frames * 7);
  const Hessian h = all.hessian();
  const auto& xs = all.samples();
  const int64_t n = all.kept_samples();
  for (int64_t i = 0; i < K; ++i) {
    for (int64_t j = 0; j < K; ++j) {
      double sum = 0;
      for (int64_t c = 0; c < n; ++c) sum += double(xs[static_cast<size_t>(c * K + i)]) * xs[static_cast<size_t>(c * K + j)];
      EXPECT_NEAR(sum / static_cast<double>(n), h.h[static_cast<size_t>(i * K + j)], 1e-5) << i << "," << j;
    }
  }
  for (size_t i = 0; i < xs.size(); ++i) ASSERT_EQ(all.reference_samples()[i], 2.0f * xs[i]) << i;
  // The first 7 of each frame's draw: the same columns as the full keep's (same seed, same draw order).
  for (int f = 0; f < frames; ++f) {
    for (int64_t c = 0; c < 7 * K; ++c) {
      ASSERT_EQ(some.samples()[static_cast<size_t>(f * 7 * K + c)], xs[static_cast<size_t>(f * pixels * K + c)]) << f;
    }
  }
}

// The SiLU refit: error on the samples never rises, zeros stay zero, the thread count changes nothing,
// and a perturbed unpruned conv is pulled back towards its float output.
TEST(SiluRefit, LowersTheErrorKeepsTheMaskAndIgnoresThreads) {
  // Each of the refit's fixed splits ends partial: 70 channels (blocks of 64), 70 weights per channel
  // (gradient slices of 64), 1100 samples (forward chunks of 1024).
  const int64_t rows = 70, K = 70, n = 1100;
  const std::vector<float> x = gaussian(static_cast<size_t>(K * n), 5);
  std::vector<float> r = gaussian(static_cast<size_t>(K * n), 6, 0.1f);
  for (size_t i = 0; i < r.size(); ++i) r[i] += x[i];  // the float model's inputs: near the pruned model's
  const std::vector<float> w0 = gaussian(static_cast<size_t>(rows * K), 7, 0.4f), b0 = gaussian(static_cast<size_t>(rows), 8, 0.5f);
  std::vector<float> pruned = w0;
  magnitude_prune(pruned, rows, K, 0.5, {});
  auto sq_error = [&](const std::vector<float>& w, const std::vector<float>& b) {
    double e = 0;
    for (int64_t j = 0; j < n; ++j)
      for (int64_t o = 0; o < rows; ++o) {
        float z = b[static_cast<size_t>(o)], z0 = b0[static_cast<size_t>(o)];
        for (int64_t c = 0; c < K; ++c) {
          z += w[static_cast<size_t>(o * K + c)] * x[static_cast<size_t>(j * K + c)];
          z0 += w0[static_cast<size_t>(o * K + c)] * r[static_cast<size_t>(j * K + c)];
        }
        const double d = z / (1 + std::exp(-double(z))) - z0 / (1 + std::exp(-double(z0)));
        e += d * d;
      }
    return e / static_cast<double>(rows * n);
  };
  std::vector<float> w1 = pruned, b1 = b0, w3 = pruned, b3 = b0;
  const SiluRefitResult one = silu_refit(w1, b1, rows, w0, b0, x, r, n);
  ThreadPool pool(3);
  const SiluRefitResult three = silu_refit(w3, b3, rows, w0, b0, x, r, n, {}, &pool);
  EXPECT_EQ(w1, w3);
  EXPECT_EQ(b1, b3);
  EXPECT_EQ(one.error_after, three.error_after);
  EXPECT_NEAR(one.error_before, sq_error(pruned, b0), 1e-4 * one.error_before);
  EXPECT_NEAR(one.error_after, sq_error(w1, b1), 1e-4 * one.error_before);
  EXPECT_LT(one.error_after, 0.98 * one.error_before);
  for (size_t i = 0; i < w1.size(); ++i) {
    if (pruned[i] == 0.0f) {
      ASSERT_EQ(w1[i], 0.0f) << i;
    }
  }
  // Unpruned and perturbed, on the float model's own inputs: most of the error goes.
  std::vector<float> w = w0, b = b0;
  const std::vector<float> noise = gaussian(w.size(), 9, 0.02f);
  for (size_t i = 0; i < w.size(); ++i) w[i] += noise[i];
  const SiluRefitResult back = silu_refit(w, b, rows, w0, b0, r, r, n);
  EXPECT_LT(back.error_after, 0.3 * back.error_before) << back.error_before;
  EXPECT_THROW(silu_refit(w, b, rows, w0, b0, r, r, n - 1), Error);

  // Every float ISA this CPU has reaches the same fit; their products differ by rounding only.
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    std::vector<float> wi = pruned, bi = b0;
    const SiluRefitResult res = silu_refit(wi, bi, rows, w0, b0, x, r, n, {}, nullptr, isa);
    EXPECT_NEAR(res.error_before, one.error_before, 1e-5 * one.error_before) << isa_name(isa);
    EXPECT_NEAR(res.error_after, one.error_after, 1e-3 * one.error_before) << isa_name(isa);
    for (size_t i = 0; i < wi.size(); ++i) {
      if (pruned[i] == 0.0f) {
        ASSERT_EQ(wi[i], 0.0f) << isa_name(isa) << " " << i;
      }
    }
  }
}

// x -> c0 3x3 8->16 -> SiLU a0 -> Split s0, s1 -> c1 1x1 on s1 -> SiLU a1 -> r = s1 + a1
// -> cat = Concat(s0, r) -> {c2 3x3 s2 16->8 -> out, dw depthwise -> side}: the frontier after c0 is
// the two Split outputs (the Split is never half cut), after c1 it is s0 and r.
std::string branchy_model() {
  OnnxBuilder b(17);
  b.input("x", {1, 8, 12, 12});
  conv(b, "c0", "x", "y0", 8, 16, 3, 1, 100);
  silu(b, "y0", "a0");
  b.ints("split_sizes", {8, 8});
  auto* sp = b.node("Split", {"a0", "split_sizes"}, {"s0", "s1"}, "split");
  OnnxBuilder::attr(sp, "axis", int64_t{1});
  conv(b, "c1", "s1", "y1", 8, 8, 1, 1, 200);
  silu(b, "y1", "a1");
  b.node("Add", {"s1", "a1"}, {"r"}, "residual");
  auto* cat = b.node("Concat", {"s0", "r"}, {"cat"}, "concat");
  OnnxBuilder::attr(cat, "axis", int64_t{1});
  conv(b, "c2", "cat", "out", 16, 8, 3, 2, 300);
  conv(b, "dw", "cat", "side", 16, 16, 3, 1, 400, 16);
  b.output("out");
  b.output("side");
  return b.bytes();
}

// The runner, which starts each wave from the cached activations of the previous ones, gathers
// exactly what a full run of the current graph gathers, as weights change wave after wave.
TEST(WaveRunner, MatchesFullRunsAsWeightsChange) {
  const std::string bytes = branchy_model();
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 1;
  // Dense kernels, as the optimizer's statistics sessions use (app/optimize_prune.cpp): under auto each
  // session times its own kernel choice (dense or sparse, and the sparse group size) for the pruned
  // weights, and two sessions that choose differently sum in different orders, which this bitwise
  // comparison would report (seen under ASan, whose timings differ most).
  so.kernels = KernelMode::kDense;
  const Graph reference = load_onnx_bytes(bytes.data(), bytes.size(), "branchy");
  Graph g = reference;
  PrunableModel m = PrunableModel::from_bytes(bytes, "branchy");
  auto waves = conv_waves(g, {"c0", "c1", "c2", "dw"});
  ASSERT_EQ(waves.size(), 3u);
  for (size_t cache_bytes : {size_t{1} << 30, size_t{0}}) {  // with the cache, and falling back without it
    const uint64_t seed = cache_bytes > 0 ? 0 : 7;  // both paths draw the same pixels for any sampling seed
    Graph work = reference;
    PrunableModel pm = PrunableModel::from_bytes(bytes, "branchy");
    WaveRunner runner(work, waves, so, 3, fill, cache_bytes);
    for (size_t w = 0; w < waves.size(); ++w) {
      std::vector<StatisticsRequest> req;
      for (const auto& c : waves[w]) req.push_back({c, c == "dw" ? 0 : 50, seed});
      auto fast = runner.gather(w, work, req, &reference);
      auto full = gather_input_statistics(work, req, so, 3, fill, &reference);
      for (const auto& r : req) {
        const auto& a = *fast.at(r.conv);
        const auto& b = *full.at(r.conv);
        EXPECT_EQ(a.mean_patch(), b.mean_patch()) << r.conv << " wave " << w;
        EXPECT_EQ(a.reference_mean_patch(), b.reference_mean_patch()) << r.conv;
        if (r.max_patches_per_frame > 0) {
          EXPECT_EQ(a.hessian().h, b.hessian().h) << r.conv;
          EXPECT_EQ(a.cross_moment(), b.cross_moment()) << r.conv;
        }
      }
      // This wave's convs change (as pruning would), so the next wave sees new inputs.
      for (const auto& c : waves[w]) {
        if (c == "dw") continue;
        std::vector<float> wm = pm.matrix(c);
        magnitude_prune(wm, pm.conv(c).out_channels, pm.conv(c).cols(), 0.5, {});
        pm.set_matrix(c, wm);
        set_conv_constants(work, c, pm.onnx_weights(c), {});
      }
    }
    if (cache_bytes > 0) EXPECT_GT(runner.peak_cache_bytes(), 0u);
    else EXPECT_EQ(runner.peak_cache_bytes(), 0u);
    EXPECT_THROW(runner.gather(0, work, {}, nullptr), Error);  // out of order
  }
}

// --- sensitivity allocation

TEST(Allocation, LeastDamagePerMillisecondFirstAndExactTarget) {
  // a: cheap to prune, slow layer; b: damaging; c: harmless but fast (little time to save).
  std::vector<LayerCurve> layers{
      {"a", 1000, {0.3, 0.5, 0.7}, {0.001, 0.002, 0.004}},
      {"b", 1000, {0.3, 0.5, 0.7}, {0.05, 0.10, 0.20}},
      {"c", 2000, {0.3, 0.5, 0.7}, {0.001, 0.002, 0.003}},
  };
  MeasuredDenseCostModel cost({{"a", 4.0}, {"b", 4.0}, {"c", 0.1}});
  Allocation al = allocate_sparsity(layers, 0.5, cost);
  ASSERT_EQ(al.sparsity.size(), 3u);
  double removed = 0;
  for (size_t i = 0; i < 3; ++i) removed += al.sparsity[i] * static_cast<double>(layers[i].weights);
  EXPECT_NEAR(removed / 4000.0, 0.5, 1e-12);
  EXPECT_NEAR(al.global, 0.5, 1e-12);
  EXPECT_DOUBLE_EQ(al.sparsity[0], 0.7);  // the cheap slow layer goes furthest
  EXPECT_LT(al.sparsity[1], al.sparsity[2] + 1e-12);  // the damaging layer least
  EXPECT_FALSE(al.steps.empty());
  EXPECT_EQ(al.steps.front().conv, "a");
  // Noisy curves are made monotone; out-of-reach targets are refused.
  std::vector<LayerCurve> noisy{{"a", 10, {0.3, 0.5}, {0.01, 0.0}}};
  EXPECT_NO_THROW(allocate_sparsity(noisy, 0.4, cost));
  EXPECT_THROW(allocate_sparsity(noisy, 0.6, cost), Error);
  EXPECT_THROW(allocate_sparsity(layers, 1.0, cost), Error);
}

TEST(Allocation, PerWeightPrunesTheHarmlessWideLayerFirstWhateverItsTime) {
  // The same layers: per ms, the slow layer a goes furthest; per weight, the harmless layer c with the
  // most weights (c: 0.001 per 600 weights at 0.3, a: 0.001 per 300), then a, part-way, to the exact
  // target; the damaging b stays dense.
  std::vector<LayerCurve> layers{
      {"a", 1000, {0.3, 0.5, 0.7}, {0.001, 0.002, 0.004}},
      {"b", 1000, {0.3, 0.5, 0.7}, {0.05, 0.10, 0.20}},
      {"c", 2000, {0.3, 0.5, 0.7}, {0.001, 0.002, 0.003}},
  };
  MeasuredDenseCostModel cost({{"a", 4.0}, {"b", 4.0}, {"c", 0.1}});
  const Allocation per_ms = allocate_sparsity(layers, 0.5, cost, AllocationObjective::kDamagePerMsSaved);
  const Allocation per_w = allocate_sparsity(layers, 0.5, cost, AllocationObjective::kDamagePerWeight);
  EXPECT_EQ(per_ms.steps.front().conv, "a");
  ASSERT_EQ(per_w.sparsity.size(), 3u);
  EXPECT_EQ(per_w.steps.front().conv, "c");
  EXPECT_DOUBLE_EQ(per_w.sparsity[2], 0.7);
  EXPECT_NEAR(per_w.sparsity[0], 0.6, 1e-12);
  EXPECT_DOUBLE_EQ(per_w.sparsity[1], 0.0);
  EXPECT_NEAR(per_w.global, 0.5, 1e-12);
  EXPECT_LT(per_w.predicted_damage, per_ms.predicted_damage);
}

// --- pruned, then quantized: the zeros stay exactly zero

// The levels of a layer are pruned side by side on the session's threads; the curves must not depend on
// it, and each damage call must see its own level's zeros (the graph holds the candidate while it runs).
TEST(Sensitivity, CurvesDoNotDependOnThreads) {
  const std::string bytes = small_model();
  const FrameFiller fill = correlated_frames();
  const std::vector<std::string> convs{"c0", "c1", "c2"};
  std::map<int, std::vector<LayerCurve>> curves_of;
  for (int threads : {1, 3}) {
    PrunableModel m = PrunableModel::from_bytes(bytes, "small");
    Graph g = load_onnx_bytes(bytes.data(), bytes.size(), "small");
    SensitivityOptions opt;
    opt.method = PruneMethod::kAdmm;
    opt.max_patches_per_frame = 64;
    opt.levels = sensitivity_levels(0.5);
    SessionOptions so;
    so.threads = threads;
    size_t calls = 0;
    // "Damage": the candidate's zero weights over every conv, which tells the levels apart exactly.
    auto damage = [&](const DamageCandidate& c) {
      const Graph& candidate = *c.graph;
      ++calls;
      double z = 0;
      for (const std::string& c : convs) {
        for (const Node& n : candidate.nodes)
          if (n.name == c)
            for (float w : candidate.values[n.inputs[1]].constant->as_float()) z += w == 0.0f;
      }
      return z;
    };
    curves_of[threads] = measure_layer_damage(m, g, convs, opt, so, 4, fill, damage);
    EXPECT_EQ(calls, convs.size() * opt.levels.size());
    for (const LayerCurve& c : curves_of[threads]) {
      ASSERT_EQ(c.damage.size(), opt.levels.size());
      for (size_t k = 1; k < c.damage.size(); ++k) EXPECT_GT(c.damage[k], c.damage[k - 1]) << c.conv;
    }
  }
  ASSERT_EQ(curves_of[1].size(), curves_of[3].size());
  for (size_t i = 0; i < curves_of[1].size(); ++i) EXPECT_EQ(curves_of[1][i].damage, curves_of[3][i].damage);
}

// The damage curves of `convs`, measured on whole candidates and on candidates cut at the float
// model's cached activations (DamageFrames, `kept` = the outputs the damage reads), with a "damage"
// that any difference in the outputs shows: a weighted sum of squares of `outputs` over the frames.
struct WholeAndCut {
  std::vector<LayerCurve> whole, cut;
  int cut_image_reads = 0, cut_feeds = 0;  // frames run with the image filled / with cached values in
  Graph cut_graph;                         // the graph the cut measure was given
};
WholeAndCut measure_whole_and_cut(const std::string& bytes, const std::vector<std::string>& convs,
                                  const std::vector<std::string>& outputs) {
  const FrameFiller fill = correlated_frames();
  SessionOptions so;
  so.threads = 2;
  so.kernels = KernelMode::kDense;
  SensitivityOptions opt;
  opt.method = PruneMethod::kObs;
  opt.max_patches_per_frame = 64;
  opt.levels = sensitivity_levels(0.5);
  constexpr size_t kFrames = 3;
  int image_reads = 0, feeds = 0;
  auto damage = [&](const DamageCandidate& c) {
    // The outputs' producers are in the graph, as a PoseModel needs the head's convs to find it.
    for (const std::string& name : outputs) {
      const int producer = c.graph->values[static_cast<size_t>(c.graph->find_value(name))].producer;
      EXPECT_TRUE(producer >= 0 && !c.graph->nodes[static_cast<size_t>(producer)].removed) << name << " is cut away";
    }
    SessionOptions s = so;
    s.nhwc_input = true;
    s.outputs = outputs;
    Session session(*c.graph, s);
    double sum = 0;
    for (size_t f = 0; f < kFrames; ++f) {
      if (c.reads_image) {
        fill(f, session.input_data(0));
        ++image_reads;
      }
      if (c.feed) c.feed(session, f);
      if (session.num_inputs() > 1) ++feeds;
      session.run();
      for (size_t o = 0; o < session.num_outputs(); ++o) {
        const float* y = session.output_data(o);
        for (int64_t i = 0; i < shape_numel(session.output_shape(o)); ++i) sum += double(y[i]) * y[i] * double(1 + i % 7);
      }
    }
    return sum;
  };
  PrunableModel m = PrunableModel::from_bytes(bytes, "model");
  WholeAndCut r;
  Graph whole_graph = load_onnx_bytes(bytes.data(), bytes.size(), "model");
  r.whole = measure_layer_damage(m, whole_graph, convs, opt, so, 4, fill, damage);
  EXPECT_EQ(image_reads, static_cast<int>(kFrames * convs.size() * opt.levels.size()));
  EXPECT_EQ(feeds, 0);
  image_reads = feeds = 0;
  DamageFrames frames;
  frames.count = kFrames;
  frames.fill = fill;
  frames.kept = outputs;
  r.cut_graph = load_onnx_bytes(bytes.data(), bytes.size(), "model");
  r.cut = measure_layer_damage(m, r.cut_graph, convs, opt, so, 4, fill, damage, {}, &frames);
  r.cut_image_reads = image_reads;
  r.cut_feeds = feeds;
  return r;
}

std::vector<float> conv_weights(const Graph& g, const std::string& conv) {
  for (const Node& n : g.nodes)
    if (n.name == conv) return g.values[static_cast<size_t>(n.inputs[1])].constant->as_float();
  return {};
}

// With the damage frames given, each candidate runs from the float model's cached activations, cut
// where it first differs; the damage function must see exactly the outputs the whole candidate gives
// (bitwise), for layers given out of model order, through a Split, a residual and a Concat.
TEST(Sensitivity, CutCandidatesGiveTheWholeModelsOutputs) {
  const std::string bytes = branchy_model();
  const std::vector<std::string> convs{"c2", "c0", "c1"};
  const WholeAndCut r = measure_whole_and_cut(bytes, convs, {"out", "side"});
  ASSERT_EQ(r.cut.size(), r.whole.size());
  for (size_t i = 0; i < r.cut.size(); ++i) {
    EXPECT_EQ(r.cut[i].conv, convs[i]);
    EXPECT_EQ(r.cut[i].damage, r.whole[i].damage) << r.cut[i].conv;
  }
  // Only c0's candidates (5 levels x 3 frames) read the image; c1's and c2's start from cached activations.
  EXPECT_EQ(r.cut_image_reads, 15);
  EXPECT_EQ(r.cut_feeds, 30);
  // The graph is left as given.
  const Graph fresh = load_onnx_bytes(bytes.data(), bytes.size(), "branchy");
  for (const std::string& c : convs) EXPECT_EQ(conv_weights(r.cut_graph, c), conv_weights(fresh, c)) << c;
}

// A kept output whose value a later conv's branch also reads (as the pose head's outputs feed the
// exported decode tail): the cut graphs must still compute it, from the cached input of its producer,
// not take it as a cached input (a PoseModel finds the head by its convs, so they must be there).
TEST(Sensitivity, CutCandidatesStillComputeKeptOutputs) {
  OnnxBuilder b(17);
  b.input("x", {1, 8, 12, 12});
  conv(b, "c0", "x", "y0", 8, 16, 3, 1, 100);
  silu(b, "y0", "a0");
  conv(b, "dw", "a0", "side", 16, 16, 3, 1, 400, 16);  // kept: final after c0, read after c1
  conv(b, "c1", "a0", "y1", 16, 16, 1, 1, 200);
  silu(b, "y1", "a1");
  b.node("Add", {"side", "a1"}, {"sum"}, "tail");
  b.output("sum");
  const std::vector<std::string> convs{"c0", "c1"};
  const WholeAndCut r = measure_whole_and_cut(b.bytes(), convs, {"side", "a1"});
  ASSERT_EQ(r.cut.size(), 2u);
  for (size_t i = 0; i < r.cut.size(); ++i) EXPECT_EQ(r.cut[i].damage, r.whole[i].damage) << r.cut[i].conv;
  EXPECT_EQ(r.cut_image_reads, 15);
  EXPECT_EQ(r.cut_feeds, 15);
}

TEST(PruneThenQuantize, PrunedWeightsStayExactlyZero) {
  const std::string bytes = small_model();
  PrunableModel m = PrunableModel::from_bytes(bytes, "small");
  for (const char* c : {"c0", "c1", "c2"}) {
    std::vector<float> w = m.matrix(c);
    magnitude_prune(w, m.conv(c).out_channels, m.conv(c).cols(), 0.6, {});
    m.set_matrix(c, w);
  }
  const std::string pruned = m.write("sparsepose.pruning", "{}");
  quant::QuantizableModel qm = quant::QuantizableModel::from_bytes(pruned, "pruned", {"out"});
  quant::RangeTable ranges;
  for (const auto& t : qm.observed_tensors()) ranges[t] = {-2.0f, 2.0f};
  const std::string q = qm.write(qm.plan({"c0", "c1", "c2"}), ranges, "{}");
  onnx::ModelProto mp;
  ASSERT_TRUE(mp.ParseFromString(q));
  int checked = 0;
  for (const char* c : {"c0", "c1", "c2"}) {
    const std::vector<float> w = m.onnx_weights(c);
    for (const auto& t : mp.graph().initializer()) {
      if (t.name() != std::string(c) + ".w_q") continue;
      ASSERT_EQ(t.data_type(), onnx::TensorProto::INT8);
      ASSERT_EQ(t.raw_data().size(), w.size());
      std::vector<int8_t> qv(w.size());
      std::memcpy(qv.data(), t.raw_data().data(), qv.size());
      for (size_t i = 0; i < w.size(); ++i) {
        if (w[i] == 0.0f) {
          EXPECT_EQ(qv[i], 0) << c << " " << i;
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 3);
  // The metadata of both steps survives.
  bool pruning = false, quantization = false;
  for (const auto& p : mp.metadata_props()) {
    pruning |= p.key() == "sparsepose.pruning";
    quantization |= p.key() == "sparsepose.quantization";
  }
  EXPECT_TRUE(pruning && quantization);
}

}  // namespace
}  // namespace sp::prune
