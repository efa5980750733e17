#!/usr/bin/env bash
# `run --sources FILE` (issue 11): a list file of two clips, with comments, blank lines, padding and
# entries relative to the list's own directory, run from another working directory, processes every
# frame of both streams into out.0.* and out.1.*; --source entries come first; a missing list, a
# directory, an empty list and duplicated entries are refused with one line naming the cause (the list,
# the line) and nothing written.
# Usage: multi_stream_sources_test.sh path/to/sparsepose
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"

clip="$root/assets/videos/dance.mp4"
mkdir -p "$tmp/clips/sub" "$tmp/elsewhere"
ln -s "$clip" "$tmp/clips/a.mp4"  # a symlink and a copy: two streams, even if the same bytes
cp "$clip" "$tmp/clips/sub/b.mp4"
cp "$clip" "$tmp/c.mp4"
frames=16

# CRLF line ends, a comment, blank and whitespace-only lines, padding, a ./ and a subdirectory entry.
printf '# two clips next to this list\r\n\r\n   a.mp4   \r\n \t \r\n  # the copy\r\n\t./sub/b.mp4\r\n' >"$tmp/clips/list.txt"

# Run from a directory where neither clip is, with the list given by a relative path.
if (cd "$tmp/elsewhere" && timeout 120 "$bin" run --sources ../clips/list.txt --max-frames $frames --threads 2 --quiet \
      --save "$tmp/out.mp4" --json "$tmp/out.jsonl" --summary "$tmp/sum.json" >"$tmp/stdout" 2>"$tmp/err"); then
  ok "run --sources with a list of two clips"
else
  bad "run --sources: exit $?"; cat "$tmp/err"
fi
[ ! -e "$tmp/out.mp4" ] && [ ! -e "$tmp/out.jsonl" ] && ok "no un-indexed outputs" || bad "un-indexed outputs written"

python3 - "$tmp" $frames <<'PY' && ok "each listed stream: resolved next to the list, every frame processed, in order" || bad "--sources outputs"
import json, os, subprocess, sys
t, frames = sys.argv[1], int(sys.argv[2])
agg = json.load(open(t + "/sum.json"))
assert agg["streams"] == 2 and len(agg["per_stream"]) == 2, agg
for i, name in enumerate(["a.mp4", "sub/b.mp4"]):
    per = agg["per_stream"][i]
    # Relative to the list's directory (as given: ../clips from elsewhere/), whatever the working directory.
    assert os.path.realpath(os.path.join(t, "elsewhere", per["source"])) == os.path.realpath(os.path.join(t, "clips", name)), per
    s = json.load(open(f"{t}/sum.{i}.json"))
    assert s["frames_in"] == frames and s["frames_processed"] == frames and s["frames_dropped"] == 0, s  # files: lossless
    lines = [json.loads(l) for l in open(f"{t}/out.{i}.jsonl")]
    assert len(lines) == frames, (i, len(lines))
    idx = [l["frame"] for l in lines]
    assert idx == sorted(idx) and len(set(idx)) == frames, idx
    assert sum(1 for l in lines if l["persons"]) >= frames - 2, "the dancer should be found in each stream"
    n = subprocess.run(["gst-launch-1.0", "-v", "filesrc", f"location={t}/out.{i}.mp4", "!", "decodebin", "!",
                        "fakesink", "silent=false"], capture_output=True, text=True, timeout=60).stdout.count("chain")
    assert n == frames, (i, n)
assert agg["frames_processed"] == 2 * frames, agg
PY

# --source and --sources together: the --source streams first, then the list's, in order.
rm -f "$tmp"/sum*.json
frames=4
if timeout 120 "$bin" run --sources "$tmp/clips/list.txt" --source "$tmp/c.mp4" --max-frames $frames --threads 2 --quiet \
    --summary "$tmp/sum.json" >"$tmp/stdout" 2>"$tmp/err"; then
  ok "run --source with --sources"
else
  bad "run --source with --sources: exit $?"; cat "$tmp/err"
fi
python3 - "$tmp" $frames <<'PY' && ok "--source streams come before the listed ones, all processed" || bad "--source + --sources order"
import json, os, sys
t, frames = sys.argv[1], int(sys.argv[2])
agg = json.load(open(t + "/sum.json"))
got = [os.path.realpath(p["source"]) for p in agg["per_stream"]]
want = [os.path.realpath(os.path.join(t, n)) for n in ["c.mp4", "clips/a.mp4", "clips/sub/b.mp4"]]
assert got == want, (got, want)
assert all(p["frames_processed"] == frames for p in agg["per_stream"]), agg
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
outs=(--save "$tmp/e/o.mp4" --json "$tmp/e/o.jsonl" --summary "$tmp/e/s.json")
expect_error "missing list file" "--sources .*/nope.txt: no such file" -- \
  "$bin" run --sources "$tmp/nope.txt" "${outs[@]}"
expect_error "a directory as the list" "--sources .*/clips: is a directory" -- \
  "$bin" run --sources "$tmp/clips" "${outs[@]}"
expect_error "--sources with an empty name" "--sources : no such file" -- \
  "$bin" run --sources "" "${outs[@]}"
printf '# nothing but comments\n\n   \n#a.mp4\n' >"$tmp/clips/empty.txt"
expect_error "a list without sources" "--sources .*/empty.txt: no sources in the list" -- \
  "$bin" run --sources "$tmp/clips/empty.txt" "${outs[@]}"
: >"$tmp/clips/zero.txt"
expect_error "an empty file" "--sources .*/zero.txt: no sources in the list" -- \
  "$bin" run --source "$tmp/c.mp4" --sources "$tmp/clips/zero.txt" "${outs[@]}"
# The same file twice in the list, once written differently: the line numbers of both are named.
printf 'a.mp4\n# b\nsub/b.mp4\n\n./sub/../a.mp4\n' >"$tmp/clips/dup.txt"
expect_error "a duplicated entry in the list" \
  "a.mp4 is given more than once \(streams 0 and 2: line 1 of --sources .*/dup.txt, line 5 of --sources .*/dup.txt\)" -- \
  "$bin" run --sources "$tmp/clips/dup.txt" "${outs[@]}"
# A --source that the list repeats.
expect_error "a --source repeated in the list" \
  "sub/b.mp4 is given more than once \(streams 0 and 2: --source, line 6 of --sources .*/list.txt\)" -- \
  "$bin" run --source "$tmp/clips/sub/b.mp4" --sources "$tmp/clips/list.txt" "${outs[@]}"

finish
