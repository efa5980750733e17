// COCOeval, transcribed in semantics (not in code) from pycocotools' cocoeval.py, coco.py (loadRes) and
// maskApi.c (bbIou). The comments name the pycocotools step each part reproduces.
#include "models/coco_eval.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "core/error.h"

namespace sp::models::coco {
namespace {

// np.spacing(1): the gap between 1.0 and the next double.
constexpr double kSpacing1 = std::numeric_limits<double>::epsilon();

// numpy.linspace(start, stop, num): y[i] = i * step + start (two roundings, never fused), y[-1] = stop.
std::vector<double> numpy_linspace(double start, double stop, int num) {
  std::vector<double> y(static_cast<std::size_t>(num));
  if (num == 1) {
    y[0] = start;
    return y;
  }
  const double step = (stop - start) / static_cast<double>(num - 1);
  for (int i = 0; i < num; ++i) {
    volatile double prod = static_cast<double>(i) * step;  // volatile: keep the product rounded on its own
    y[static_cast<std::size_t>(i)] = prod + start;
  }
  y.back() = stop;
  return y;
}

// numpy's float64 add.reduce: pairwise summation with 8 accumulators in blocks of up to 128.
double numpy_pairwise_sum(const double* a, std::size_t n) {
  if (n < 8) {
    double res = 0.0;
    for (std::size_t i = 0; i < n; ++i) res += a[i];
    return res;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    std::size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + static_cast<std::size_t>(j)];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  std::size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

// Order of np.argsort(-score, kind='mergesort'): descending score, ties in input order, NaN last.
bool score_before(double a, double b) {
  if (std::isnan(a)) return false;
  if (std::isnan(b)) return true;
  return -a < -b;
}

void stable_sort_by_score(std::vector<std::size_t>& idx, const std::vector<double>& score_of) {
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t x, std::size_t y) { return score_before(score_of[x], score_of[y]); });
}

// A detection as loadRes leaves it.
struct Det {
  std::int64_t id = 0;  // position in the results + 1
  double score = 0.0;
  double area = 0.0;
  std::array<double, 4> bbox{};
  const std::vector<double>* keypoints = nullptr;
};

// loadRes: area and bbox of each result, decided by the first result.
std::vector<Det> prepare_detections(std::span<const CocoResult> results) {
  std::vector<Det> dets(results.size());
  if (results.empty()) return dets;
  const bool bbox_mode = results[0].bbox.has_value();
  for (std::size_t i = 0; i < results.size(); ++i) {
    const CocoResult& r = results[i];
    Det& d = dets[i];
    d.id = static_cast<std::int64_t>(i) + 1;
    d.score = r.score;
    d.keypoints = &r.keypoints;
    if (bbox_mode) {
      if (!r.bbox)
        throw Error("COCO results: result " + std::to_string(i) + " has no bbox (the first result has one)");
      d.bbox = *r.bbox;
      d.area = d.bbox[2] * d.bbox[3];
    } else {
      if (r.keypoints.size() < 3)
        throw Error("COCO results: result " + std::to_string(i) + " has neither bbox nor keypoints");
      double x0 = r.keypoints[0], x1 = x0, y0 = r.keypoints[1], y1 = y0;
      for (std::size_t k = 0; k + 2 < r.keypoints.size(); k += 3) {
        x0 = std::min(x0, r.keypoints[k]);
        x1 = std::max(x1, r.keypoints[k]);
        y0 = std::min(y0, r.keypoints[k + 1]);
        y1 = std::max(y1, r.keypoints[k + 1]);
      }
      d.area = (x1 - x0) * (y1 - y0);
      d.bbox = {x0, y0, x1 - x0, y1 - y0};
    }
  }
  return dets;
}

// maskApi.c bbIou for one pair; a crowd ground truth's union is the detection's area.
double bbox_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  const double ga = g[2] * g[3];
  const double da = d[2] * d[3];
  const double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0.0;
  const double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0.0;
  const double i = w * h;
  const double u = crowd ? da : da + ga - i;
  return i / u;
}

// One evaluateImg() result (only what accumulate() reads).
struct EvalImg {
  std::size_t num_dt = 0;
  std::vector<double> scores;        // D, sorted
  std::vector<std::uint8_t> matched;  // T x D: dtMatches != 0
  std::vector<std::uint8_t> ignored;  // T x D: dtIgnore
  std::size_t num_gt_not_ignored = 0;
};

struct Index {
  std::vector<std::int64_t> ids;  // sorted unique
  std::optional<std::size_t> find(std::int64_t id) const {
    auto it = std::lower_bound(ids.begin(), ids.end(), id);
    if (it == ids.end() || *it != id) return std::nullopt;
    return static_cast<std::size_t>(it - ids.begin());
  }
};

Index make_index(std::vector<std::int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  return Index{std::move(ids)};
}

class Evaluator {
 public:
  Evaluator(const CocoDataset& gt, std::span<const CocoResult> results, const CocoEvalParams& params)
      : gt_(gt), p_(params), results_(results) {
    validate_params();
    std::vector<std::int64_t> img_ids, cat_ids;
    for (const CocoImage& im : gt.images) img_ids.push_back(im.id);
    for (const CocoCategory& c : gt.categories) cat_ids.push_back(c.id);
    const Index all_imgs = make_index(std::move(img_ids));
    imgs_ = p_.img_ids.empty() ? all_imgs : make_index(p_.img_ids);
    cats_ = make_index(std::move(cat_ids));
    // loadRes asserts every result names an image of the annotations.
    for (std::size_t i = 0; i < results.size(); ++i)
      if (!all_imgs.find(results[i].image_id))
        throw Error("COCO results: result " + std::to_string(i) + " has image_id " +
                    std::to_string(results[i].image_id) + ", which is not an image of the annotations");
    dets_ = prepare_detections(results);
  }

  CocoEvalOutput run() {
    prepare();
    evaluate();
    CocoEvalOutput out;
    out.params = p_;
    out.img_ids = imgs_.ids;
    out.cat_ids = cats_.ids;
    accumulate(out);
    return out;
  }

 private:
  std::size_t I() const { return imgs_.ids.size(); }
  std::size_t K() const { return cats_.ids.size(); }
  std::size_t T() const { return p_.iou_thrs.size(); }
  std::size_t A() const { return p_.area_rng.size(); }
  std::size_t M() const { return p_.max_dets.size(); }
  bool keypoints() const { return p_.iou_type == IouType::kKeypoints; }

  void validate_params() {
    if (p_.iou_thrs.empty() || p_.rec_thrs.empty() || p_.area_rng.empty() || p_.max_dets.empty())
      throw Error("COCO eval: params need IoU thresholds, recall thresholds, area ranges and maxDets");
    if (p_.area_rng_lbl.size() != p_.area_rng.size())
      throw Error("COCO eval: params need one label per area range");
    std::sort(p_.max_dets.begin(), p_.max_dets.end());  // evaluate(): p.maxDets = sorted(p.maxDets)
    if (p_.max_dets.front() < 0) throw Error("COCO eval: maxDets must not be negative");
    if (keypoints() && p_.kpt_oks_sigmas.empty()) throw Error("COCO eval: keypoints evaluation needs OKS sigmas");
  }

  // _prepare(): group ground truth and detections per (image, category), in file order; set ignore.
  void prepare() {
    gts_.assign(I() * K(), {});
    dts_.assign(I() * K(), {});
    gt_ignore_.assign(gt_.annotations.size(), 0);
    const std::size_t nk = p_.kpt_oks_sigmas.size() * 3;
    for (std::size_t a = 0; a < gt_.annotations.size(); ++a) {
      const CocoAnnotation& g = gt_.annotations[a];
      auto i = imgs_.find(g.image_id);
      auto k = cats_.find(g.category_id);
      if (!i || !k) continue;
      if (keypoints() && !g.keypoints.empty() && g.keypoints.size() != nk)
        throw Error("COCO eval: annotation id " + std::to_string(g.id) + " has " + std::to_string(g.keypoints.size()) +
                    " keypoint values, expected " + std::to_string(nk));
      gt_ignore_[a] = g.iscrowd || (keypoints() && g.num_keypoints == 0);
      gts_[*k * I() + *i].push_back(a);
    }
    for (std::size_t d = 0; d < dets_.size(); ++d) {
      const CocoResult& r = results_[d];
      auto i = imgs_.find(r.image_id);
      auto k = cats_.find(r.category_id);
      if (!i || !k) continue;
      if (keypoints() && r.keypoints.size() != nk)
        throw Error("COCO eval: result " + std::to_string(d) + " has " + std::to_string(r.keypoints.size()) +
                    " keypoint values, expected " + std::to_string(nk));
      dts_[*k * I() + *i].push_back(d);
    }
  }

  // computeOks() for one detection against one ground truth.
  double oks(const Det& dt, const CocoAnnotation& g) const {
    const std::size_t n = p_.kpt_oks_sigmas.size();
    const std::vector<double>& dk = *dt.keypoints;
    const bool has_gk = !g.keypoints.empty();
    int k1 = 0;
    if (has_gk)
      for (std::size_t j = 0; j < n; ++j) k1 += g.keypoints[3 * j + 2] > 0 ? 1 : 0;
    const double x0 = g.bbox[0] - g.bbox[2], x1 = g.bbox[0] + g.bbox[2] * 2;
    const double y0 = g.bbox[1] - g.bbox[3], y1 = g.bbox[1] + g.bbox[3] * 2;
    const double scale = g.area + kSpacing1;
    double vals[64];
    std::vector<double> big;
    double* e = vals;
    if (n > 64) {
      big.resize(n);
      e = big.data();
    }
    std::size_t cnt = 0;
    for (std::size_t j = 0; j < n; ++j) {
      const double xd = dk[3 * j], yd = dk[3 * j + 1];
      double dx, dy;
      if (k1 > 0) {
        if (!(g.keypoints[3 * j + 2] > 0)) continue;  // e = e[vg > 0]
        dx = xd - g.keypoints[3 * j];
        dy = yd - g.keypoints[3 * j + 1];
      } else {
        dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
        dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
      }
      volatile double dx2 = dx * dx;  // numpy rounds each square on its own
      volatile double dy2 = dy * dy;
      const double ej = (dx2 + dy2) / vars_[j] / scale / 2;
      e[cnt++] = std::exp(-ej);
    }
    return numpy_pairwise_sum(e, cnt) / static_cast<double>(cnt);
  }

  // evaluate(): computeIoU/computeOks per (image, category), then evaluateImg per area range.
  void evaluate() {
    vars_.resize(p_.kpt_oks_sigmas.size());
    for (std::size_t j = 0; j < vars_.size(); ++j) {
      const double s2 = p_.kpt_oks_sigmas[j] * 2;
      vars_[j] = s2 * s2;
    }
    const std::size_t max_det = static_cast<std::size_t>(p_.max_dets.back());
    eval_imgs_.assign(K() * A() * I(), std::nullopt);
    std::vector<double> score_of(dets_.size());
    for (std::size_t d = 0; d < dets_.size(); ++d) score_of[d] = dets_[d].score;

    std::vector<double> ious;
    std::vector<std::size_t> dt;
    std::vector<std::uint8_t> g_ig;
    std::vector<std::size_t> gtind;
    std::vector<std::uint8_t> gtm;
    for (std::size_t k = 0; k < K(); ++k) {
      for (std::size_t i = 0; i < I(); ++i) {
        const std::vector<std::size_t>& gs = gts_[k * I() + i];
        const std::vector<std::size_t>& ds = dts_[k * I() + i];
        if (gs.empty() && ds.empty()) continue;  // evaluateImg returns None
        dt = ds;
        stable_sort_by_score(dt, score_of);
        if (dt.size() > max_det) dt.resize(max_det);
        const std::size_t D = dt.size(), G = gs.size();
        // ious[d][g], ground truth in file order; empty when either side is.
        ious.assign(D * G, 0.0);
        for (std::size_t di = 0; di < D; ++di)
          for (std::size_t gi = 0; gi < G; ++gi) {
            const CocoAnnotation& g = gt_.annotations[gs[gi]];
            const Det& det = dets_[dt[di]];
            ious[di * G + gi] = keypoints() ? oks(det, g) : bbox_iou(det.bbox, g.bbox, g.iscrowd);
          }
        for (std::size_t a = 0; a < A(); ++a) {
          const double lo = p_.area_rng[a][0], hi = p_.area_rng[a][1];
          // _ignore, then ground truth sorted with ignored last (stable).
          g_ig.resize(G);
          for (std::size_t gi = 0; gi < G; ++gi) {
            const CocoAnnotation& g = gt_.annotations[gs[gi]];
            g_ig[gi] = gt_ignore_[gs[gi]] || g.area < lo || g.area > hi;
          }
          gtind.resize(G);
          std::iota(gtind.begin(), gtind.end(), std::size_t{0});
          std::stable_sort(gtind.begin(), gtind.end(), [&](std::size_t x, std::size_t y) { return g_ig[x] < g_ig[y]; });

          EvalImg e;
          e.num_dt = D;
          e.scores.resize(D);
          for (std::size_t di = 0; di < D; ++di) e.scores[di] = dets_[dt[di]].score;
          e.matched.assign(T() * D, 0);
          e.ignored.assign(T() * D, 0);
          for (std::size_t gi = 0; gi < G; ++gi) e.num_gt_not_ignored += g_ig[gi] ? 0 : 1;
          if (D > 0 && G > 0) {
            for (std::size_t t = 0; t < T(); ++t) {
              gtm.assign(G, 0);
              for (std::size_t di = 0; di < D; ++di) {
                double iou = std::min(p_.iou_thrs[t], 1 - 1e-10);
                std::ptrdiff_t m = -1;
                for (std::size_t gs_i = 0; gs_i < G; ++gs_i) {
                  const std::size_t gi = gtind[gs_i];
                  const bool crowd = gt_.annotations[gs[gi]].iscrowd;
                  if (gtm[gs_i] && !crowd) continue;
                  if (m > -1 && !g_ig[gtind[static_cast<std::size_t>(m)]] && g_ig[gi]) break;
                  const double v = ious[di * G + gi];
                  if (v < iou) continue;
                  iou = v;
                  m = static_cast<std::ptrdiff_t>(gs_i);
                }
                if (m == -1) continue;
                const std::size_t gm = gtind[static_cast<std::size_t>(m)];
                e.ignored[t * D + di] = g_ig[gm];
                // dtMatches holds the ground truth's id: an id of 0 reads as "no match" later.
                e.matched[t * D + di] = gt_.annotations[gs[gm]].id != 0;
                gtm[static_cast<std::size_t>(m)] = 1;  // gtMatches holds the detection id, always >= 1
              }
            }
          }
          // Unmatched detections outside the area range are ignored.
          for (std::size_t di = 0; di < D; ++di) {
            const double area = dets_[dt[di]].area;
            if (!(area < lo || area > hi)) continue;
            for (std::size_t t = 0; t < T(); ++t)
              if (!e.matched[t * D + di]) e.ignored[t * D + di] = 1;
          }
          eval_imgs_[(k * A() + a) * I() + i] = std::move(e);
        }
      }
    }
  }

  // accumulate()
  void accumulate(CocoEvalOutput& out) const {
    const std::size_t nT = T(), nR = p_.rec_thrs.size(), nK = K(), nA = A(), nM = M();
    out.precision.assign(nT * nR * nK * nA * nM, -1.0);
    out.recall.assign(nT * nK * nA * nM, -1.0);
    std::vector<double> scores;
    std::vector<std::uint8_t> matched, ignored;
    std::vector<std::size_t> inds;
    std::vector<double> rc, pr;
    for (std::size_t k = 0; k < nK; ++k) {
      for (std::size_t a = 0; a < nA; ++a) {
        for (std::size_t m = 0; m < nM; ++m) {
          const std::size_t max_det = static_cast<std::size_t>(p_.max_dets[m]);
          scores.clear();
          std::vector<const EvalImg*> E;
          std::size_t npig = 0;
          for (std::size_t i = 0; i < I(); ++i) {
            const auto& e = eval_imgs_[(k * nA + a) * I() + i];
            if (!e) continue;
            E.push_back(&*e);
            npig += e->num_gt_not_ignored;
            const std::size_t n = std::min(max_det, e->num_dt);
            scores.insert(scores.end(), e->scores.begin(), e->scores.begin() + static_cast<std::ptrdiff_t>(n));
          }
          if (E.empty() || npig == 0) continue;
          const std::size_t nd = scores.size();
          // Flags of the concatenation, T x nd.
          matched.assign(nT * nd, 0);
          ignored.assign(nT * nd, 0);
          std::size_t col = 0;
          for (const EvalImg* e : E) {
            const std::size_t n = std::min(max_det, e->num_dt);
            for (std::size_t t = 0; t < nT; ++t)
              for (std::size_t j = 0; j < n; ++j) {
                matched[t * nd + col + j] = e->matched[t * e->num_dt + j];
                ignored[t * nd + col + j] = e->ignored[t * e->num_dt + j];
              }
            col += n;
          }
          inds.resize(nd);
          std::iota(inds.begin(), inds.end(), std::size_t{0});
          stable_sort_by_score(inds, scores);
          rc.resize(nd);
          pr.resize(nd);
          for (std::size_t t = 0; t < nT; ++t) {
            double tp = 0, fp = 0;
            for (std::size_t j = 0; j < nd; ++j) {
              const std::size_t c = inds[j];
              const bool ig = ignored[t * nd + c];
              const bool mt = matched[t * nd + c];
              if (mt && !ig) tp += 1;
              if (!mt && !ig) fp += 1;
              rc[j] = tp / static_cast<double>(npig);
              pr[j] = tp / (fp + tp + kSpacing1);
            }
            out.recall[((t * nK + k) * nA + a) * nM + m] = nd ? rc[nd - 1] : 0.0;
            for (std::size_t j = nd; j-- > 1;)
              if (pr[j] > pr[j - 1]) pr[j - 1] = pr[j];
            for (std::size_t r = 0; r < nR; ++r) {
              // np.searchsorted(rc, recThrs, side='left'); past the end the rest stay 0.
              const std::size_t pi =
                  static_cast<std::size_t>(std::lower_bound(rc.begin(), rc.end(), p_.rec_thrs[r]) - rc.begin());
              const double q = pi < nd ? pr[pi] : 0.0;
              out.precision[(((t * nR + r) * nK + k) * nA + a) * nM + m] = q;
            }
            // (pycocotools stops filling at the first recall threshold past the end; since searchsorted
            // is monotone every later one is past the end too, so all of them are 0.)
          }
        }
      }
    }
  }

  const CocoDataset& gt_;
  CocoEvalParams p_;
  std::span<const CocoResult> results_;
  Index imgs_, cats_;
  std::vector<Det> dets_;
  std::vector<std::uint8_t> gt_ignore_;
  std::vector<std::vector<std::size_t>> gts_, dts_;  // [k * I + i] -> annotation / result indices
  std::vector<double> vars_;
  std::vector<std::optional<EvalImg>> eval_imgs_;  // [(k * A + a) * I + i]
};

// summarize()._summarize: mean of the entries > -1 of the selected slice, -1 when there is none.
double summarize_one(const CocoEvalOutput& o, bool ap, double iou_thr, const std::string& area, int max_dets) {
  const CocoEvalParams& p = o.params;
  std::vector<std::size_t> tind, aind, mind;
  for (std::size_t t = 0; t < p.iou_thrs.size(); ++t)
    if (iou_thr < 0 || p.iou_thrs[t] == iou_thr) tind.push_back(t);
  for (std::size_t a = 0; a < p.area_rng_lbl.size(); ++a)
    if (p.area_rng_lbl[a] == area) aind.push_back(a);
  for (std::size_t m = 0; m < p.max_dets.size(); ++m)
    if (p.max_dets[m] == max_dets) mind.push_back(m);
  // s[..., aind, mind]: numpy pairs the two index lists, broadcasting a single one.
  std::vector<std::pair<std::size_t, std::size_t>> am;
  if (!aind.empty() && !mind.empty()) {
    if (aind.size() != mind.size() && aind.size() != 1 && mind.size() != 1)
      throw Error("COCO eval: ambiguous area labels / maxDets in params");
    const std::size_t n = std::max(aind.size(), mind.size());
    for (std::size_t j = 0; j < n; ++j)
      am.emplace_back(aind[aind.size() == 1 ? 0 : j], mind[mind.size() == 1 ? 0 : j]);
  }
  const std::size_t nR = p.rec_thrs.size(), nK = o.cat_ids.size(), nA = p.area_rng.size(), nM = p.max_dets.size();
  std::vector<double> s;
  for (std::size_t t : tind) {
    if (ap) {
      for (std::size_t r = 0; r < nR; ++r)
        for (std::size_t k = 0; k < nK; ++k)
          for (auto [a, m] : am) s.push_back(o.precision[(((t * nR + r) * nK + k) * nA + a) * nM + m]);
    } else {
      for (std::size_t k = 0; k < nK; ++k)
        for (auto [a, m] : am) s.push_back(o.recall[((t * nK + k) * nA + a) * nM + m]);
    }
  }
  std::vector<double> kept;
  kept.reserve(s.size());
  for (double v : s)
    if (v > -1) kept.push_back(v);
  if (kept.empty()) return -1.0;
  return numpy_pairwise_sum(kept.data(), kept.size()) / static_cast<double>(kept.size());
}

CocoSummary summarize(const CocoEvalOutput& o) {
  const CocoEvalParams& p = o.params;
  CocoSummary s;
  s.iou_type = p.iou_type;
  auto add = [&](const char* name, bool ap, double thr, const char* area, int md) {
    CocoStat st;
    st.name = name;
    st.is_ap = ap;
    st.iou_thr = thr;
    st.area = area;
    st.max_dets = md;
    st.value = summarize_one(o, ap, thr, area, md);
    s.stats.push_back(st);
    return st.value;
  };
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (p.iou_type == IouType::kKeypoints) {
    s.ap = add("AP", true, -1, "all", 20);
    s.ap50 = add("AP50", true, .5, "all", 20);
    s.ap75 = add("AP75", true, .75, "all", 20);
    s.ap_small = nan;
    s.ap_medium = add("AP_M", true, -1, "medium", 20);
    s.ap_large = add("AP_L", true, -1, "large", 20);
    s.ar = add("AR", false, -1, "all", 20);
    s.ar50 = add("AR50", false, .5, "all", 20);
    s.ar75 = add("AR75", false, .75, "all", 20);
    s.ar1 = s.ar10 = s.ar100 = nan;
    s.ar_small = nan;
    s.ar_medium = add("AR_M", false, -1, "medium", 20);
    s.ar_large = add("AR_L", false, -1, "large", 20);
  } else {
    if (p.max_dets.size() < 3) throw Error("COCO eval: the bbox summary needs 3 maxDets");
    const int m0 = p.max_dets[0], m1 = p.max_dets[1], m2 = p.max_dets[2];
    s.ap = add("AP", true, -1, "all", m2);
    s.ap50 = add("AP50", true, .5, "all", m2);
    s.ap75 = add("AP75", true, .75, "all", m2);
    s.ap_small = add("AP_S", true, -1, "small", m2);
    s.ap_medium = add("AP_M", true, -1, "medium", m2);
    s.ap_large = add("AP_L", true, -1, "large", m2);
    s.ar1 = add("AR1", false, -1, "all", m0);
    s.ar10 = add("AR10", false, -1, "all", m1);
    s.ar100 = add("AR100", false, -1, "all", m2);
    s.ar = s.ar100;
    s.ar50 = s.ar75 = nan;
    s.ar_small = add("AR_S", false, -1, "small", m2);
    s.ar_medium = add("AR_M", false, -1, "medium", m2);
    s.ar_large = add("AR_L", false, -1, "large", m2);
  }
  return s;
}

}  // namespace

const char* iou_type_name(IouType type) { return type == IouType::kKeypoints ? "keypoints" : "bbox"; }

CocoEvalParams CocoEvalParams::defaults(IouType type) {
  CocoEvalParams p;
  p.iou_type = type;
  p.iou_thrs = numpy_linspace(.5, 0.95, 10);
  p.rec_thrs = numpy_linspace(.0, 1.00, 101);
  const double big = 1e5 * 1e5;  // 1e5 ** 2
  if (type == IouType::kKeypoints) {
    p.area_rng = {{0, big}, {32 * 32, 96 * 96}, {96 * 96, big}};
    p.area_rng_lbl = {"all", "medium", "large"};
    p.max_dets = {20};
    for (double s : {.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89})
      p.kpt_oks_sigmas.push_back(s / 10.0);
  } else {
    p.area_rng = {{0, big}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, big}};
    p.area_rng_lbl = {"all", "small", "medium", "large"};
    p.max_dets = {1, 10, 100};
  }
  return p;
}

double CocoSummary::get(std::string_view name) const {
  for (const CocoStat& s : stats)
    if (s.name == name) return s.value;
  throw Error("COCO summary (" + std::string(iou_type_name(iou_type)) + ") has no stat '" + std::string(name) + "'");
}

std::vector<std::pair<std::string, double>> CocoSummary::items() const {
  std::vector<std::pair<std::string, double>> out;
  out.reserve(stats.size());
  for (const CocoStat& s : stats) out.emplace_back(s.name, s.value);
  return out;
}

double CocoEvalOutput::precision_at(std::size_t t, std::size_t r, std::size_t k, std::size_t a, std::size_t m) const {
  const std::size_t nR = params.rec_thrs.size(), nK = cat_ids.size(), nA = params.area_rng.size(),
                    nM = params.max_dets.size();
  return precision.at((((t * nR + r) * nK + k) * nA + a) * nM + m);
}

double CocoEvalOutput::recall_at(std::size_t t, std::size_t k, std::size_t a, std::size_t m) const {
  const std::size_t nK = cat_ids.size(), nA = params.area_rng.size(), nM = params.max_dets.size();
  return recall.at(((t * nK + k) * nA + a) * nM + m);
}

CocoEvalOutput run_coco_eval(const CocoDataset& gt, std::span<const CocoResult> results, const CocoEvalParams& params) {
  Evaluator ev(gt, results, params);
  CocoEvalOutput out = ev.run();
  out.summary = summarize(out);
  return out;
}

CocoSummary evaluate_keypoints(const CocoDataset& gt, std::span<const CocoResult> results) {
  return run_coco_eval(gt, results, CocoEvalParams::defaults(IouType::kKeypoints)).summary;
}

CocoSummary evaluate_bbox(const CocoDataset& gt, std::span<const CocoResult> results) {
  return run_coco_eval(gt, results, CocoEvalParams::defaults(IouType::kBbox)).summary;
}

std::string format_summary(const CocoSummary& summary) {
  std::string out;
  char line[160];
  for (const CocoStat& s : summary.stats) {
    char iou[32];
    if (s.iou_thr < 0) std::snprintf(iou, sizeof iou, "0.50:0.95");
    else std::snprintf(iou, sizeof iou, "%0.2f", s.iou_thr);
    std::snprintf(line, sizeof line, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  s.is_ap ? "Average Precision" : "Average Recall", s.is_ap ? "(AP)" : "(AR)", iou, s.area.c_str(),
                  s.max_dets, s.value);
    out += line;
  }
  return out;
}

std::string format_summaries_json(std::span<const CocoSummary> summaries) {
  nlohmann::ordered_json root = nlohmann::ordered_json::object();
  for (const CocoSummary& s : summaries) {
    nlohmann::ordered_json o = nlohmann::ordered_json::object();
    for (const CocoStat& st : s.stats) o[st.name] = round_decimals(st.value, 6);
    root[iou_type_name(s.iou_type)] = std::move(o);
  }
  return root.dump(1);
}

void write_summaries_json(const std::string& path, std::span<const CocoSummary> summaries) {
  const std::string text = format_summaries_json(summaries);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw Error("cannot write COCO summary file '" + path + "'");
  out << text << '\n';
  out.flush();
  if (!out) throw Error("cannot write COCO summary file '" + path + "'");
}

}  // namespace sp::models::coco
