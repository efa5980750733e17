#!/usr/bin/env bash
# The main job on the bundled defaults: install, build, then run the pose pipeline on the bundled sample
# clip with the bundled model, writing the annotated video, per-frame JSON lines and a run summary to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
mkdir -p out
./build/app/sparsepose run --save out/run.mp4 --json out/run.jsonl --summary out/run-summary.json
echo "annotated video: out/run.mp4   per-frame detections: out/run.jsonl   summary: out/run-summary.json"
