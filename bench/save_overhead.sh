#!/usr/bin/env bash
# Throughput of `run` on a file with and without --save (issue 11 item 5), measured in alternation
# (A B A B ...) so a machine shared with other work loads both sides alike. Prints each run's fps and
# CPU milliseconds per frame (user + sys of the whole process: what the cores must supply, which a
# loaded machine distorts far less than wall-clock fps), the medians and their ratios (with/without;
# the target is >= 0.8 in fps; on an idle machine whose cores the run saturates, fps follows 1 / CPU).
# Usage: bench/save_overhead.sh path/to/sparsepose CLIP [pairs=3] [max_frames=150] [extra run args...]
# SAVE_ARGS="..." in the environment adds arguments to the runs with --save only (e.g. another --threads).
# A 1080p clip: gst-launch-1.0 filesrc location=../shared/videos/intel_one_by_one_person_768x432.mp4 !
#   decodebin ! videorate ! video/x-raw,framerate=30/1 ! identity eos-after=300 ! videoconvert !
#   videoscale ! video/x-raw,width=1920,height=1080 ! x264enc speed-preset=veryfast threads=1 !
#   h264parse ! mp4mux ! filesink location=/tmp/person_1080p.mp4
set -euo pipefail
bin=$1 clip=$2 pairs=${3:-3} max=${4:-150}
shift $(( $# < 4 ? $# : 4 ))
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fps() { /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["fps"])' "$1"; }
without=() with=() cpu_without=() cpu_with=()
# run_one SUMMARY [extra args]: runs once, prints CPU ms per processed frame.
run_one() {
  local summary=$1
  shift
  /usr/bin/time -f "%U %S" -o "$tmp/time" "$bin" run --source "$clip" --max-frames "$max" --quiet --summary "$summary" "$@" 2>/dev/null
  /usr/bin/python3 -c 'import json,sys; u,s=map(float,open(sys.argv[2]).read().split()[-2:]); print("%.1f" % (1000*(u+s)/json.load(open(sys.argv[1]))["frames_processed"]))' "$summary" "$tmp/time"
}
echo "load before: $(uptime)"
for i in $(seq "$pairs"); do
  cpu_without+=("$(run_one "$tmp/a.json" "$@")")
  without+=("$(fps "$tmp/a.json")")
  # shellcheck disable=SC2086  # SAVE_ARGS is a list of words
  cpu_with+=("$(run_one "$tmp/b.json" --save "$tmp/b.mp4" "$@" ${SAVE_ARGS:-})")
  with+=("$(fps "$tmp/b.json")")
  echo "pair $i: without --save ${without[-1]} fps (${cpu_without[-1]} ms CPU/frame), with --save ${with[-1]} fps (${cpu_with[-1]} ms CPU/frame)"
done
echo "load after: $(uptime)"
/usr/bin/python3 - "${without[*]}" "${with[*]}" "${cpu_without[*]}" "${cpu_with[*]}" <<'PY'
import statistics, sys
a = [float(x) for x in sys.argv[1].split()]
b = [float(x) for x in sys.argv[2].split()]
ca = statistics.median(float(x) for x in sys.argv[3].split())
cb = statistics.median(float(x) for x in sys.argv[4].split())
print("median CPU per frame: without --save %.1f ms, with --save %.1f ms; ratio without/with %.3f" % (ca, cb, ca / cb))
ma, mb = statistics.median(a), statistics.median(b)
ratios = [y / x for x, y in zip(a, b)]
print("median fps: without --save %.2f, with --save %.2f; ratio of medians %.3f; per-pair ratios %s"
      % (ma, mb, mb / ma, " ".join("%.3f" % r for r in ratios)))
PY
