#!/usr/bin/python3
"""The sparsity sweep of issue #8 (the 2024 study's variants, on our model and engine).

Makes every variant with `sparsepose optimize` (never on evaluation images: calibration frames come from
--calib), evaluates it on a labelled COCO set with `sparsepose eval`, and times it with `sparsepose bench`
for each --kernels choice and thread count, with ONNX Runtime fp32 on the float model in the same run
(every configuration a fresh process, order rotated each round, medians over rounds).

  /usr/bin/python3 bench/sparsity_sweep.py --out docs/results/sparsity [--levels 50,55,65,70]
      [--methods obs,magnitude] [--head-levels 55,70] [--threads 1,2] [--kernels dense,sparse,auto]
      [--rounds 3] [--warmup 10] [--iters 40] [--calib-n 64] [--int8-sensitivity] [--skip-existing]
      [--variants obs-p20-int8,...] [--latency-only] [--imgsz 640] [--model FLOAT.onnx]

`--kernels auto` starts from an empty plan cache (OUT/plan-cache), so each model's plan is timed in this
run, as on a user's first start. Writes OUT/models/*.onnx, OUT/sweep.json (every figure), OUT/sweep.md (the table) and OUT/sweep.png
(pose AP50-95 against 2-thread p50 latency with --kernels auto, one line per method/precision).

Precision and recall follow Ultralytics' definition (the study reports them): detections of all images
ranked by score, matched greedily to unmatched ground truth at IoU 0.5 (boxes) or OKS 0.5 (keypoints),
P and R taken at the score threshold that maximizes F1. Crowd regions and, for keypoints, people without
labelled keypoints are ignored (a detection matching them is neither a hit nor a false alarm). AP50 and
AP50-95 are pycocotools' (our `eval` reproduces them).

Needs numpy and matplotlib (Debian's python3-numpy, python3-matplotlib) and, for the ONNX Runtime column,
bench/node_modules (bash bench/setup_ort.sh).
"""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIGMAS = np.array([.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89]) / 10.0


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "build/app/sparsepose"))
    p.add_argument("--model", default=os.path.join(ROOT, "assets/models/yolo11n-pose.onnx"), help="the float model")
    p.add_argument("--calib", default=os.path.join(ROOT, "../shared/data/coco-unlabeled"))
    p.add_argument("--calib-n", type=int, default=64)
    p.add_argument("--data", default=os.path.join(ROOT, "../shared/data/coco-pose-dev"))
    p.add_argument("--levels", default="50,55,65,70", help="sparsity percentages")
    p.add_argument("--methods", default="obs,magnitude")
    p.add_argument("--head-levels", default="55,70", help="levels also run with --prune-head")
    p.add_argument("--pattern", default="", help="--pattern for optimize (default: optimize's)")
    p.add_argument("--imgsz", type=int, default=640, help="input size of every latency run (a static export's own)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--kernels", default="dense,sparse,auto")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--warmup", type=int, default=10)
    p.add_argument("--iters", type=int, default=40)
    p.add_argument("--int8-sensitivity", action="store_true",
                   help="int8 variants with the sensitivity pass (default: every conv int8, --no-sensitivity)")
    p.add_argument("--no-ort", action="store_true", help="skip the ONNX Runtime column")
    p.add_argument("--skip-existing", action="store_true", help="reuse models and evaluations already in OUT")
    p.add_argument("--accuracy-only", action="store_true",
                   help="make and evaluate the variants, then stop (run again with --skip-existing for latency "
                        "once the machine is quiet)")
    p.add_argument("--latency-only", action="store_true",
                   help="skip the evaluation (accuracy columns '-'): to re-time variants already evaluated")
    p.add_argument("--variants", default="", help="comma-separated variant names: time only these (after making them)")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    a.levels = [int(x) for x in a.levels.split(",") if x]
    a.methods = [x for x in a.methods.split(",") if x]
    a.head_levels = [int(x) for x in a.head_levels.split(",") if x]
    a.threads = [int(x) for x in a.threads.split(",") if x]
    a.kernels = [x for x in a.kernels.split(",") if x]
    a.variants = {x for x in a.variants.split(",") if x}
    return a


def run(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"sparsity_sweep: command failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr.strip()}")
    return r.stdout


def variants(a):
    """(name, method, level, head, int8) for the study's rows: base, int8, then pN[-head] with and without int8."""
    out = [("base", None, 0, False, False), ("int8", None, 0, False, True), ("bundled-int8", None, 0, False, True)]
    for m in a.methods:
        for lv in a.levels:
            for head in ([False, True] if lv in a.head_levels else [False]):
                for int8 in (False, True):
                    name = f"{m}-p{lv}{'-head' if head else ''}{'-int8' if int8 else ''}"
                    out.append((name, m, lv, head, int8))
    if a.variants:
        unknown = a.variants - {v[0] for v in out}
        if unknown:
            sys.exit(f"sparsity_sweep: unknown variant(s) {', '.join(sorted(unknown))}")
        # An int8 variant is made from its float one: keep that too, but time only what was asked.
        need = a.variants | {w[:-len("-int8")] for w in a.variants if w.endswith("-int8") and "-p" in w}
        out = [v for v in out if v[0] in need]
    return out


def make_model(a, v, path):
    name, method, level, head, int8 = v
    if name == "base":
        return a.model
    if name == "bundled-int8":  # today's bundled model: int8 with the latency-aware bf16 fallbacks, dense
        return os.path.join(ROOT, "assets/models/yolo11n-pose_sp-int8.onnx")
    if a.skip_existing and os.path.exists(path):
        return path
    source = a.model
    if level and int8:
        # Prune once: the int8 variant quantizes the pruned float variant (made just before it), which is
        # what `optimize --prune S --quantize int8` does in one call (prune, then quantize; zeros stay zero).
        source, level = path.replace("-int8.onnx", ".onnx"), 0
    cmd = [a.bin, "optimize", "--model", source, "--calib", a.calib, "--calib-n", str(a.calib_n),
           "--report", path[:-5] + ".report.json", "-o", path]
    if level:
        cmd += ["--prune", f"{level / 100:.2f}", "--prune-method", method]
        if head:
            cmd += ["--prune-head"]
        if a.pattern:
            cmd += ["--pattern", a.pattern]
    if int8:
        cmd += ["--quantize", "int8"]
        if not a.int8_sensitivity:
            cmd += ["--no-sensitivity"]
    run(cmd)
    return path


def iou_matrix(d, g):
    """IoU of xywh boxes d (n,4) against g (m,4)."""
    dx2, dy2 = d[:, 0] + d[:, 2], d[:, 1] + d[:, 3]
    gx2, gy2 = g[:, 0] + g[:, 2], g[:, 1] + g[:, 3]
    iw = np.clip(np.minimum(dx2[:, None], gx2[None]) - np.maximum(d[:, 0:1], g[None, :, 0]), 0, None)
    ih = np.clip(np.minimum(dy2[:, None], gy2[None]) - np.maximum(d[:, 1:2], g[None, :, 1]), 0, None)
    inter = iw * ih
    union = (d[:, 2] * d[:, 3])[:, None] + (g[:, 2] * g[:, 3])[None] - inter
    return inter / np.maximum(union, 1e-9)


def oks_matrix(d, g, areas):
    """COCO OKS of keypoints d (n,17,3) against labelled keypoints g (m,17,3) with areas (m,)."""
    var = (2 * SIGMAS) ** 2
    out = np.zeros((len(d), len(g)))
    for j in range(len(g)):
        vis = g[j, :, 2] > 0
        if not vis.any():
            continue
        dx = d[:, vis, 0] - g[j, vis, 0]
        dy = d[:, vis, 1] - g[j, vis, 1]
        e = (dx ** 2 + dy ** 2) / var[vis] / (areas[j] + np.spacing(1)) / 2
        out[:, j] = np.exp(-e).mean(axis=1)
    return out


def precision_recall(results, annotations, kind):
    """Ultralytics-style P and R at the F1-maximizing score threshold, IoU/OKS 0.5."""
    gts, ignore = {}, {}
    for an in annotations["annotations"]:
        if an["category_id"] != 1:
            continue
        bad = an.get("iscrowd", 0) or (kind == "pose" and an.get("num_keypoints", 0) == 0)
        (ignore if bad else gts).setdefault(an["image_id"], []).append(an)
    n_gt = sum(len(v) for v in gts.values())
    by_image = {}
    for r in results:
        by_image.setdefault(r["image_id"], []).append(r)
    scored = []  # (score, is_true_positive) of every detection not ignored
    for img, dets in by_image.items():
        dets = sorted(dets, key=lambda r: -r["score"])
        g, ig = gts.get(img, []), ignore.get(img, [])
        used = np.zeros(len(g), bool)

        def sim(targets, ds):
            if not targets:
                return np.zeros((len(ds), 0))
            if kind == "box":
                return iou_matrix(np.array([x["bbox"] for x in ds], float), np.array([t["bbox"] for t in targets], float))
            return oks_matrix(np.array([x["keypoints"] for x in ds], float).reshape(-1, 17, 3),
                              np.array([t["keypoints"] for t in targets], float).reshape(-1, 17, 3),
                              np.array([t["area"] for t in targets], float))

        s_gt, s_ig = sim(g, dets), sim(ig, dets)
        for i, d in enumerate(dets):
            cand = np.where(~used & (s_gt[i] >= 0.5))[0] if len(g) else []
            if len(cand):
                used[cand[np.argmax(s_gt[i, cand])]] = True
                scored.append((d["score"], 1))
            elif len(ig) and (s_ig[i] >= 0.5).any():
                continue
            else:
                scored.append((d["score"], 0))
    if not scored or n_gt == 0:
        return 0.0, 0.0
    scored.sort(key=lambda x: -x[0])
    tp = np.cumsum([t for _, t in scored])
    fp = np.cumsum([1 - t for _, t in scored])
    p = tp / (tp + fp)
    r = tp / n_gt
    f1 = 2 * p * r / np.maximum(p + r, 1e-9)
    k = int(np.argmax(f1))
    return float(p[k]), float(r[k])


def evaluate(a, model, out_prefix):
    ev_path, res_path = out_prefix + ".eval.json", out_prefix + ".results.json"
    if not (a.skip_existing and os.path.exists(ev_path) and os.path.exists(res_path)):
        ev = run([a.bin, "eval", "--model", model, "--annotations", os.path.join(a.data, "person_keypoints.json"),
                  "--images", os.path.join(a.data, "images"), "--results", res_path, "--json"])
        with open(ev_path, "w") as f:
            f.write(ev)
    ev = json.load(open(ev_path))
    results = json.load(open(res_path))
    ann = json.load(open(os.path.join(a.data, "person_keypoints.json")))
    row = {}
    for kind, key in (("box", "bbox"), ("pose", "keypoints")):
        p, r = precision_recall(results, ann, kind)
        row[kind] = {"P": p, "R": r, "AP50": ev[key]["AP50"], "AP": ev[key]["AP"]}
    return row


def bench_ours(a, model, threads, kernels):
    out = run([a.bin, "bench", "--model", model, "--imgsz", str(a.imgsz), "--threads", str(threads), "--kernels", kernels,
               "--warmup", str(a.warmup), "--iters", str(a.iters), "--json"])
    return json.loads(out)["latency_ms"]


def bench_ort(a, threads):
    out = run(["node", os.path.join(ROOT, "bench/ort_bench.js"), "--model", a.model, "--imgsz", str(a.imgsz), "--threads", str(threads),
               "--warmup", str(a.warmup), "--iters", str(a.iters), "--json"])
    return json.loads(out)["latency_ms"]


def median_stats(rounds):
    return {k: float(np.median([r[k] for r in rounds])) for k in ("p50", "p90", "p99")}


def main():
    a = parse_args()
    os.makedirs(os.path.join(a.out, "models"), exist_ok=True)
    vs = variants(a)
    rows = {}
    for v in vs:
        path = os.path.join(a.out, "models", v[0] + ".onnx")
        model = make_model(a, v, path)
        if a.variants and v[0] not in a.variants:
            continue  # made only as the source of an int8 variant
        rows[v[0]] = {"model": model, "method": v[1], "sparsity": v[2], "head_pruned": v[3], "int8": v[4],
                      "accuracy": None if a.latency_only else evaluate(a, model, os.path.join(a.out, v[0]))}
        if rows[v[0]]["accuracy"]:
            print(f"{v[0]}: pose AP {rows[v[0]]['accuracy']['pose']['AP']:.4f}", file=sys.stderr, flush=True)
    if a.accuracy_only:
        return
    # `--kernels auto` times its per-layer plan on the first start of each model and caches it: a fresh
    # cache for this sweep, so every plan is timed here (as on a user's first start), not read from an
    # earlier run on another load.
    os.environ["XDG_CACHE_HOME"] = os.path.join(a.out, "plan-cache")
    shutil.rmtree(os.environ["XDG_CACHE_HOME"], ignore_errors=True)

    # Latency: every (variant, threads, kernels) and ORT once per round, order rotated each round.
    configs = [("ort", None, t, None) for t in a.threads] if not a.no_ort else []
    for name, row in rows.items():
        for t in a.threads:
            for k in a.kernels:
                configs.append(("ours", name, t, k))
    samples = {c: [] for c in configs}
    for rnd in range(a.rounds):
        shift = (rnd * len(configs)) // max(a.rounds, 1)
        for c in configs[shift:] + configs[:shift]:
            samples[c].append(bench_ort(a, c[2]) if c[0] == "ort" else bench_ours(a, rows[c[1]]["model"], c[2], c[3]))
    ort = {t: median_stats(samples[("ort", None, t, None)]) for t in a.threads} if not a.no_ort else {}
    for name, row in rows.items():
        row["latency_ms"] = {f"{t}t-{k}": median_stats(samples[("ours", name, t, k)]) for t in a.threads for k in a.kernels}

    cpu = run([a.bin, "info"]).splitlines()
    summary = {"cpu": [l for l in cpu if l.startswith(("CPU:", "features:", "ISAs:"))], "threads": a.threads,
               "kernels": a.kernels, "rounds": a.rounds, "iters": a.iters, "ort_fp32_ms": ort, "rows": rows,
               "command": " ".join(sys.argv)}
    with open(os.path.join(a.out, "sweep.json"), "w") as f:
        json.dump(summary, f, indent=1)
    write_table(a, summary)
    if not a.latency_only:
        plot(a, summary)


def write_table(a, s):
    cols = [f"{t}t-{k}" for t in a.threads for k in a.kernels]
    lines = ["| variant | box P | box R | box AP50 | box AP50-95 | pose P | pose R | pose AP50 | pose AP50-95 | "
             + " | ".join(f"p50 ms {c}" for c in cols) + " | p90 / p99 ms " + cols[-1] + " |",
             "|---" * (10 + len(cols)) + "|"]
    for name, r in s["rows"].items():
        acc = r["accuracy"]
        cells = [name] + [f"{acc[k][m]:.3f}" if acc else "-" for k in ("box", "pose") for m in ("P", "R", "AP50", "AP")]
        cells += [f"{r['latency_ms'][c]['p50']:.2f}" for c in cols]
        cells.append(f"{r['latency_ms'][cols[-1]]['p90']:.2f} / {r['latency_ms'][cols[-1]]['p99']:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    if s["ort_fp32_ms"]:
        lines.append("")
        lines.append("ONNX Runtime 1.30 fp32 on the float model, same run: " +
                     ", ".join(f"{t} thread(s) p50 {v['p50']:.2f} ms" for t, v in s["ort_fp32_ms"].items()))
    with open(os.path.join(a.out, "sweep.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def plot(a, s):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    t = 2 if 2 in a.threads else a.threads[-1]
    k = "auto" if "auto" in a.kernels else a.kernels[0]
    col = f"{t}t-{k}"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = {}
    for name, r in s["rows"].items():
        if r["head_pruned"]:
            continue
        if name == "bundled-int8":
            ax.plot([r["latency_ms"][col]["p50"]], [r["accuracy"]["pose"]["AP"]], marker="*", markersize=11,
                    linestyle="none", color="black", label="bundled int8 (dense, mixed bf16)")
            continue
        for m in ([r["method"]] if r["method"] else a.methods):  # base/int8 start every method's line
            groups.setdefault((m, r["int8"]), []).append((r["sparsity"], r["latency_ms"][col]["p50"], r["accuracy"]["pose"]["AP"]))
    for (m, int8), pts in sorted(groups.items()):
        pts.sort()
        ax.plot([p[1] for p in pts], [p[2] for p in pts], marker="o", label=f"{m}{' + int8' if int8 else ' fp32'}")
        for sp, x, y in pts:
            ax.annotate(f"{sp}%", (x, y), textcoords="offset points", xytext=(3, 3), fontsize=7)
    if s["ort_fp32_ms"]:
        ort = s["ort_fp32_ms"][t]["p50"]
        ax.axvline(ort, color="gray", linestyle="--", label=f"ONNX Runtime fp32 ({ort:.1f} ms)")
    ax.set_xlabel(f"p50 latency, ms (640, {t} threads, --kernels {k})")
    ax.set_ylabel("pose AP50-95 (coco-pose-dev)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(os.path.join(a.out, "sweep.png"), dpi=120)


if __name__ == "__main__":
    main()
