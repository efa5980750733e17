#!/usr/bin/env bash
# `sparsepose optimize --quantize int8` and `--prune S` end to end: calibrating on the bundled clip
# (never on the COCO evaluation images under assets/), the written models loading and finding people,
# the reports, pruning then quantizing, and bad input — each must exit non-zero with one
# `sparsepose: error:` line naming the problem and leave no output file behind.
# Usage: optimize_test.sh path/to/sparsepose
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
model="$root/assets/models/yolo11n-pose.onnx"
clip="$root/assets/videos/dance.mp4"
# Some cases make files unwritable: restore the permissions so the directory can be removed.
trap 'chmod -R u+rwx "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT

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

# --- pruning (small and quick: 320 pixels, 4 frames of the clip)
pruned="$tmp/p.onnx"
start=$(date +%s)
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --calib "$clip" --calib-n 4 --imgsz 320 \
    --report "$tmp/p.json" -o "$pruned" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "prune 50 % obs at 320 ($(( $(date +%s) - start )) s)"
else
  bad "prune 50 %: exit $?"; cat "$tmp/stderr"
fi
grep -q "prune: obs unstructured uniform" "$tmp/stderr" && ok "prune summary" || { bad "prune summary"; cat "$tmp/stderr"; }
# Every pruned layer exactly at its target: the float model's own zeros (BN folding leaves a few) are
# removed first, so a layer has between round(target x weights) and that plus its zeros before.
python3 - "$tmp/p.json" <<'PY' && ok "prune report: exact sparsity, first conv and head dense, times" || bad "prune report"
import json, sys
r = json.load(open(sys.argv[1]))["pruning"]
assert r["method"] == "obs" and r["pattern"] == "unstructured" and r["profile"] == "uniform", r["method"]
layers = r["layers"]
body = [l for l in layers if l["role"] == "body"]
assert len(body) > 50 and all(l["pruned"] for l in body)
for l in body:
    want = round(0.5 * l["weights"])
    assert want <= l["zeros"] <= want + l["zeros_before"], l
    assert l["damage"] is not None and 0 <= l["damage"] < 1, l
    assert l["dense_ms"] >= 0 and abs(l["sparse_ms"] - l["dense_ms"] * (1 - l["sparsity"])) < 1e-9 and l["sparse_ms_modelled"]
roles = {l["role"] for l in layers}
assert {"first", "head", "grouped", "decode tail"} <= roles, roles
for l in layers:
    if l["role"] != "body": assert not l["pruned"] and l["zeros"] == l["zeros_before"], l
assert sum(l["weights"] for l in body) == r["prunable_weights"] and sum(l["zeros"] for l in body) == r["zeros"]
assert 0.5 - 1e-6 <= r["sparsity"] <= 0.5 + r["zeros_before"] / r["prunable_weights"]
assert r["cost_model"]["sparse_ms_modelled"] is True
assert 0 <= r["pose_damage"] <= 1
# Measured after pruning: every body conv (50 % zeros) timed dense against sparse, and the totals add up.
kt = r["kernel_timing"]
timed = [l for l in layers if l["kernel_timing"] is not None]
assert {l["conv"] for l in body if l["group"] == 1} <= {l["conv"] for l in timed}, "a pruned conv was not timed"
assert kt["convs_timed"] == len(timed) and kt["convs_kept_sparse"] == sum(l["kernel_timing"]["kept"] == "sparse" for l in timed)
for l in timed:
    t = l["kernel_timing"]
    assert t["dense_ms"] > 0 and t["sparse_ms"] > 0 and t["kept"] in ("dense", "sparse"), l
    assert (t["kept"] == "sparse") == (t["sparse_ms"] < 0.97 * t["dense_ms"]), l
assert abs(kt["dense_ms_total"] - sum(l["kernel_timing"]["dense_ms"] for l in timed)) < 1e-6
assert abs(kt["kept_ms_total"] - sum(l["kernel_timing"][l["kernel_timing"]["kept"] + "_ms"] for l in timed)) < 1e-6
PY
"$bin" predict --model "$pruned" --imgsz 320 "$root/assets/images/zidane.jpg" >"$tmp/stdout" 2>&1 \
  && grep -qE "zidane.jpg: 1280x720, [0-9]+ person" "$tmp/stdout" && ok "the pruned model runs" || { bad "predict with the pruned model"; cat "$tmp/stdout"; }
# OBS must beat magnitude on the same frames (label-free pose damage against the float model; on the dev
# set at 640, 50 %: pose AP 0.371 against 0.012, docs/PRUNING.md). Magnitude needs no Hessian: quick.
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --prune-method magnitude --calib "$clip" --calib-n 4 --imgsz 320 \
    --report "$tmp/pm.json" -o "$tmp/pm.onnx" >"$tmp/stdout" 2>"$tmp/stderr"; then
  python3 - "$tmp/p.json" "$tmp/pm.json" <<'PY' && ok "obs damages the poses less than magnitude" || bad "obs vs magnitude"
import json, sys
obs, mag = (json.load(open(f))["pruning"] for f in sys.argv[1:3])
assert mag["method"] == "magnitude" and mag["pose_damage_frames"] == obs["pose_damage_frames"]
print(f"  pose damage at 50 %, 320: obs {obs['pose_damage']:.3f}, magnitude {mag['pose_damage']:.3f}")
assert obs["pose_damage"] < mag["pose_damage"], (obs["pose_damage"], mag["pose_damage"])
PY
else
  bad "prune magnitude: exit $?"; cat "$tmp/stderr"
fi
# ADMM on the same frames: the same exact sparsity, and a lower output error than OBS on most layers
# (it minimises the same objective, with a revisable mask and the exact refit; docs/PRUNING.md).
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --prune-method admm --calib "$clip" --calib-n 4 --imgsz 320 \
    --report "$tmp/pa.json" -o "$tmp/pa.onnx" >"$tmp/stdout" 2>"$tmp/stderr"; then
  python3 - "$tmp/p.json" "$tmp/pa.json" <<'PY' && ok "admm: exact sparsity, lower layer error than obs" || bad "admm vs obs"
import json, math, sys
obs, admm = (json.load(open(f))["pruning"] for f in sys.argv[1:3])
assert admm["method"] == "admm" and admm["admm"]["rho"] > 0, admm["method"]
o = {l["conv"]: l for l in obs["layers"]}
ratios = []
for l in admm["layers"]:
    if l["role"] != "body": continue
    want = round(0.5 * l["weights"])
    assert want <= l["zeros"] <= want + l["zeros_before"], l
    assert l["damage"] is not None and 0 <= l["damage"] < 1, l
    if o[l["conv"]]["damage"] > 0: ratios.append(l["damage"] / o[l["conv"]]["damage"])
g = math.exp(sum(math.log(max(r, 1e-12)) for r in ratios) / len(ratios))
print(f"  layer output error, admm / obs: geometric mean {g:.2f} over {len(ratios)} layers; pose damage "
      f"{admm['pose_damage']:.3f} / {obs['pose_damage']:.3f}")
assert g < 0.9, g
PY
else
  bad "prune admm: exit $?"; cat "$tmp/stderr"
fi

# Quantizing the pruned model keeps every pruned weight exactly zero (s8 symmetric: round(0 / scale) = 0).
pq0="$tmp/pq0.onnx"
if timeout 300 "$bin" optimize --model "$pruned" --quantize int8 --no-sensitivity --calib "$clip" --calib-n 2 --imgsz 320 \
    -o "$pq0" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "quantize the pruned model"
else
  bad "quantize the pruned model: exit $?"; cat "$tmp/stderr"
fi
if [ -n "$onnx_py" ]; then
  "$onnx_py" - "$pruned" "$pq0" <<'PY' && ok "pruned weights stay exactly zero in int8" || bad "pruned zeros after int8"
import sys, onnx
from onnx import numpy_helper
f = {t.name: numpy_helper.to_array(t) for t in onnx.load(sys.argv[1]).graph.initializer}
q = {t.name: numpy_helper.to_array(t) for t in onnx.load(sys.argv[2]).graph.initializer}
checked = zeros = 0
for name, w in f.items():
    if w.ndim != 4 or name + "_q" not in q: continue
    wq = q[name + "_q"]
    assert wq.dtype.name == "int8" and wq.shape == w.shape, name
    assert (wq[w == 0] == 0).all(), name  # every float zero is an int8 zero
    checked += 1; zeros += int((w == 0).sum())
assert checked > 50 and zeros > 1_000_000, (checked, zeros)
PY
fi

# Pruned, then quantized in one run (magnitude, 4-input-channel blocks): both stages in one file and report.
pq="$tmp/pq.onnx"
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --prune-method magnitude --pattern block-k4 --quantize int8 \
    --no-sensitivity --calib "$clip" --calib-n 4 --imgsz 320 --report "$tmp/pq.json" -o "$pq" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "prune (magnitude, block-k4) then quantize"
else
  bad "prune then quantize: exit $?"; cat "$tmp/stderr"
fi
python3 - "$tmp/pq.json" <<'PY' && ok "prune + int8 report" || bad "prune + int8 report"
import json, sys
r = json.load(open(sys.argv[1]))
p = r["pruning"]
assert p["method"] == "magnitude" and p["pattern"] == "block-k4" and p["sparsity"] >= 0.5 - 1e-6
for l in p["layers"]:
    if l["pruned"]:
        assert l["pattern"] == "block-k4" and l["zeros"] >= round(0.5 * l["weights"] / 4) * 4, l
        assert l["damage"] is None  # magnitude measures no Hessian
assert r["convs_int8"] == 96 and r["method"] == "minmax"
PY
if [ -n "$onnx_py" ]; then
  "$onnx_py" - "$pq" "$tmp/pq.json" <<'PY' && ok "int8 weights hold the block-k4 zeros" || bad "block-k4 zeros in int8"
import json, sys, onnx
from onnx import numpy_helper
q = {t.name: numpy_helper.to_array(t) for t in onnx.load(sys.argv[1]).graph.initializer}
m = onnx.load(sys.argv[1])
weight_of = {n.name: n.input[1] for n in m.graph.node if n.op_type == "Conv"}
pruned = [l for l in json.load(open(sys.argv[2]))["pruning"]["layers"] if l["pruned"]]
assert len(pruned) > 50
for l in pruned:
    wq = q[weight_of[l["conv"]] + "_q"]          # [O][C][kh][kw] int8
    o, c, kh, kw = wq.shape
    groups = wq.transpose(0, 2, 3, 1).reshape(o, kh, kw, c // 4, 4)
    zero_groups = int((groups == 0).all(axis=-1).sum())
    assert zero_groups >= round(0.5 * (o * kh * kw * c // 4)), (l["conv"], zero_groups)
PY
fi
"$bin" predict --model "$pq" --imgsz 320 "$root/assets/images/zidane.jpg" >"$tmp/stdout" 2>&1 \
  && grep -qE "person" "$tmp/stdout" && ok "the pruned int8 model runs" || { bad "predict with the pruned int8 model"; cat "$tmp/stdout"; }

# ONNX Runtime runs the pruned file, and its AP on the bundled COCO subset is ours (the runtime is the only difference).
if [ ! -d "$root/bench/node_modules/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "skip ONNX Runtime on the pruned model: run bench/setup_ort.sh to install onnxruntime-node"
else
  ann="$root/assets/coco/person_keypoints.json"; imgs="$root/assets/coco/images"
  if "$bin" eval --annotations "$ann" --images "$imgs" --model "$pruned" --dump-inputs "$tmp/in" >/dev/null 2>"$tmp/stderr" &&
     node "$root/bench/ort_eval.js" --model "$pruned" --inputs "$tmp/in" --outputs "$tmp/ort" --threads 2 >/dev/null 2>>"$tmp/stderr" &&
     "$bin" eval --annotations "$ann" --images "$imgs" --outputs-from "$tmp/ort" --json >"$tmp/ort.json" 2>>"$tmp/stderr" &&
     "$bin" eval --annotations "$ann" --images "$imgs" --model "$pruned" --decode exported --json >"$tmp/ours.json" 2>>"$tmp/stderr"; then
    python3 - "$tmp/ort.json" "$tmp/ours.json" <<'PY' && ok "ONNX Runtime runs the pruned model: same AP as ours" || bad "ORT AP on the pruned model"
import json, sys
ort, ours = (json.load(open(p)) for p in sys.argv[1:3])
for t in ("keypoints", "bbox"):
    print(f"  pruned model, {t}: ORT AP {ort[t]['AP']:.4f}, ours {ours[t]['AP']:.4f}")
    assert abs(ort[t]["AP"] - ours[t]["AP"]) < 0.005 and abs(ort[t]["AP50"] - ours[t]["AP50"]) < 0.005, t
PY
  else
    bad "ONNX Runtime on the pruned model"; cat "$tmp/stderr"
  fi
  rm -rf "$tmp/in" "$tmp/ort"
fi

# The sensitivity profile, tiny: 160 pixels, 2 frames.
if timeout 300 "$bin" optimize --model "$model" --prune 0.6 --sparsity-profile sensitivity --calib "$clip" --calib-n 2 \
    --imgsz 160 --report "$tmp/ps.json" -o "$tmp/ps.onnx" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "prune with the sensitivity profile"
else
  bad "sensitivity profile: exit $?"; cat "$tmp/stderr"
fi
python3 - "$tmp/ps.json" <<'PY' && ok "sensitivity report: curves, allocation at the exact target" || bad "sensitivity report"
import json, sys
p = json.load(open(sys.argv[1]))["pruning"]
assert p["profile"] == "sensitivity" and 0.6 - 1e-6 <= p["sparsity"] <= 0.6 + p["zeros_before"] / p["prunable_weights"], p["sparsity"]
s = p["sensitivity"]
assert s["levels"] == [0.4, 0.5, 0.6, 0.7, 0.8], s["levels"]
body = [l for l in p["layers"] if l["role"] == "body"]
assert all(len(l["pose_damage"]["damage"]) == 5 for l in body)
assert all(0 <= l["target"] <= 0.8 + 1e-9 for l in body)
assert abs(sum(l["target"] * l["weights"] for l in body) / p["prunable_weights"] - 0.6) < 1e-6
for l in body:
    want = round(l["target"] * l["weights"])
    assert want <= l["zeros"] <= want + l["zeros_before"], l
assert len(s["steps"]) > 0
PY

# The accuracy profile: the same curves, allocated by damage per weight removed.
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --sparsity-profile accuracy --calib "$clip" --calib-n 2 \
    --imgsz 160 --report "$tmp/pa.json" -o "$tmp/pa.onnx" >"$tmp/stdout" 2>"$tmp/stderr"; then
  ok "prune with the accuracy profile"
else
  bad "accuracy profile: exit $?"; cat "$tmp/stderr"
fi
python3 - "$tmp/pa.json" <<'PY' && ok "accuracy report: curves, steps by damage per weight, exact target" || bad "accuracy report"
import json, sys
p = json.load(open(sys.argv[1]))["pruning"]
assert p["profile"] == "accuracy", p["profile"]
s = p["sensitivity"]
assert s["levels"] == [0.3, 0.4, 0.5, 0.6, 0.7], s["levels"]
body = [l for l in p["layers"] if l["role"] == "body"]
assert all(len(l["pose_damage"]["damage"]) == 5 for l in body)
assert all(0 <= l["target"] <= 0.7 + 1e-9 for l in body)
for l in body:
    want = round(l["target"] * l["weights"])
    assert want <= l["zeros"] <= want + l["zeros_before"], l
assert abs(sum(l["target"] * l["weights"] for l in body) / p["prunable_weights"] - 0.5) < 1e-6
assert s["steps"] and all("damage_per_weight" in st for st in s["steps"])
PY

# The SiLU refit after ADMM towards the float outputs: every body conv followed by a SiLU is refitted
# (all but the attention block's qkv, proj and ffn.1, which have none), its SiLU-output error on the
# samples never rises, and the zeros stay at the target.
if timeout 300 "$bin" optimize --model "$model" --prune 0.5 --prune-method admm --float-target --silu-refit --calib "$clip" \
    --calib-n 2 --imgsz 160 --report "$tmp/psr.json" -o "$tmp/psr.onnx" >"$tmp/stdout" 2>"$tmp/stderr"; then
  python3 - "$tmp/psr.json" <<'PY' && ok "silu refit: every conv with a SiLU refitted, error not higher, exact sparsity" || bad "silu refit report"
import json, sys
p = json.load(open(sys.argv[1]))["pruning"]
body = [l for l in p["layers"] if l["role"] == "body"]
plain = [l["conv"] for l in body if "silu_refit" not in l]
assert sorted(c.split("/")[-3] for c in plain) == ["ffn.1", "proj", "qkv"], plain
body = [l for l in body if "silu_refit" in l]
assert all(l["silu_refit"]["error_after"] <= l["silu_refit"]["error_before"] for l in body)
assert sum(l["silu_refit"]["error_after"] < l["silu_refit"]["error_before"] for l in body) > len(body) // 2
for l in body:
    want = round(0.5 * l["weights"])
    assert want <= l["zeros"] <= want + l["zeros_before"], l
PY
else
  bad "silu refit: exit $?"; cat "$tmp/stderr"
fi

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


# Pruning's own bad input.
popt=("$bin" optimize --model "$model" --calib-n 2 --imgsz 160)
expect_error "--prune 0" "sparsity must be in \(0, 0.99\], got 0" "$o" -- "${popt[@]}" --calib "$clip" --prune 0 -o "$o"
expect_error "--prune 0.995" "sparsity must be in \(0, 0.99\]" "$o" -- "${popt[@]}" --calib "$clip" --prune 0.995 -o "$o"
expect_error "--prune 1.5" "sparsity must be in \(0, 0.99\]" "$o" -- "${popt[@]}" --calib "$clip" --prune 1.5 -o "$o"
expect_error "bad --prune-method" "unknown method 'optimal'" "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --prune-method optimal -o "$o"
expect_error "bad --pattern" "unknown pattern 'block-z4'" "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --pattern block-z4 -o "$o"
expect_error "--silu-refit without --float-target" "silu-refit needs --float-target" "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --silu-refit -o "$o"
expect_error "bad --sparsity-profile" "unknown profile 'greedy'" "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --sparsity-profile greedy -o "$o"
expect_error "block pattern vs the first conv's 3 channels" "block-k4: conv '/model.0/conv/Conv' \(first\): 3 input channels are not a multiple of 4" \
  "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --pattern block-k4 --prune-first -o "$o"
expect_error "block pattern vs the head's 51 keypoint channels" "block-o4: conv '.*cv4.*' \(head\): 51 output channels are not a multiple of 4" \
  "$o" -- "${popt[@]}" --calib "$clip" --prune 0.5 --pattern block-o4 --prune-head -o "$o"
expect_error "prune with an empty calib directory" "is empty" "$o" -- "${popt[@]}" --prune 0.5 --calib "$tmp/empty" -o "$o"
expect_error "prune with unreadable images" "no readable image" "$o" -- "${popt[@]}" --prune 0.5 --calib "$tmp/fakes" -o "$o"
expect_error "prune an already quantized model" "already quantized" "$o" -- "$bin" optimize --model "$root/assets/models/yolo11n-pose_sp-int8.onnx" \
  --prune 0.5 --calib "$clip" -o "$o"
# A model whose only conv is depthwise (written here as raw protobuf: no onnx module needed).
python3 - "$tmp/dw.onnx" <<'PY'
import struct, sys
def varint(n):
    out = b""
    while True:
        b = n & 0x7F; n >>= 7
        out += bytes([b | (0x80 if n else 0)])
        if not n: return out
def field(num, wire, payload):
    key = varint(num << 3 | wire)
    return key + (varint(payload) if wire == 0 else varint(len(payload)) + payload)
def s(num, text): return field(num, 2, text.encode() if isinstance(text, str) else text)
def attr_int(name, v): return s(1, name) + field(3, 0, v) + field(20, 0, 2)
def attr_ints(name, vs): return s(1, name) + b"".join(field(8, 0, v) for v in vs) + field(20, 0, 7)
def value_info(name, dims):
    shape = b"".join(s(1, field(1, 0, d)) for d in dims)
    return s(1, name) + s(2, s(1, field(1, 0, 1) + s(2, shape)))
w = s(8, "w") + b"".join(field(1, 0, d) for d in (3, 1, 3, 3)) + field(2, 0, 1) + s(9, struct.pack("<27f", *([0.1] * 27)))
node = s(1, "images") + s(1, "w") + s(2, "out") + s(3, "dw") + s(4, "Conv") + s(5, attr_int("group", 3)) \
    + s(5, attr_ints("pads", (1, 1, 1, 1))) + s(5, attr_ints("kernel_shape", (3, 3)))
graph = s(1, node) + s(2, "g") + s(5, w) + s(11, value_info("images", (1, 3, 32, 32))) + s(12, value_info("out", (1, 3, 32, 32)))
model = field(1, 0, 8) + s(8, s(1, "") + field(2, 0, 17)) + s(7, graph)
open(sys.argv[1], "wb").write(model)
PY
expect_error "model without a prunable conv" "dw.onnx: no prunable convolution" "$o" -- "$bin" optimize --model "$tmp/dw.onnx" \
  --prune 0.5 --calib "$clip" -o "$o"

finish "optimize integration"
