#!/usr/bin/env bash
# Aggregate throughput of `run` with 1, 2 and 4 file streams (the bundled clip under N names) on the
# same total threads, alternating the stream counts round by round so load drifts hit them alike.
# Prints one line per run and the median per N with the ratio to 1 stream.
# 1 stream: the summary's fps (first frame in to last frame out); N > 1: the aggregate summary's fps
# (all frames over the wall time from the threads' start to the last stream's end: slightly conservative).
# Also CPU ms per frame (user + sys of the whole process / frames): on a shared machine more threads get
# a bigger share of the cores, which flatters fps; CPU per frame does not (it includes the model load,
# which favours longer runs a little).
# Usage: bench/multi_stream.sh path/to/sparsepose [rounds=3] [threads=2]
set -euo pipefail
bin=$(realpath "$1")
rounds=${2:-3}
threads=${3:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in 0 1 2 3; do ln -s "$root/assets/videos/dance.mp4" "$tmp/s$i.mp4"; done
uptime
for r in $(seq "$rounds"); do
  for n in 1 2 4; do
    args=()
    for i in $(seq 0 $((n - 1))); do args+=(--source "$tmp/s$i.mp4"); done
    /usr/bin/time -f "%U %S" -o "$tmp/cpu" "$bin" run "${args[@]}" --threads "$threads" --quiet --summary "$tmp/sum.json" 2>/dev/null
    /usr/bin/python3 - "$tmp/sum.json" "$n" "$r" "$tmp/cpu" <<'PY' | tee -a "$tmp/results"
import json, sys
s = json.load(open(sys.argv[1])); n = int(sys.argv[2])
cpu_ms = 1000 * sum(map(float, open(sys.argv[4]).read().split()[-2:])) / max(1, s["frames_processed"])
if n == 1:
    print(f"round {sys.argv[3]} streams 1 fps {s['fps']:.2f} cpu_ms/frame {cpu_ms:.1f} e2e_p50 {s['stages_ms']['end_to_end']['p50']:.1f} p99 {s['stages_ms']['end_to_end']['p99']:.1f} frames {s['frames_processed']}/{s['frames_in']}")
else:
    per = " ".join(f"[{p['fps']:.1f}fps p50 {p['latency_ms']['p50']:.0f} p99 {p['latency_ms']['p99']:.0f}]" for p in s["per_stream"])
    print(f"round {sys.argv[3]} streams {n} fps {s['fps']:.2f} cpu_ms/frame {cpu_ms:.1f} frames {s['frames_processed']}/{s['frames_in']} {per}")
PY
  done
done
# Live streams (--realtime paces each file like a camera, newest wins): each stream's share of the
# processed frames against the mean share.
for n in 2 4; do
  args=()
  for i in $(seq 0 $((n - 1))); do args+=(--source "$tmp/s$i.mp4"); done
  "$bin" run "${args[@]}" --realtime --threads "$threads" --quiet --summary "$tmp/live.json" 2>/dev/null
  /usr/bin/python3 - "$tmp/live.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); per = s["per_stream"]
mean = s["frames_processed"] / len(per)
print(f"live {len(per)} streams: processed " + ", ".join(f"{p['frames_processed']}/{p['frames_in']} (dropped {p['frames_dropped']})" for p in per)
      + f"; largest deviation from the mean share {max(abs(p['frames_processed'] - mean) for p in per) / mean:.1%}")
PY
done
uptime
/usr/bin/python3 - "$tmp/results" <<'PY'
import statistics, sys
fps, cpu = {}, {}
for line in open(sys.argv[1]):
    w = line.split()
    fps.setdefault(int(w[3]), []).append(float(w[5]))
    cpu.setdefault(int(w[3]), []).append(float(w[7]))
base, base_cpu = statistics.median(fps[1]), statistics.median(cpu[1])
for n in sorted(fps):
    m, c = statistics.median(fps[n]), statistics.median(cpu[n])
    print(f"streams {n}: median aggregate {m:.2f} fps ({m / base:.3f}x of 1 stream), "
          f"{c:.1f} CPU ms/frame ({c / base_cpu:.3f}x), {len(fps[n])} runs")
PY
