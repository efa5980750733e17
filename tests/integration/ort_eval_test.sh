#!/usr/bin/env bash
# The external-runtime evaluation route on the bundled COCO subset (50 images):
#   eval --dump-inputs DIR  ->  bench/ort_eval.js  ->  eval --outputs-from DIR
# checks its one-line errors, and, when ONNX Runtime is installed (bench/setup_ort.sh), that ORT through
# this route gives the AP of our own `eval --decode exported` on the float model (the runtime is the only
# difference, so they must agree closely). Usage: ort_eval_test.sh path/to/sparsepose
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"

ann="$root/assets/coco/person_keypoints.json"
imgs="$root/assets/coco/images"
model="$root/assets/models/yolo11n-pose.onnx"
eval_args=(eval --annotations "$ann" --images "$imgs")

# expect_error NAME PATTERN -- command...: non-zero exit, one short stderr line matching PATTERN.
expect_error() {
  local name=$1 pattern=$2
  shift 3
  timeout 120 "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ] || [ $rc -ge 124 ]; then bad "$name: exit $rc"; cat "$tmp/err"; return; fi
  if ! grep -qE "$pattern" "$tmp/err" || [ "$(grep -c . "$tmp/err")" -gt 2 ]; then bad "$name: stderr:"; cat "$tmp/err"; return; fi
  ok "$name"
}

expect_error "outputs-from missing dir" "is not a directory" -- "$bin" "${eval_args[@]}" --outputs-from "$tmp/nope"
mkdir -p "$tmp/empty"
expect_error "outputs-from without index" "cannot read .*index.json" -- "$bin" "${eval_args[@]}" --outputs-from "$tmp/empty"

if "$bin" "${eval_args[@]}" --model "$model" --dump-inputs "$tmp/in" >"$tmp/out" 2>"$tmp/err" &&
   [ "$(ls "$tmp/in"/*.bin | wc -l)" -eq 50 ] && [ "$(stat -c %s "$(ls "$tmp/in"/*.bin | head -1)")" -eq $((3 * 640 * 640 * 4)) ]; then
  ok "dump-inputs: 50 NCHW float32 inputs"
else
  bad "dump-inputs"; cat "$tmp/err"
fi
expect_error "outputs-from missing output file" "missing output file" -- "$bin" "${eval_args[@]}" --outputs-from "$tmp/in"

if [ ! -d "$root/bench/node_modules/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "skip ONNX Runtime round trip: run bench/setup_ort.sh to install onnxruntime-node"
else
  if node "$root/bench/ort_eval.js" --model "$model" --inputs "$tmp/in" --outputs "$tmp/ort" --threads 2 >"$tmp/out" 2>"$tmp/err" &&
     "$bin" "${eval_args[@]}" --outputs-from "$tmp/ort" --json >"$tmp/ort.json" 2>"$tmp/err" &&
     "$bin" "${eval_args[@]}" --model "$model" --decode exported --threads 2 --json >"$tmp/ours.json" 2>>"$tmp/err"; then
    python3 - "$tmp/ort.json" "$tmp/ours.json" <<'PY' && ok "ORT via --outputs-from matches eval --decode exported" || bad "ORT round trip AP"
import json, sys
ort, ours = (json.load(open(p)) for p in sys.argv[1:3])
assert ort["source"] == "external-outputs", ort.get("source")
for t in ("keypoints", "bbox"):
    d = max(abs(ort[t][k] - ours[t][k]) for k in ours[t])
    print(f"  {t}: ORT AP {ort[t]['AP']:.4f}, ours {ours[t]['AP']:.4f}, max stat diff {d:.5f}")
    assert d < 0.005, (t, d)
PY
  else
    bad "ORT round trip"; cat "$tmp/err"
  fi
fi

finish
