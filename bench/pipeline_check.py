#!/usr/bin/env python3
"""Measures the video pipeline the way issue #3 asks, and prints markdown tables:

1. File mode is lossless: for each clip, frames in = frames processed = JSON lines = frames decoded back
   from the saved video, and gst-discoverer reads the video's duration.
2. Live mode (the test source, and --realtime files): frames in = processed + dropped, p95 queue wait.
3. Overheads at 2 threads: preprocess + decode + render p50 against model p50; file-mode throughput
   against 1 / model p50; live end-to-end p50 against 1.3 x model p50 + one frame interval.

Usage: bench/pipeline_check.py [--bin build/app/sparsepose] [--videos ../shared/videos] [--threads 2]
"""
import argparse, glob, json, os, subprocess, sys, tempfile

def run(cmd, timeout=900):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        sys.exit(f"failed ({r.returncode}): {' '.join(cmd)}\n{r.stderr[-2000:]}")
    return r

def decoded_frames(path):
    out = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={path}", "!", "decodebin", "!",
                          "fakesink", "silent=false"], capture_output=True, text=True, timeout=600).stdout
    return out.count("chain")

def duration(path):
    out = subprocess.run(["gst-discoverer-1.0", path], capture_output=True, text=True, timeout=120).stdout
    for line in out.splitlines():
        if "Duration:" in line:
            return line.split("Duration:")[1].strip()
    return "unreadable"

def main():
    ap = argparse.ArgumentParser()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--bin", default=os.path.join(root, "build/app/sparsepose"))
    ap.add_argument("--videos", default=os.path.join(root, "../shared/videos"))
    ap.add_argument("--threads", default="2")
    ap.add_argument("--live-seconds", type=float, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="sp-pipeline-")
    clips = sorted(glob.glob(os.path.join(a.videos, "*.mp4")) + glob.glob(os.path.join(a.videos, "*.avi")))
    if not clips:
        sys.exit(f"no clips in {a.videos}")

    print("## File mode (lossless)\n")
    print("| clip | frames in | processed | JSON lines | video frames | video duration | fps out | model p50 ms | pre+decode+render p50 ms | overhead / model | throughput x model p50 |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|")
    for clip in clips:
        name = os.path.basename(clip)
        out, js, sm = (os.path.join(tmp, name + ext) for ext in (".mp4", ".jsonl", ".json"))
        run([a.bin, "run", "--quiet", "--threads", a.threads, "--source", clip, "--save", out, "--json", js, "--summary", sm])
        s = json.load(open(sm))
        lines = sum(1 for _ in open(js))
        st = s["stages_ms"]
        model = st["model"]["p50"]
        overhead = st["preprocess"]["p50"] + st["decode"]["p50"] + st["render"]["p50"]
        print(f"| {name} | {s['frames_in']} | {s['frames_processed']} | {lines} | {decoded_frames(out)} | {duration(out)} | "
              f"{s['fps']:.1f} | {model:.1f} | {overhead:.2f} | {overhead / model:.1%} | {s['fps'] * model / 1000:.2f} |")

    print("\n## Live mode\n")
    print("| source | frames in | processed | dropped | in = processed + dropped | fps in | fps out | queue wait p50 / p95 ms | model p50 ms | end-to-end p50 ms | bound 1.3 x model + frame ms |")
    print("|---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|")
    live = [("test (30 fps)", ["--source", "test", "--max-frames", str(int(30 * a.live_seconds))], 1000 / 30)]
    for clip in clips[:2]:
        live.append((os.path.basename(clip) + " --realtime", ["--source", clip, "--realtime", "--max-frames", "300"], None))
    for label, args, interval in live:
        sm = os.path.join(tmp, "live.json")
        run([a.bin, "run", "--quiet", "--threads", a.threads, "--summary", sm, "--save", os.path.join(tmp, "live.mp4")] + args)
        s = json.load(open(sm))
        st = s["stages_ms"]
        model = st["model"]["p50"]
        frame_ms = interval if interval else 1000 / max(s.get("fps_in", 30), 1)
        bound = 1.3 * model + frame_ms
        ok = s["frames_in"] == s["frames_processed"] + s["frames_dropped"]
        print(f"| {label} | {s['frames_in']} | {s['frames_processed']} | {s['frames_dropped']} | {'yes' if ok else 'NO'} | "
              f"{s.get('fps_in', 0):.1f} | {s['fps']:.1f} | {st['queue_wait']['p50']:.1f} / {st['queue_wait']['p95']:.1f} | {model:.1f} | "
              f"{st['end_to_end']['p50']:.1f} | {bound:.1f} |")

if __name__ == "__main__":
    main()
