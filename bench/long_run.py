#!/usr/bin/python3
"""Long-run check (issue 11 item 6): runs `sparsepose run` on a live source for a given time, samples
the process's RSS, and reports per-window p99 of every stage from the JSON lines, so a leak or a
latency drift shows as a trend.

    bench/long_run.py build/app/sparsepose --duration 600                  # live test pattern
    bench/long_run.py build/app/sparsepose --duration 600 --source rtsp    # the bundled clip, looping,
                                                                           # from a loopback RTSP server
Extra arguments after `--` go to `sparsepose run` (e.g. -- --threads 2 --engine int8).
Verdict: RSS growth from the end of the first minute (or of the first half for short runs) to the
end must be <= 5 %, and the last window's p99 end-to-end within 1.5x of the first full window's.
Exit status 0 when both hold, 1 otherwise.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STAGES = ["capture", "queue_wait", "preprocess", "model", "decode", "render", "end_to_end"]


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def p99(values):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[max(0, -(-99 * len(s) // 100) - 1)]  # nearest rank, as pipeline/stage_stats.h


def start_rtsp_server(tmp):
    import socket
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    server = subprocess.Popen([sys.executable, os.path.join(ROOT, "tests/integration/stream_server.py"), "rtsp",
                               "--port", str(port), "--clip", os.path.join(ROOT, "assets/videos/dance.mp4")],
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    if not line.startswith("ready "):
        server.kill()
        sys.exit("long_run: the RTSP server did not start")
    return server, line.split()[1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--duration", type=float, default=600, help="seconds (default 600)")
    ap.add_argument("--source", default="test", help="'test' (videotestsrc), 'rtsp' (looping bundled clip), or any --source")
    ap.add_argument("--interval", type=float, default=5, help="RSS sampling period, s")
    ap.add_argument("--window", type=float, default=60, help="p99 window, s")
    ap.add_argument("--save", action="store_true", help="also write the annotated video")
    argv = sys.argv[1:]
    run_args = argv[argv.index("--") + 1:] if "--" in argv else []
    a = ap.parse_args(argv[:argv.index("--")] if "--" in argv else argv)

    tmp = tempfile.mkdtemp(prefix="sp_long_run_")
    server = None
    source = a.source
    if source == "rtsp":
        server, source = start_rtsp_server(tmp)
    jsonl = os.path.join(tmp, "run.jsonl")
    cmd = [a.binary, "run", "--source", source, "--quiet", "--json", jsonl, "--summary", os.path.join(tmp, "summary.json")]
    if a.save:
        cmd += ["--save", os.path.join(tmp, "run.mp4")]
    cmd += run_args
    print("load: " + open("/proc/loadavg").read().strip())
    print("command: " + " ".join(cmd))
    run = subprocess.Popen(cmd, stderr=open(os.path.join(tmp, "stderr"), "w"))
    t0 = time.monotonic()
    samples = []  # (seconds, rss kB)
    try:
        while time.monotonic() - t0 < a.duration and run.poll() is None:
            samples.append((time.monotonic() - t0, rss_kb(run.pid)))
            time.sleep(a.interval)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)  # finishes the outputs
        rc = run.wait(timeout=60)
        if server:
            server.kill()
    if rc not in (0, 130):
        print(open(os.path.join(tmp, "stderr")).read())
        sys.exit("long_run: run exited with %d" % rc)

    rows = [json.loads(l) for l in open(jsonl)]
    summary = json.load(open(os.path.join(tmp, "summary.json")))
    # Windows by the stream's own clock (pts_ms), which is the wall time of a live source.
    t_first = rows[0]["pts_ms"] if rows else 0
    windows = {}
    for r in rows:
        windows.setdefault(int((r["pts_ms"] - t_first) / 1000 / a.window), []).append(r["timing_ms"])
    print("\n%-8s %7s " % ("window", "frames") + " ".join("%10s" % s for s in STAGES) + "   (p99, ms)")
    p99_e2e = []
    for w in sorted(windows):
        t = windows[w]
        vals = [p99([x[s] for x in t if x.get(s, 0) > 0]) for s in STAGES]
        p99_e2e.append(vals[-1])
        print("%4.0f-%-3.0f %7d " % (w * a.window, (w + 1) * a.window, len(t)) + " ".join("%10.2f" % v for v in vals))

    print("\n%8s %10s" % ("t (s)", "RSS (MB)"))
    step = max(1, len(samples) // 20)
    for t, kb in samples[::step] + ([samples[-1]] if samples and (len(samples) - 1) % step else []):
        print("%8.0f %10.1f" % (t, kb / 1024))
    settle = min(60.0, a.duration / 2)
    base = next((kb for t, kb in samples if t >= settle), samples[0][1])
    end = samples[-1][1]
    growth = (end - base) / base * 100
    print("\nframes in %d, processed %d, dropped %d, %.1f fps" % (summary["frames_in"], summary["frames_processed"],
                                                                 summary["frames_dropped"], summary["fps"]))
    print("RSS after %.0f s: %.1f MB, at the end: %.1f MB, growth %.2f %% (limit 5 %%)" % (settle, base / 1024, end / 1024, growth))
    # The first and last windows may be partial: compare the first and last full ones when there are.
    full = p99_e2e[1:-1] if len(p99_e2e) > 3 else p99_e2e
    drift = full[-1] / full[0] if full and full[0] > 0 else float("nan")
    print("p99 end-to-end: first full window %.1f ms, last %.1f ms, ratio %.2f (limit 1.5)" % (full[0], full[-1], drift))
    ok = growth <= 5 and drift <= 1.5
    print("verdict: " + ("memory flat, latency stable" if ok else "FAILED"))
    print("outputs kept in " + tmp)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
