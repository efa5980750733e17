#!/usr/bin/env bash
# The sparsepose plugin from the build tree as GStreamer's own tools see it (GST_PLUGIN_PATH): gst-inspect-1.0
# documents the element and its properties; gst-launch-1.0 runs it on a few test frames; a wrong
# property value (missing model file, negative threads) fails the pipeline with an error naming the
# property and nothing written. (The full filesrc ... mp4mux line and its per-frame message count
# are tests/unit/test_gst_launch.cpp.)
#
#   gst_plugin_test.sh PLUGIN_DIR
set -euo pipefail
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export GST_PLUGIN_PATH=$1
export GST_REGISTRY=$tmp/registry.bin  # not the user's registry
fail() { echo "FAIL: $*" >&2; exit 1; }

gst-inspect-1.0 sparsepose >"$tmp/inspect.txt" 2>&1 || { cat "$tmp/inspect.txt"; fail "gst-inspect-1.0 sparsepose"; }
grep -q "Filter/Analyzer/Video" "$tmp/inspect.txt" || fail "gst-inspect: no klass"
for format in BGR RGB BGRx RGBx; do grep -q "$format" "$tmp/inspect.txt" || fail "gst-inspect: caps lack $format"; done
# Every property with its documentation ("  name   : blurb", the blurb at least 10 characters).
for prop in model engine threads isa imgsz conf iou draw track smooth post-messages latency processed dropped qos; do
  grep -Eq "^  $prop +: .{10,}" "$tmp/inspect.txt" || fail "gst-inspect: property '$prop' missing or undocumented"
done
for engine in auto fp32 int8; do
  grep -Eq "\([0-9]\): $engine +- .{10,}" "$tmp/inspect.txt" || fail "gst-inspect: engine value '$engine' missing or undocumented"
done

# A short live-source run: three frames in, three sparsepose messages out (gst-launch -m prints them).
gst-launch-1.0 -m videotestsrc num-buffers=3 ! video/x-raw,width=160,height=120 ! videoconvert ! \
  sparsepose imgsz=160 threads=1 draw=true ! fakesink >"$tmp/run.txt" 2>&1 || { cat "$tmp/run.txt"; fail "gst-launch run"; }
n=$(grep -c '(element): sparsepose, frame=' "$tmp/run.txt" || true)
[ "$n" = 3 ] || { cat "$tmp/run.txt"; fail "expected 3 sparsepose messages, got $n"; }

# Wrong property values: the pipeline does not start, the error names the property, no file is written.
check_bad() {
  local props=$1 property=$2
  if gst-launch-1.0 videotestsrc num-buffers=1 ! videoconvert ! sparsepose $props ! videoconvert ! \
       jpegenc ! filesink location="$tmp/bad.jpg" >"$tmp/bad.txt" 2>&1; then
    fail "sparsepose $props: the pipeline ran"
  fi
  grep -q "property '$property'" "$tmp/bad.txt" || { cat "$tmp/bad.txt"; fail "sparsepose $props: error does not name '$property'"; }
  [ ! -s "$tmp/bad.jpg" ] || fail "sparsepose $props: wrote output"
  grep -m1 "property '$property'" "$tmp/bad.txt"
}
check_bad "model=$tmp/missing.onnx" model
check_bad "threads=-2" threads
echo "gst plugin test: OK"
