#include "core/prune/silu_refit.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.h"
#include "core/kernels/vector_f32/vector_ops_f32.h"

namespace sp::prune {

namespace {

using kernels::Activation;

// Fixed work splits, so that every sum (and the result) is the same for any thread count.
// Output channels refitted together: each Adam step streams the samples twice per block (forward and
// gradient), so a block as tall as its buffers allow reads them the fewest times. At 64 channels and
// 82k samples a block's targets and gradients are 21 MB each.
constexpr int64_t kBlockRows = 64;
constexpr int64_t kChunkPixels = 1024;  // samples per forward task
constexpr int64_t kSliceCols = 64;      // weight columns per gradient task

void run_tasks(ThreadPool* pool, int64_t tasks, FunctionRef<void(int64_t)> fn) {
  if (pool) {
    pool->parallel_for_rethrowing(tasks, fn);  // a task may throw std::bad_alloc
  } else {
    for (int64_t t = 0; t < tasks; ++t) fn(t);
  }
}

// One block of m output channels with k weights each, over n samples. The samples are k x n
// column-major, which is n x k row-major: the matmuls read them as they lie.
class BlockRefit {
 public:
  BlockRefit(int64_t m, int64_t k, int64_t n, const float* x, Isa isa, ThreadPool* pool)
      : m_(m), k_(k), n_(n), chunks_((n + kChunkPixels - 1) / kChunkPixels), x_(x), isa_(isa), pool_(pool),
        wt_(static_cast<size_t>(k * m)), y_(static_cast<size_t>(n * m)), dt_(static_cast<size_t>(m * n)),
        chunk_sums_(static_cast<size_t>(chunks_ * m)) {}

  // The target SiLU(W0 r + b0) of every sample, and each channel's RMS pre-activation W0 r over them.
  std::vector<double> set_target(const float* w0, const float* b0, const float* r) {
    transpose_weights(w0);
    run_tasks(pool_, chunks_, [&](int64_t c) {
      const int64_t j0 = c * kChunkPixels, cp = std::min(kChunkPixels, n_ - j0);
      float* y = y_.data() + j0 * m_;
      kernels::matmul_f32(r + j0 * k_, k_, wt_.data(), m_, y, m_, cp, m_, k_, isa_);
      double* ss = chunk_sums_.data() + c * m_;
      std::fill(ss, ss + m_, 0.0);
      for (int64_t j = 0; j < cp; ++j) {
        for (int64_t o = 0; o < m_; ++o) ss[o] += double(y[j * m_ + o]) * y[j * m_ + o];
      }
      kernels::binary_row_broadcast_f32(kernels::BinaryOp::kAdd, y, m_, b0, y, m_, cp, m_, isa_);
      kernels::activation_f32(Activation::kSilu, y, m_, y, m_, cp, m_, isa_);
    });
    std::vector<double> rms = per_channel_sums();
    for (double& v : rms) v = std::sqrt(v / static_cast<double>(n_));
    return rms;
  }

  // Each channel's summed squared SiLU error at (w, b); leaves dE/dz (x 1/2) in dt_, channel-major.
  std::vector<double> forward(const float* w, const float* b) {
    transpose_weights(w);
    run_tasks(pool_, chunks_, [&](int64_t c) {
      const int64_t j0 = c * kChunkPixels, cp = std::min(kChunkPixels, n_ - j0);
      std::vector<float> z(static_cast<size_t>(cp * m_)), s(z.size());
      kernels::matmul_f32(x_ + j0 * k_, k_, wt_.data(), m_, z.data(), m_, cp, m_, k_, isa_);
      kernels::binary_row_broadcast_f32(kernels::BinaryOp::kAdd, z.data(), m_, b, z.data(), m_, cp, m_, isa_);
      kernels::activation_f32(Activation::kSigmoid, z.data(), m_, s.data(), m_, cp, m_, isa_);
      const float* y = y_.data() + j0 * m_;
      double* loss = chunk_sums_.data() + c * m_;
      std::fill(loss, loss + m_, 0.0);
      for (int64_t j = 0; j < cp; ++j) {
        for (int64_t o = 0; o < m_; ++o) {
          const size_t i = static_cast<size_t>(j * m_ + o);
          const float zv = z[i], sv = s[i];
          const float e = zv * sv - y[i];
          loss[o] += double(e) * e;
          dt_[static_cast<size_t>(o * n_ + j0 + j)] = e * sv * (1.0f + zv * (1.0f - sv));  // error x SiLU'(z)
        }
      }
    });
    return per_channel_sums();
  }

  // The gradient (x 1/2) of the last forward(): gw (m x k row-major) and gb (m).
  void gradient(float* gw, float* gb) {
    const int64_t slices = (k_ + kSliceCols - 1) / kSliceCols;
    run_tasks(pool_, slices, [&](int64_t t) {
      const int64_t c0 = t * kSliceCols, w = std::min(kSliceCols, k_ - c0);
      kernels::matmul_f32(dt_.data(), n_, x_ + c0, k_, gw + c0, k_, m_, w, n_, isa_);
    });
    for (int64_t o = 0; o < m_; ++o) {
      double sum = 0;
      const float* d = dt_.data() + o * n_;
      for (int64_t j = 0; j < n_; ++j) sum += d[j];
      gb[o] = static_cast<float>(sum);
    }
  }

 private:
  // The m rows of k weights as k x m: the layout change the engine has for NHWC -> NCHW.
  void transpose_weights(const float* w) { kernels::nhwc_to_nchw_f32(w, static_cast<int>(k_), m_, k_, wt_.data(), isa_); }
  // chunk_sums_ totalled per channel over the chunks, in chunk order.
  std::vector<double> per_channel_sums() const {
    std::vector<double> out(static_cast<size_t>(m_), 0.0);
    for (int64_t c = 0; c < chunks_; ++c) {
      for (int64_t o = 0; o < m_; ++o) out[static_cast<size_t>(o)] += chunk_sums_[static_cast<size_t>(c * m_ + o)];
    }
    return out;
  }

  const int64_t m_, k_, n_, chunks_;
  const float* x_;
  const Isa isa_;
  ThreadPool* pool_;
  std::vector<float> wt_;   // the weights, k x m row-major (the forward matmul's right side)
  std::vector<float> y_;    // targets, n x m row-major
  std::vector<float> dt_;   // dE/dz, m x n row-major (the gradient matmul's left side)
  std::vector<double> chunk_sums_;  // chunks x m: squared pre-activations (set_target) or errors (forward)
};

struct BlockResult {
  double before = 0, after = 0;  // summed squared errors
};

// Channels [r0, r0 + m) of the layer: full-batch Adam on (w, bias), each channel keeping its best iterate.
BlockResult refit_block(float* w, float* bias, const float* w0, const float* b0, int64_t m, int64_t k, int64_t n,
                        const float* x, const float* r, const SiluRefitOptions& opt, Isa isa, ThreadPool* pool) {
  BlockRefit block(m, k, n, x, isa, pool);
  const std::vector<double> pre_rms = block.set_target(w0, b0, r);
  std::vector<float> w_step(static_cast<size_t>(m)), b_step(static_cast<size_t>(m));
  for (int64_t o = 0; o < m; ++o) {
    double ss = 0;
    for (int64_t c = 0; c < k; ++c) ss += double(w0[o * k + c]) * w0[o * k + c];
    w_step[static_cast<size_t>(o)] = static_cast<float>(opt.step * std::sqrt(ss / static_cast<double>(k)));
    b_step[static_cast<size_t>(o)] = static_cast<float>(opt.step * pre_rms[static_cast<size_t>(o)]);
  }
  const size_t mk = static_cast<size_t>(m * k);
  std::vector<uint8_t> kept(mk);
  for (size_t i = 0; i < mk; ++i) kept[i] = w[i] != 0.0f;
  std::vector<float> mw(mk, 0.0f), vw(mk, 0.0f), gw(mk), best_w(w, w + mk);
  std::vector<float> mb(static_cast<size_t>(m), 0.0f), vb(mb), gb(mb), best_b(bias, bias + m);
  std::vector<double> best(static_cast<size_t>(m), -1.0);
  BlockResult res;
  constexpr float kBeta1 = 0.9f, kBeta2 = 0.999f, kEps = 1e-12f;
  for (int it = 0; it <= opt.iterations; ++it) {
    const std::vector<double> loss = block.forward(w, bias);
    for (int64_t o = 0; o < m; ++o) {
      const size_t oi = static_cast<size_t>(o);
      if (it == 0) res.before += loss[oi];
      if (best[oi] < 0 || loss[oi] < best[oi]) {
        best[oi] = loss[oi];
        std::copy(w + o * k, w + (o + 1) * k, best_w.begin() + o * k);
        best_b[oi] = bias[o];
      }
    }
    if (it == opt.iterations) break;
    block.gradient(gw.data(), gb.data());
    const float t = static_cast<float>(it + 1);
    const float c1 = 1.0f - std::pow(kBeta1, t), c2 = 1.0f - std::pow(kBeta2, t);
    for (int64_t o = 0; o < m; ++o) {
      const float step = w_step[static_cast<size_t>(o)];
      for (int64_t c = 0; c < k; ++c) {
        const size_t i = static_cast<size_t>(o * k + c);
        if (!kept[i]) continue;  // a pruned weight stays exactly zero
        mw[i] = kBeta1 * mw[i] + (1 - kBeta1) * gw[i];
        vw[i] = kBeta2 * vw[i] + (1 - kBeta2) * gw[i] * gw[i];
        w[i] -= step * (mw[i] / c1) / (std::sqrt(vw[i] / c2) + kEps);
      }
      const size_t oi = static_cast<size_t>(o);
      mb[oi] = kBeta1 * mb[oi] + (1 - kBeta1) * gb[oi];
      vb[oi] = kBeta2 * vb[oi] + (1 - kBeta2) * gb[oi] * gb[oi];
      bias[o] -= b_step[oi] * (mb[oi] / c1) / (std::sqrt(vb[oi] / c2) + kEps);
    }
  }
  std::copy(best_w.begin(), best_w.end(), w);
  std::copy(best_b.begin(), best_b.end(), bias);
  for (double l : best) res.after += l;
  return res;
}

}  // namespace

SiluRefitResult silu_refit(std::span<float> w, std::span<float> bias, int64_t rows, std::span<const float> w0,
                           std::span<const float> b0, std::span<const float> x, std::span<const float> r, int64_t n,
                           const SiluRefitOptions& opt, ThreadPool* pool, Isa isa) {
  if (rows <= 0 || n <= 0 || w.size() % static_cast<size_t>(rows) != 0) throw Error("silu refit: bad shapes");
  const int64_t k = static_cast<int64_t>(w.size()) / rows;
  if (w0.size() != w.size() || bias.size() != static_cast<size_t>(rows) || b0.size() != bias.size() ||
      x.size() != static_cast<size_t>(k * n) || r.size() != x.size()) {
    throw Error("silu refit: bad shapes");
  }
  SiluRefitResult res;
  for (int64_t r0 = 0; r0 < rows; r0 += kBlockRows) {
    const int64_t m = std::min(kBlockRows, rows - r0);
    const BlockResult p = refit_block(w.data() + r0 * k, bias.data() + r0, w0.data() + r0 * k, b0.data() + r0, m, k,
                                      n, x.data(), r.data(), opt, isa, pool);
    res.error_before += p.before;
    res.error_after += p.after;
  }
  const double count = static_cast<double>(rows) * static_cast<double>(n);
  res.error_before /= count;
  res.error_after /= count;
  return res;
}

}  // namespace sp::prune
