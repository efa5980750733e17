#!/usr/bin/env bash
# Several --source on one engine (issue 11 item 3): two file streams (the bundled clip under two names)
# are both processed losslessly and in order, each into its own outputs (out.0.*, out.1.*), with a
# per-stream and an aggregate summary; a duplicated --source and an output collision are refused.
# Usage: multi_stream_test.sh path/to/sparsepose
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"

clip="$root/assets/videos/dance.mp4"
ln -s "$clip" "$tmp/a.mp4"  # a symlink and a copy: two streams, even if the same bytes
cp "$clip" "$tmp/b.mp4"
frames=24

if timeout 120 "$bin" run --source "$tmp/a.mp4" --source "$tmp/b.mp4" --max-frames $frames --threads 2 --quiet \
    --save "$tmp/out.mp4" --json "$tmp/out.jsonl" --summary "$tmp/sum.json" >"$tmp/stdout" 2>"$tmp/err"; then
  ok "run with two --source"
else
  bad "run with two --source: exit $?"; cat "$tmp/err"
fi
[ ! -e "$tmp/out.mp4" ] && [ ! -e "$tmp/out.jsonl" ] && ok "no un-indexed outputs with several streams" || bad "un-indexed outputs written"

python3 - "$tmp" $frames <<'PY' && ok "each stream: every frame processed, in order; per-stream and aggregate summaries add up" || bad "multi-stream outputs"
import json, subprocess, sys
t, frames = sys.argv[1], int(sys.argv[2])
agg = json.load(open(t + "/sum.json"))
assert agg["streams"] == 2 and len(agg["per_stream"]) == 2, agg
for i, src in enumerate([t + "/a.mp4", t + "/b.mp4"]):
    s = json.load(open(f"{t}/sum.{i}.json"))
    per = agg["per_stream"][i]
    assert per["source"] == src, per
    assert s["frames_in"] == s["frames_processed"] + s["frames_dropped"], s
    assert s["frames_in"] == frames and s["frames_processed"] == frames and s["frames_dropped"] == 0, s  # files: lossless
    assert per["frames_processed"] == s["frames_processed"] and "p50" in per["latency_ms"], per
    lines = [json.loads(l) for l in open(f"{t}/out.{i}.jsonl")]
    assert len(lines) == frames, (i, len(lines))
    idx = [l["frame"] for l in lines]
    assert idx == sorted(idx) and len(set(idx)) == frames, idx  # in order, none twice
    pts = [l["pts_ms"] for l in lines]
    assert all(b > a for a, b in zip(pts, pts[1:])), pts
    assert sum(1 for l in lines if l["persons"]) >= frames - 2, "the dancer should be found in each stream"
    n = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={t}/out.{i}.mp4", "!", "decodebin", "!",
                        "fakesink", "silent=false"], capture_output=True, text=True, timeout=60).stdout.count("chain")
    assert n == frames, (i, n)
for k in ["frames_in", "frames_processed", "frames_dropped"]:
    assert agg[k] == sum(p[k] for p in agg["per_stream"]), k
assert agg["fps"] > 0 and agg["wall_s"] > 0, agg
PY

# The same two streams give each the detections a single-stream run gives: the engine is shared, not mixed.
timeout 120 "$bin" run --source "$tmp/b.mp4" --max-frames $frames --threads 2 --quiet --json "$tmp/single.jsonl" 2>"$tmp/err" \
  || { bad "single-stream run: exit $?"; cat "$tmp/err"; }
python3 - "$tmp" <<'PY' && ok "a stream of a multi-stream run finds the same people as a run of its own" || bad "multi vs single detections differ"
import json, sys
t = sys.argv[1]
def boxes(path):
    return [[[round(v) for v in p["box"]] for p in json.loads(l)["persons"]] for l in open(path)]
single = boxes(t + "/single.jsonl")
assert boxes(t + "/out.1.jsonl") == single and boxes(t + "/out.0.jsonl") == single
PY

# expect_error NAME PATTERN -- command...: non-zero exit, one short stderr message matching PATTERN, nothing written.
expect_error() {
  local name=$1 pattern=$2
  shift 3
  rm -rf "$tmp/e" && mkdir "$tmp/e"
  timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then bad "$name: exit $rc"; cat "$tmp/err"; return; fi
  if ! grep -qE -- "$pattern" "$tmp/err"; then bad "$name: stderr does not match '$pattern':"; cat "$tmp/err"; return; fi
  if [ "$(grep -c . "$tmp/err")" -gt 2 ]; then bad "$name: more than a short message on stderr"; cat "$tmp/err"; return; fi
  if [ -n "$(ls -A "$tmp/e")" ]; then bad "$name: left files: $(ls "$tmp/e")"; return; fi
  ok "$name"
}
expect_error "duplicated --source" "--source .*a.mp4 is given more than once" -- \
  "$bin" run --source "$tmp/a.mp4" --source "$tmp/b.mp4" --source "$tmp/./a.mp4" --json "$tmp/e/o.jsonl"
expect_error "output collision between streams" "--summary: output .*x.0.jsonl collides with --json" -- \
  "$bin" run --source "$tmp/a.mp4" --source "$tmp/b.mp4" --json "$tmp/e/x.jsonl" --summary "$tmp/e/x.jsonl"
expect_error "--show with several streams" "--show works with one --source" -- \
  "$bin" run --source "$tmp/a.mp4" --source "$tmp/b.mp4" --show

finish
