#!/usr/bin/env bash
# Installs the Debian 12 packages sparsepose needs to build, test and run.
# Idempotent: packages already present are skipped by apt-get; uses sudo when not root.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

PACKAGES=(
  build-essential cmake pkg-config git
  clang libclang-rt-14-dev                      # libFuzzer + sanitizers for the fuzz/sanitizer builds
  libonnx-dev libprotobuf-dev protobuf-compiler # ONNX model import
  libeigen3-dev libcli11-dev nlohmann-json3-dev  # JSON: COCO files and --json outputs
  libgtest-dev libgmock-dev libbenchmark-dev
  libopencv-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-base-apps gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  python3
  python3-gi gir1.2-gstreamer-1.0 gir1.2-gst-rtsp-server-1.0  # the RTSP/HTTP test servers (tests/integration)
  python3-onnx python3-numpy                   # bench/make_yolov8_pose.py and the tests that use it
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup: all Debian packages present" >&2
fi
