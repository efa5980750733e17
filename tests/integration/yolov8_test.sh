#!/usr/bin/env bash
# YOLOv8-pose through the engine: bench/make_yolov8_pose.py writes YOLOv8n-pose at 320 (random weights, fixed
# seed) in both Ultralytics export layouts (8.4: branches flattened separately; 8.3: per-scale box+score
# Concat then Split); each must load, have its pose head found by structure, bench and predict; the two
# decode paths (head branches decoded in C++, the exported output0) must give the same detections; both
# layouts, being the same network, the same output0; and where ONNX Runtime is installed (bench/setup_ort.sh)
# our output0 must match ORT's on the letterboxed bus.jpg and on the benchmark input.
# Exit 77 (shown as skipped by ctest) when /usr/bin/python3 lacks python3-onnx or python3-numpy.
# Usage: yolov8_test.sh path/to/sparsepose path/to/session_outputs
set -uo pipefail
source "$(dirname "$0")/lib.sh" "$1"
dump=$(realpath "$2")
PY=/usr/bin/python3  # Debian's: python3-onnx and python3-numpy live there, not in a pyenv python

if ! "$PY" -c 'import onnx, numpy' 2>/dev/null; then
  echo "skip: $PY lacks python3-onnx or python3-numpy (scripts/setup.sh installs them)"
  exit 77
fi

for layout in 8.4 8.3; do
  m="$tmp/v8n_$layout.onnx"
  if "$PY" "$root/bench/make_yolov8_pose.py" --size n --imgsz 320 --seed 1 --ultralytics "$layout" -o "$m" 2>"$tmp/err"; then
    ok "generate YOLOv8n-pose 320, Ultralytics $layout layout"
  else
    bad "generate $layout"; cat "$tmp/err"; continue
  fi

  # The head is found by graph structure: three scales, each with a 64-channel box, 1-channel score and
  # 51-channel keypoint branch (info prints "decode path: exported" when it is not found).
  if "$bin" info --model "$m" --threads 1 >"$tmp/info" 2>"$tmp/err" && grep -q "decode path: head" "$tmp/info" &&
     [ "$(grep -cE 'head stride +(8|16|32): box .*\(64 ch\), score .*\(1 ch\), keypoints .*\(51 ch\)' "$tmp/info")" -eq 3 ]; then
    ok "$layout: info finds the pose head by structure at strides 8, 16, 32"
  else
    bad "$layout: head not found"; cat "$tmp/info" "$tmp/err"
  fi

  if "$bin" bench --model "$m" --threads 2 --warmup 1 --iters 3 --json >"$tmp/bench" 2>"$tmp/err" &&
     "$PY" -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["imgsz"] == 320 and j["latency_ms"]["p50"] > 0' "$tmp/bench"; then
    ok "$layout: bench"
  else
    bad "$layout: bench"; cat "$tmp/bench" "$tmp/err"
  fi

  for decode in head exported; do
    if ! "$bin" predict --model "$m" --decode "$decode" --threads 2 --json "$tmp/pred_${layout}_$decode.json" \
         "$root/assets/images/bus.jpg" "$root/assets/images/zidane.jpg" >/dev/null 2>"$tmp/err"; then
      bad "$layout: predict --decode $decode"; cat "$tmp/err"
    fi
  done
done

# Names must not matter: every node and intermediate tensor renamed to n<i> / t<i>, the head is still found.
if "$PY" - "$tmp/v8n_8.4.onnx" "$tmp/anon.onnx" <<'PY'
import sys
import onnx
m = onnx.load(sys.argv[1])
g = m.graph
keep = {i.name for i in g.input} | {o.name for o in g.output}
names = {}
def rename(v):
    if not v or v in keep:
        return v
    return names.setdefault(v, f"t{len(names)}")
for t in g.initializer:
    t.name = rename(t.name)
for i, n in enumerate(g.node):
    n.name = f"n{i}"
    n.input[:] = [rename(v) for v in n.input]
    n.output[:] = [rename(v) for v in n.output]
onnx.save(m, sys.argv[2])
PY
then
  if "$bin" info --model "$tmp/anon.onnx" --threads 1 >"$tmp/info" 2>"$tmp/err" && grep -q "decode path: head" "$tmp/info"; then
    ok "head found with every node and tensor renamed"
  else
    bad "head not found once renamed"; cat "$tmp/info" "$tmp/err"
  fi
else
  bad "rename the model's nodes"
fi

# The decode-tail constants (anchor grid, strides, Reshape targets) for another size: the 640 model made
# 320 by bench/respecialize_model.py must equal the 320 model (the weights do not depend on --imgsz).
if "$PY" "$root/bench/make_yolov8_pose.py" --size n --imgsz 640 --seed 1 -o "$tmp/v8n_640.onnx" 2>"$tmp/err" &&
   "$PY" "$root/bench/respecialize_model.py" "$tmp/v8n_640.onnx" "$tmp/v8n_640_to_320.onnx" --imgsz 320 2>>"$tmp/err" &&
   "$PY" - "$tmp/v8n_640_to_320.onnx" "$tmp/v8n_8.4.onnx" <<'PY'
import sys
import numpy as np
import onnx
from onnx import numpy_helper
a, b = ({t.name: numpy_helper.to_array(t) for t in onnx.load(p).graph.initializer} for p in sys.argv[1:3])
assert a.keys() == b.keys()
bad = [k for k in a if a[k].shape != b[k].shape or not np.array_equal(a[k], b[k])]
assert not bad, bad
PY
then
  ok "640 model respecialized to 320 equals the 320 model (decode constants, weights)"
else
  bad "640 -> 320 respecialization differs from the 320 model"; cat "$tmp/err"
fi

# Detections: both decode paths of both layouts against the 8.4 head decode. Random weights detect "persons"
# anywhere; what matters is that every path finds the same ones. Boxes in pixels of the original image.
"$PY" - "$tmp" <<'PY' && ok "predict: both decode paths of both layouts give the same detections" || bad "predict: decode paths or layouts disagree"
import json, sys
t = sys.argv[1]
load = lambda name: json.load(open(f"{t}/pred_{name}.json"))["images"]
ref = load("8.4_head")
assert sum(len(i["persons"]) for i in ref) > 0, "no detections at all: the generated weights saturate"
for name in ("8.4_exported", "8.3_head", "8.3_exported"):
    for a, b in zip(ref, load(name)):
        assert len(a["persons"]) == len(b["persons"]), (name, a["image"], len(a["persons"]), len(b["persons"]))
        for p, q in zip(a["persons"], b["persons"]):
            assert max(abs(x - y) for x, y in zip(p["box"], q["box"])) < 0.5, (name, p["box"], q["box"])
            assert abs(p["score"] - q["score"]) < 1e-3, (name, p["score"], q["score"])
            for k, l in zip(p["keypoints"], q["keypoints"]):
                assert abs(k[0] - l[0]) < 0.5 and abs(k[1] - l[1]) < 0.5 and abs(k[2] - l[2]) < 1e-3, (name, k, l)
print("  detections per image:", [len(i["persons"]) for i in ref])
PY

# output0 on two inputs: bus.jpg letterboxed to 320 (tests/golden's input, 2x2-averaged) and the benchmark
# input lcg32-v1 of bench/ort_bench.js, written as a `sparsepose eval --dump-inputs` directory.
mkdir -p "$tmp/in"
"$PY" - "$root" "$tmp/in" <<'PY' || bad "write inputs"
import json, sys
import numpy as np
root, out = sys.argv[1], sys.argv[2]
u8 = np.fromfile(f"{root}/tests/golden/input_640.u8", np.uint8).reshape(3, 640, 640).astype(np.int32)
bus = (u8[:, 0::2, 0::2] + u8[:, 0::2, 1::2] + u8[:, 1::2, 0::2] + u8[:, 1::2, 1::2] + 2) >> 2
(bus.astype(np.float32) / np.float32(255)).tofile(f"{out}/1.bin")
n, s = 3 * 320 * 320, 0x2545F491
b = np.empty(n, np.uint32)
for i in range(n):
    s = (1664525 * s + 1013904223) & 0xFFFFFFFF
    b[i] = s >> 24
(b.astype(np.float32) / np.float32(255)).tofile(f"{out}/2.bin")
json.dump({"format": "sparsepose-eval-inputs-v1", "layout": "NCHW", "dtype": "float32", "shape": [1, 3, 320, 320],
           "images": [{"id": 1, "input": "1.bin"}, {"id": 2, "input": "2.bin"}]}, open(f"{out}/index.json", "w"))
PY
for layout in 8.4 8.3; do
  "$dump" "$tmp/v8n_$layout.onnx" "$tmp/in" "$tmp/ours_$layout" --threads 2 >/dev/null 2>"$tmp/err" || { bad "session_outputs $layout"; cat "$tmp/err"; }
done

# compare.py REF GOT COORD_TOL PROB_TOL: rows 0-3 (box cx, cy, w, h) and the keypoints' x, y are pixels of
# the 320 input; row 4 (score) and the keypoints' visibility are probabilities.
cat >"$tmp/compare.py" <<'PY'
import sys
import numpy as np
ref_dir, got_dir, coord_tol, prob_tol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
for i in (1, 2):
    r = np.fromfile(f"{ref_dir}/{i}.out.bin", np.float32).reshape(56, -1)
    g = np.fromfile(f"{got_dir}/{i}.out.bin", np.float32).reshape(56, -1)
    d = np.abs(g.astype(np.float64) - r)
    kd = d[5:].reshape(17, 3, -1)
    coord = max(d[:4].max(), kd[:, :2].max())
    prob = max(d[4].max(), kd[:, 2].max())
    print(f"  input {i}: max |diff| coordinates {coord:.2e} px, probabilities {prob:.2e}")
    assert np.isfinite(g).all(), "non-finite values"
    assert coord <= coord_tol and prob <= prob_tol, (coord, prob)
PY
"$PY" "$tmp/compare.py" "$tmp/ours_8.4" "$tmp/ours_8.3" 1e-3 1e-5 && ok "output0: the 8.3 and 8.4 layouts compute the same" || bad "output0 of the two layouts differ"

if [ ! -d "$root/bench/node_modules/onnxruntime-node" ] || ! command -v node >/dev/null; then
  echo "skip ONNX Runtime comparison: run bench/setup_ort.sh to install onnxruntime-node"
else
  for layout in 8.4 8.3; do
    # Tolerance: 0.1 px (1/3200 of the input) on coordinates, 1e-3 on probabilities. Measured on this machine:
    # up to ~0.03 px and ~1e-4 (fp32 summation order differs; random weights amplify it through ~60 layers).
    if node "$root/bench/ort_eval.js" --model "$tmp/v8n_$layout.onnx" --inputs "$tmp/in" --outputs "$tmp/ort_$layout" --threads 2 \
         >/dev/null 2>"$tmp/err" && "$PY" "$tmp/compare.py" "$tmp/ort_$layout" "$tmp/ours_$layout" 0.1 1e-3; then
      ok "$layout: output0 matches ONNX Runtime (0.1 px, 1e-3)"
    else
      bad "$layout: output0 against ONNX Runtime"; cat "$tmp/err"
    fi
  done
fi

finish
