#!/usr/bin/env bash
# The main job on the bundled defaults: install, build, then detect poses in the bundled images with
# the bundled model, writing annotated images and JSON to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh
mkdir -p out
./build/app/sparsepose predict --save out/predict --json out/predict.json assets/images/*.jpg
echo "annotated images: out/predict/   detections: out/predict.json"
