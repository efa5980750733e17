#!/usr/bin/env bash
# `sparsepose optimize --quantize int8` end to end: calibrating on the bundled clip (never on the COCO
# evaluation images under assets/), the written QDQ model loading and finding people, the report, and
# bad input — each must exit non-zero with one `sparsepose: error:` line naming the problem and leave
# no output file behind.
# Usage: optimize_test.sh path/to/sparsepose
set -uo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
model="$root/assets/models/yolo11n-pose.onnx"
clip="$root/assets/videos/dance.mp4"
tmp=$(mktemp -d)
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# expect_error NAME PATTERN OUT -- command...: non-zero exit (no signal, no timeout), exactly one stderr
# line, "sparsepose: error: ..." matching PATTERN, and neither OUT nor OUT.tmp left behind.
expect_error() {
  local name=$1 pattern=$2 out=$3
  shift 4
  timeout 120 "$@" >"$tmp/stdout" 2>"$tmp/stderr"
  local rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if [ $rc -ge 124 ]; then bad "$name: exit $rc (timeout or signal)"; cat "$tmp/stderr"; return; fi
  if [ "$(grep -c . "$tmp/stderr")" -ne 1 ]; then bad "$name: not exactly one line on stderr:"; cat "$tmp/stderr"; return; fi
  if ! grep -qE "^sparsepose: error: .*($pattern)" "$tmp/stderr"; then bad "$name: stderr does not match '$pattern':"; cat "$tmp/stderr"; return; fi
  if [ -e "$out" ] || [ -e "$out.tmp" ]; then bad "$name: left $out behind"; return; fi
  ok "$name"
}

opt=("$bin" optimize --model "$model" --quantize int8)  # an array, not a function: `timeout` runs it

# --- the happy paths
out="$tmp/q.onnx"
if timeout 300 "$bin" optimize --model "$model" --quantize int8 --calib "$clip" --calib-n 8 --no-sensitivity \
    --report "$tmp/q.json" -o "$out" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "optimize on the clip, 8 frames, no sensitivity"
else
  bad "optimize on the clip: exit $?"; cat "$tmp/stderr"
fi
grep -q "8 video frames" "$tmp/stderr" && grep -q "96 of 97 convs int8" "$tmp/stderr" && ok "summary: frames and convs" \
  || { bad "summary"; cat "$tmp/stderr"; }
[ ! -e "$out.tmp" ] && ok "no temporary file left" || bad "temporary file left"
if "$bin" predict --model "$out" --json "$tmp/pred.json" "$root/assets/images/bus.jpg" >/dev/null 2>"$tmp/stderr"; then
  python3 - "$tmp/pred.json" <<'PY' && ok "the int8 model finds the people on bus.jpg" || bad "int8 predict on bus.jpg"
import json, sys
persons = json.load(open(sys.argv[1]))["images"][0]["persons"]
assert len(persons) >= 3, len(persons)  # the float model finds 4
assert all(p["score"] > 0.25 for p in persons)
PY
else
  bad "predict with the int8 model"; cat "$tmp/stderr"
fi
python3 - "$tmp/q.json" <<'PY' && ok "report JSON" || bad "report JSON"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["method"] in ("minmax", "percentile", "entropy"), r["method"]
assert r["frames"] == 8 and r["calib_source"] == "video"
assert r["convs_int8"] == 96 and r["float_convs"] == []
acts = r["activations"]
assert acts["images"]["scale"] == 1 / 255 or abs(acts["images"]["scale"] - 1 / 255) < 1e-9
assert acts["images"]["zero_point"] == 0
assert all(a["scale"] > 0 and 0 <= a["zero_point"] <= 255 for a in acts.values())
PY
onnx_py=""
for py in python3 /usr/bin/python3; do
  if "$py" -c "import onnx" 2>/dev/null; then onnx_py=$py; break; fi
done
if [ -n "$onnx_py" ]; then
  "$onnx_py" - "$out" <<'PY' && ok "onnx.checker accepts the QDQ model" || bad "onnx.checker"
import collections, onnx, sys
m = onnx.load(sys.argv[1])
ops = collections.Counter(n.op_type for n in m.graph.node)
assert ops["QuantizeLinear"] > 100 and ops["DequantizeLinear"] > ops["QuantizeLinear"], ops
keys = {p.key for p in m.metadata_props}
assert "kpt_shape" in keys and "sparsepose.quantization" in keys, keys
# This onnx may predate the model's IR/opset: check a copy relabelled to what it knows (same ops).
m.ir_version = min(m.ir_version, onnx.IR_VERSION)
latest = onnx.defs.onnx_opset_version()
for o in m.opset_import:
    if o.domain in ("", "ai.onnx"): o.version = min(o.version, latest)
onnx.checker.check_model(m, full_check=True)
PY
else
  echo "skip onnx.checker: python3 has no onnx module"
fi

# With the sensitivity pass, small and quick: 320 pixels, 4 frames.
out2="$tmp/s.onnx"
start=$(date +%s)
if timeout 300 "$bin" optimize --model "$model" --quantize int8 --calib "$clip" --calib-n 4 --imgsz 320 \
    --calib-method minmax --report "$tmp/s.json" -o "$out2" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "optimize with sensitivity at 320 ($(( $(date +%s) - start )) s)"
else
  bad "optimize with sensitivity: exit $?"; cat "$tmp/stderr"
fi
python3 - "$tmp/s.json" <<'PY' && ok "sensitivity report: per-conv damage and time, steps, kept-out set" || bad "sensitivity report"
import json, sys
s = json.load(open(sys.argv[1]))
sens = s["sensitivity"]
assert sens["enabled"] and sens["frames"] == 4 and sens["goal"].startswith("fastest")
per = sens["per_conv"]
assert len(per) == 96 and all(0 <= d["damage"] <= 1 for d in per)
other = "ms_bf16" if s["float_precision"] == "bf16" else "ms_fp32"
assert all(d["ms_int8"] > 0 and d[other] > 0 for d in per), "every conv timed both ways"
assert sens["goal_met"] == (sens["predicted_ap_loss_after"] <= sens["max_drop"] + 1e-12)
assert abs(sens["predicted_ap_loss_after"] - sens["damage_after"] * sens["ap_loss_per_damage"]) < 1e-9
assert sens["damage_after"] <= sens["damage_before"] + 1e-12
kept = [d["conv"] for d in per if d["kept_out"]]
assert sorted(kept) == sorted(s["float_convs"]) and s["convs_int8"] == 96 - len(kept)
assert sens["latency_ms"] > 0 and sens["latency_ms_all_int8"] > 0 and len(sens["steps"]) >= 1
PY
"$bin" predict --model "$out2" --imgsz 320 "$root/assets/images/zidane.jpg" >"$tmp/stdout" 2>&1 \
  && grep -qE "[1-9] person" "$tmp/stdout" && ok "the sensitivity-chosen model finds people" || { bad "predict 320"; cat "$tmp/stdout"; }

# --target-ms that no model meets: one warning naming it, and the fastest model found is written.
out3="$tmp/t.onnx"
if timeout 300 "$bin" optimize --model "$model" --quantize int8 --calib "$clip" --calib-n 2 --imgsz 160 \
    --calib-method minmax --target-ms 0.001 --report "$tmp/t.json" -o "$out3" >"$tmp/stdout" 2>"$tmp/stderr"; then
  grep -q "^sparsepose: warning: no model meets --target-ms 0.00" "$tmp/stderr" && [ -s "$out3" ] \
    && ok "--target-ms nothing meets: warning and the fastest model written" || { bad "--target-ms warning"; cat "$tmp/stderr"; }
  python3 - "$tmp/t.json" <<'PY' && ok "--target-ms report: goal not met, every conv int8" || bad "--target-ms report"
import json, sys
s = json.load(open(sys.argv[1]))
sens = s["sensitivity"]
assert sens["goal"].startswith("most accurate") and sens["target_ms"] == 0.001 and sens["goal_met"] is False
assert s["float_convs"] == [] and s["convs_int8"] == 96
assert sens["latency_ms"] == sens["latency_ms_all_int8"]
PY
else
  bad "optimize --target-ms: exit $?"; cat "$tmp/stderr"
fi

# --- bad input
o="$tmp/bad.onnx"
expect_error "missing calib path" "nope.*does not exist" "$o" -- "${opt[@]}" --calib "$tmp/nope" -o "$o"
mkdir "$tmp/empty"
expect_error "empty calib directory" "is empty" "$o" -- "${opt[@]}" --calib "$tmp/empty" -o "$o"
mkdir "$tmp/texts"; echo "hello" >"$tmp/texts/readme.txt"
expect_error "directory without image files" "no image file" "$o" -- "${opt[@]}" --calib "$tmp/texts" -o "$o"
mkdir "$tmp/fakes"; echo "not a jpeg" >"$tmp/fakes/a.jpg"; echo "not a png" >"$tmp/fakes/b.png"
expect_error "directory of unreadable images" "no readable image.*2 image files" "$o" -- "${opt[@]}" --calib "$tmp/fakes" -o "$o"
if [ "$(id -u)" -eq 0 ]; then
  echo "skip unreadable calib directory (chmod 000): running as root, which reads anything"
else
  mkdir "$tmp/locked"; cp "$root/assets/images/bus.jpg" "$tmp/locked/"; chmod 000 "$tmp/locked"
  expect_error "unreadable calib directory" "cannot read directory" "$o" -- "${opt[@]}" --calib "$tmp/locked" -o "$o"
  chmod 700 "$tmp/locked"
fi
head -c 5000 /dev/urandom >"$tmp/noise.mp4"
expect_error "video with no decodable frame" "noise.mp4" "$o" -- "${opt[@]}" --calib "$tmp/noise.mp4" -o "$o"
expect_error "bad --calib-method" "calibration method 'kl'" "$o" -- "${opt[@]}" --calib "$clip" --calib-method kl -o "$o"
expect_error "--calib-n 0" "calib-n must be at least 1" "$o" -- "${opt[@]}" --calib "$clip" --calib-n 0 -o "$o"
expect_error "bad --fallback" "fallback must be auto, bf16 or fp32, got 'int4'" "$o" -- "${opt[@]}" --calib "$clip" --fallback int4 -o "$o"
expect_error "negative --target-ms" "target-ms must be a positive number" "$o" -- "${opt[@]}" --calib "$clip" --target-ms -3 -o "$o"
expect_error "--target-ms without sensitivity" "target-ms needs the sensitivity pass" "$o" -- "${opt[@]}" --calib "$clip" \
  --target-ms 5 --no-sensitivity -o "$o"
expect_error "--quantize int4" "only int8" "$o" -- "$bin" optimize --model "$model" --quantize int4 --calib "$clip" -o "$o"
expect_error "already quantized model" "already quantized" "$o" -- "$bin" optimize --model "$root/assets/models/yolo11n-pose_int8.onnx" \
  --quantize int8 --calib "$clip" -o "$o"
expect_error "output directory missing" "does not exist" "$tmp/nodir/x.onnx" -- "${opt[@]}" --calib "$clip" -o "$tmp/nodir/x.onnx"
if [ "$(id -u)" -ne 0 ]; then
  mkdir "$tmp/ro"; chmod 500 "$tmp/ro"
  expect_error "output directory not writable" "not writable" "$tmp/ro/x.onnx" -- "${opt[@]}" --calib "$clip" -o "$tmp/ro/x.onnx"
fi

echo "optimize integration: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
