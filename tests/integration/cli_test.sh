#!/usr/bin/env bash
# Command-line integration tests: the commands on the bundled assets, their JSON shapes, and bad input —
# each must end with a clear one-line error and a non-zero exit, never a crash or a hang.
# Usage: cli_test.sh path/to/sparsepose
set -uo pipefail
bin=$(realpath "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok   $1"; }
bad() { fail=$((fail + 1)); echo "FAIL $1"; }

# expect_error NAME PATTERN -- command...: non-zero exit (not a signal), stderr matching PATTERN, within 60 s.
expect_error() {
  local name=$1 pattern=$2
  shift 3
  timeout 60 "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ $rc -eq 0 ]; then bad "$name: exit 0"; return; fi
  if [ $rc -ge 124 ]; then bad "$name: exit $rc (timeout or signal)"; cat "$tmp/err"; return; fi
  if ! grep -qE "$pattern" "$tmp/err"; then bad "$name: stderr does not match '$pattern':"; cat "$tmp/err"; return; fi
  if [ "$(grep -c . "$tmp/err")" -gt 3 ]; then bad "$name: more than a short message on stderr"; cat "$tmp/err"; return; fi
  ok "$name"
}

expect_ok() {
  local name=$1
  shift 2
  if timeout 300 "$@" >"$tmp/out" 2>"$tmp/err"; then ok "$name"; else bad "$name: exit $?"; cat "$tmp/err"; fi
}

# --- bad models
expect_error "missing model" "cannot open model file" -- "$bin" bench --model "$tmp/nope.onnx" --iters 1
echo "this is plainly not a model" >"$tmp/text.onnx"
expect_error "garbage model" "not a valid ONNX model" -- "$bin" bench --model "$tmp/text.onnx" --iters 1
head -c 300000 "$root/assets/models/yolo11n-pose.onnx" >"$tmp/truncated.onnx"
expect_error "truncated model" "not a valid ONNX model" -- "$bin" bench --model "$tmp/truncated.onnx" --iters 1
expect_error "unsupported op" "unsupported op 'Gelu' \(node 'head_gelu'\)" -- "$bin" info --model "$root/tests/data/unsupported_op.onnx"
expect_error "directory as model" "model" -- "$bin" bench --model "$tmp" --iters 1

# --- bad images
echo "not an image" >"$tmp/fake.jpg"
expect_error "text file as image" "fake.jpg" -- "$bin" predict "$tmp/fake.jpg"
expect_error "missing image" "missing.jpg" -- "$bin" predict "$tmp/missing.jpg"
python3 - "$tmp" <<'PY'
import struct, sys, zlib
def png(path, w, h):
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    comp = zlib.compressobj(9)
    row = b"\x00" + b"\x80" * (3 * w)
    data = b"".join(comp.compress(row) for _ in range(h)) + comp.flush()
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", data) + chunk(b"IEND", b""))
png(sys.argv[1] + "/one.png", 1, 1)
png(sys.argv[1] + "/huge.png", 20000, 20000)
PY
expect_error "20000x20000 image" "too large|megapixel" -- "$bin" predict "$tmp/huge.png"
expect_ok "1x1 image" -- "$bin" predict "$tmp/one.png" --json "$tmp/one.json"
grep -q '"persons"' "$tmp/one.json" && ok "1x1 image json" || bad "1x1 image json"

# --- bad options
expect_error "bad isa name" "unknown ISA 'sse9'" -- "$bin" bench --isa sse9 --iters 1
if ! "$bin" info 2>/dev/null | grep -q "^ISAs:.*amx"; then
  expect_error "unsupported isa" "does not support ISA 'amx'" -- "$bin" bench --isa amx --iters 1
fi
expect_error "bad imgsz" "multiple of 32" -- "$bin" bench --imgsz 100 --iters 1
expect_error "missing annotations" "nope.json" -- "$bin" eval --annotations "$tmp/nope.json" --images "$tmp"

# --- the commands on the bundled assets
expect_ok "predict bundled images" -- "$bin" predict --save "$tmp/pred" --json "$tmp/pred.json" "$root"/assets/images/*.jpg
python3 - "$tmp/pred.json" <<'PY' && ok "predict json shape and persons on bus.jpg" || bad "predict json"
import json, sys
j = json.load(open(sys.argv[1]))
imgs = {i["image"].split("/")[-1]: i for i in j["images"]}
bus = imgs["bus.jpg"]["persons"]
assert len(bus) == 4, len(bus)
for p in bus:
    assert len(p["box"]) == 4 and len(p["keypoints"]) == 17 and all(len(k) == 3 for k in p["keypoints"])
    assert 0 <= p["box"][0] < p["box"][2] <= 810 and 0 <= p["box"][1] < p["box"][3] <= 1080
PY
[ -s "$tmp/pred/bus.jpg" ] && ok "annotated image written" || bad "annotated image missing"

expect_ok "bench json" -- "$bin" bench --json --warmup 1 --iters 3 --threads 1
python3 - "$tmp/out" <<'PY' && ok "bench json keys" || bad "bench json keys"
import json, sys
j = json.loads(open(sys.argv[1]).read())
for k in ["model", "engine", "isa", "threads", "imgsz", "iters"]: assert k in j, k
for k in ["mean", "p50", "p90", "p99", "std", "min"]: assert j["latency_ms"][k] > 0, k
PY

expect_ok "eval bundled COCO subset" -- "$bin" eval --annotations "$root/assets/coco/person_keypoints.json" --images "$root/assets/coco/images" --json
python3 - "$tmp/out" <<'PY' && ok "eval json: keypoint AP and box AP in a sane range" || bad "eval json"
import json, sys
j = json.loads(open(sys.argv[1]).read())
for k in ["AP", "AP50", "AP75", "AP_M", "AP_L", "AR"]: assert k in j["keypoints"], k
assert 0.45 < j["keypoints"]["AP"] <= 1.0, j["keypoints"]["AP"]
assert 0.6 < j["bbox"]["AP"] <= 1.0, j["bbox"]["AP"]
print("subset keypoint AP", j["keypoints"]["AP"], "box AP", j["bbox"]["AP"])
PY

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
