#!/usr/bin/env python3
"""Measures tracking and smoothing on real clips the way issue #10 asks, and prints markdown tables.

The model runs once per clip: `sparsepose run --no-track --conf 0.1 --json` writes every detection down to
the tracker's low score with the frames' timestamps. bench_tracking_replay then feeds those detections to
the same PoseTracker the pipeline runs, with the same options and timestamps, twice: raw (--no-smooth) and
smoothed. Tracking does not depend on smoothing, so both give every person the same ID (checked), and every
figure compares the same samples. --check also runs the real `sparsepose run --smooth` on the fast clip
and compares it with the replay (same IDs, keypoints within the JSON's rounding).

1. Jitter: mean keypoint acceleration, the second difference over time of a keypoint's position,
   |(p2 - p1)/dt2 - (p1 - p0)/dt1| / ((dt1 + dt2)/2), divided by the person's raw box height (so the unit
   is person heights / s^2), over every keypoint with confidence >= 0.5 in three consecutive frames of one
   track. Raw against smoothed, and the reduction; also over people standing still alone (box centre
   slower than 0.1 heights / s), where the whole acceleration is jitter, not motion.
2. Lag: the time shift tau that best aligns the smoothed trajectories to the raw ones, i.e. minimizes the
   mean squared distance between smoothed(t + tau) and raw(t) (smoothed interpolated linearly between
   frames, distances in person heights; see lag()), searched from -100 to +200 ms in 1 ms steps. Positive:
   smoothed is late.
3. Identity: distinct IDs per clip, against the people counted by watching each clip (PEOPLE below; how
   they were counted is in docs/TRACKING.md), and the ratio.

Usage: bench/tracking_measure.py [--bin build/app/sparsepose] [--replay build/bench/bench_tracking_replay]
                                 [--videos ../shared/videos] [--threads 2] [--out DIR] [--check]
                                 [-- tracker/smoother options for both replays, e.g. --smooth-beta 2]
--out keeps the detections (and reuses them when present: delete the folder after changing the model).
"""
import argparse, glob, json, math, os, subprocess, sys, tempfile

# People counted by watching each clip (docs/TRACKING.md says how): (count, what, counted over the first
# N seconds only or None for the whole clip). IDs are compared over the same span.
PEOPLE = {
    "intel_one_by_one_person_768x432.mp4": (6, "six people, one at a time", None),
    "tfjs_pose_1_dance_576x576.mp4": (1, "one dancer", None),
    "tfjs_pose_squats_720x1280.mp4": (1, "one person doing squats", None),
    "mmpose_demo_street_960x540.mp4": (15, "people at least ~40 px tall; 20+ with the distant crowd", None),
    "opencv_vtest_pedestrians_480x360.avi": (17, "at least 17 in the first 32 s (arrivals on 1 fps frames)", 32.0),
}
FAST_CLIP = "tfjs_pose_1_dance_576x576.mp4"
CONF = 0.5


def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")


def load(path):
    frames = []
    for line in open(path):
        j = json.loads(line)
        frames.append((j["frame"], j["pts_ms"] / 1000.0, {p["id"]: p for p in j["persons"]}))
    return frames


def tracks(frames):
    """{id: [(frame, t, person)]} in frame order."""
    out = {}
    for f, t, persons in frames:
        for pid, p in persons.items():
            out.setdefault(pid, []).append((f, t, p))
    return out


def height(p):
    return max(1.0, p["box"][3] - p["box"][1])


STILL = 0.1  # a person whose box centre moves less than this (heights / s) is standing still


def jitter(raw, smooth):
    """Mean normalized acceleration over the same samples in both runs: (raw, smoothed, samples) over all
    samples and over those of people standing still (box centre slower than STILL), where what moves is
    jitter alone."""
    rt, st = tracks(raw), tracks(smooth)
    sums = [0.0, 0.0, 0.0, 0.0]  # raw, smoothed, raw still, smoothed still
    n = n_still = 0
    for pid, rs in rt.items():
        ss = {f: p for f, _, p in st.get(pid, [])}
        for i in range(2, len(rs)):
            (f0, t0, r0), (f1, t1, r1), (f2, t2, r2) = rs[i - 2], rs[i - 1], rs[i]
            if f2 - f0 != 2 or not (f0 in ss and f1 in ss and f2 in ss) or not (t2 > t1 > t0):
                continue
            h = height(r1)
            cx = [(r["box"][0] + r["box"][2]) / 2 for r in (r0, r2)]
            cy = [(r["box"][1] + r["box"][3]) / 2 for r in (r0, r2)]
            still = math.hypot(cx[1] - cx[0], cy[1] - cy[0]) / (t2 - t0) / h < STILL
            for k in range(17):
                if min(r0["keypoints"][k][2], r1["keypoints"][k][2], r2["keypoints"][k][2]) < CONF:
                    continue
                for which, (a, b, c) in enumerate([(r0, r1, r2), (ss[f0], ss[f1], ss[f2])]):
                    acc = 0.0
                    for d in range(2):
                        v1 = (b["keypoints"][k][d] - a["keypoints"][k][d]) / (t1 - t0)
                        v2 = (c["keypoints"][k][d] - b["keypoints"][k][d]) / (t2 - t1)
                        acc += ((v2 - v1) / ((t2 - t0) / 2)) ** 2
                    sums[which] += math.sqrt(acc) / h
                    if still:
                        sums[2 + which] += math.sqrt(acc) / h
                n += 1
                n_still += still
    return sums, n, n_still


LAG_MS = (-100, 200)


def lag(raw, smooth):
    """(best shift in ms, rms distance at 0 and at the best shift in person heights, samples).

    smoothed(t) ~ raw(t - tau) is tested as smoothed(t_i + tau) ~ raw(t_i) at the raw frames t_i: the
    smoothed trajectory (nearly noise-free) is the one interpolated, because interpolating the noisy raw
    one between frames averages its noise away and would favour shifts of half a frame. The samples are
    the same for every tau: raw keypoints whose smoothed track is confident on every frame from
    t_i - 100 ms to t_i + 200 ms."""
    rt, st = tracks(raw), tracks(smooth)
    lo, hi = LAG_MS[0] / 1000.0, LAG_MS[1] / 1000.0
    samples = []  # (raw x, raw y, height, smoothed [(t, x, y)] around it)
    for pid, rs in rt.items():
        ss = {f: (t, p) for f, t, p in st.get(pid, [])}
        for f, t, p in rs:
            h = height(p)
            for k in range(17):
                if p["keypoints"][k][2] < CONF:
                    continue
                window, g = [], f
                while g - 1 in ss and ss[g][0] > t + lo:  # back to the first frame at or before t + lo
                    g -= 1
                ok = g in ss and ss[g][0] <= t + lo
                while ok:
                    tg, q = ss[g]
                    if q["keypoints"][k][2] < CONF:
                        ok = False
                        break
                    window.append((tg, q["keypoints"][k][0], q["keypoints"][k][1]))
                    if tg >= t + hi:
                        break
                    g += 1
                    ok = g in ss
                if ok and window and window[-1][0] >= t + hi:
                    samples.append((t, p["keypoints"][k][0], p["keypoints"][k][1], h, window))

    def err(tau):
        total = 0.0
        for t, x, y, h, w in samples:
            tt = t + tau
            j = 0
            while w[j + 1][0] < tt:
                j += 1
            a = (tt - w[j][0]) / (w[j + 1][0] - w[j][0])
            sx = w[j][1] + a * (w[j + 1][1] - w[j][1])
            sy = w[j][2] + a * (w[j + 1][2] - w[j][2])
            total += ((sx - x) ** 2 + (sy - y) ** 2) / (h * h)
        return math.sqrt(total / len(samples)) if samples else float("inf")

    if not samples:
        return None, float("nan"), float("nan"), 0
    best = min(range(LAG_MS[0], LAG_MS[1] + 1), key=lambda ms: err(ms / 1000.0))
    return best, err(0.0), err(best / 1000.0), len(samples)


def check_against_run(a, clip, path, replayed, extra):
    """The replay writes what `run` writes: same IDs per frame, keypoints equal up to the input's rounding."""
    run([a.bin, "run", "--quiet", "--threads", a.threads, "--source", clip, "--smooth", "--json", path] + extra)
    real = load(path)
    assert len(real) == len(replayed), (len(real), len(replayed))
    worst = 0.0
    for (f, t, p), (g, u, q) in zip(real, replayed):
        assert f == g and sorted(p) == sorted(q), f"frame {f}: IDs {sorted(p)} from run, {sorted(q)} from the replay"
        for pid in p:
            for kp, kq in zip(p[pid]["keypoints"], q[pid]["keypoints"]):
                worst = max(worst, abs(kp[0] - kq[0]), abs(kp[1] - kq[1]))
    print(f"check: `run --smooth` on {os.path.basename(clip)} and the replay agree: same IDs in all {len(real)} "
          f"frames, largest keypoint difference {worst:.3f} px")


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--bin", default=os.path.join(root, "build/app/sparsepose"))
    ap.add_argument("--videos", default=os.path.join(root, "../shared/videos"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--replay", default=os.path.join(root, "build/bench/bench_tracking_replay"))
    ap.add_argument("--out", default=None)
    ap.add_argument("--check", action="store_true", help="compare the replay with a real run on the fast clip")
    a = ap.parse_args(argv)
    out = a.out or tempfile.mkdtemp(prefix="sp-tracking-")
    os.makedirs(out, exist_ok=True)
    clips = sorted(glob.glob(os.path.join(a.videos, "*.mp4")) + glob.glob(os.path.join(a.videos, "*.avi")))
    if not clips:
        sys.exit(f"no clips in {a.videos}")

    rows = []
    for clip in clips:
        name = os.path.basename(clip)
        det, det_summary = os.path.join(out, name + ".det.jsonl"), os.path.join(out, name + ".det.json")
        if not (os.path.exists(det) and os.path.exists(det_summary)):
            run([a.bin, "run", "--quiet", "--threads", a.threads, "--source", clip, "--no-track", "--conf", "0.1",
                 "--json", det, "--summary", det_summary])
        res = {}
        for mode in ("raw", "smooth"):
            js = os.path.join(out, f"{name}.{mode}.jsonl")
            r = subprocess.run([a.replay, det, js] + (["--smooth"] if mode == "smooth" else []) + extra,
                               capture_output=True, text=True, timeout=600)
            if r.returncode != 0:
                sys.exit(f"replay failed: {r.stderr}")
            res[mode] = (load(js), json.loads(r.stdout)["tracks"])
        raw, smooth = res["raw"][0], res["smooth"][0]
        assert [sorted(p) for _, _, p in raw] == [sorted(p) for _, _, p in smooth], f"{name}: IDs differ between runs"
        if a.check and name == FAST_CLIP:
            check_against_run(a, clip, os.path.join(out, name + ".run.jsonl"), smooth, extra)
        jsums, n, n_still = jitter(raw, smooth)
        best, e0, eb, nl = lag(raw, smooth)
        window = PEOPLE.get(name, (None, "", None))[2]
        ids = len({pid for _, t, p in raw for pid in p if window is None or t < window})
        rows.append((name, len(raw), (jsums, n_still), None, n, best, e0, eb, nl, ids, res["raw"][1]))

    print(f"Detections and replays: {out}" + (f"; options: {' '.join(extra)}" if extra else ""))
    print("\n## Jitter (mean keypoint acceleration, person heights / s^2, keypoints with conf >= 0.5)\n")
    print("| clip | frames | samples | raw | smoothed | reduction | in place: samples | raw | smoothed | reduction |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, frames, (js, n_still), _, n, *_ in rows:
        cells = [f"{name}", f"{frames}", f"{n}"]
        cells += [f"{js[0] / n:.3f}", f"{js[1] / n:.3f}", f"{1 - js[1] / js[0]:.1%}"] if n else ["-"] * 3
        cells += [f"{n_still}"]
        cells += [f"{js[2] / n_still:.3f}", f"{js[3] / n_still:.3f}", f"{1 - js[3] / js[2]:.1%}"] if n_still else ["-"] * 3
        print("| " + " | ".join(cells) + " |")
    print("\n## Lag added by smoothing (shift that best aligns smoothed to raw)\n")
    print("| clip | samples | best shift ms | rms distance at 0 / at best shift (person heights) |")
    print("|---|---:|---:|---:|")
    for name, _, _, _, _, best, e0, eb, nl, *_ in rows:
        if best is None:
            print(f"| {name} | 0 | - | - |")
            continue
        mark = " (the fast clip)" if name == FAST_CLIP else ""
        print(f"| {name}{mark} | {nl} | {best} | {e0:.4f} / {eb:.4f} |")
    print("\n## Identity (distinct IDs against people counted by watching)\n")
    print("| clip | people counted | distinct IDs (same span) | IDs / people | whole clip: tracks started / ended / most at once |")
    print("|---|---:|---:|---:|---|")
    for name, *_, ids, tr in rows:
        people, what, window = PEOPLE.get(name, (None, "", None))
        span = f" (first {window:g} s)" if window else ""
        ratio = f"{ids / people:.2f}" if people else "-"
        print(f"| {name} | {people if people else '-'}{span} | {ids} | {ratio} | "
              f"{tr.get('started', '-')} / {tr.get('ended', '-')} / {tr.get('max_concurrent', '-')} |")


if __name__ == "__main__":
    main()
