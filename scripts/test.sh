#!/usr/bin/env bash
# Installs, builds and runs every test: unit + integration (ctest), then the sanitizer builds
# (ASan+UBSan on everything, TSan on the thread pool) and a short fuzz run of the ONNX loader.
# Set SP_QUICK=1 to run only the Release build's tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
jobs=$(nproc)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Each stage says how long it took: CI must stay under 30 minutes on 2 cores.
stage_start=$SECONDS
stage() {
  [ -n "${stage_name:-}" ] && echo "== $stage_name: $((SECONDS - stage_start)) s"
  stage_name=$1
  stage_start=$SECONDS
  if [ "$1" = done ]; then echo "== all stages: $SECONDS s"; else echo "== $1"; fi
}

stage "release build + tests"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs" | tee -a "$log"

if [ "${SP_QUICK:-0}" = "1" ]; then stage done; exit 0; fi

# The sanitizer and fuzz builds compile at -O1 with line tables only (-g1): about half the compile time of
# RelWithDebInfo's -O2 -g (measured on core/session.cpp under ASan: 40 s against 73 s), which is most of
# these stages; -O1 is what the sanitizers' documentation recommends, and reports keep file:line.
san_flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
           "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG")

stage "ASan+UBSan build (clang, with the ONNX loader's fuzzer) + unit tests"
# One clang tree serves both: the unit tests under ASan+UBSan, and libFuzzer on the same instrumented
# library (compiling the engine twice, once per tool, cost ~15 min of CI's 30 on 2 cores).
# Without the GStreamer element: its tests run whole pipelines (seconds in Release, far more under ASan,
# and GLib's one-time allocations would need suppressions); the library below it is covered here.
CC=clang CXX=clang++ cmake -S . -B build-asan "${san_flags[@]}" -DSP_SANITIZE=address -DSP_FUZZ=ON -DSP_BUILD_APP=OFF \
  -DSP_BUILD_BENCH=OFF -DSP_BUILD_EXAMPLES=OFF -DSP_BUILD_GST=OFF >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" -L unit | tee -a "$log"

stage "TSan build + thread pool / concurrency tests"
cmake -S . -B build-tsan "${san_flags[@]}" -DSP_SANITIZE=thread -DSP_BUILD_APP=OFF -DSP_BUILD_BENCH=OFF -DSP_BUILD_GST=OFF -DSP_BUILD_EXAMPLES=OFF >/dev/null
cmake --build build-tsan -j"$jobs" --target test_thread_pool test_spsc_ring
ctest --test-dir build-tsan --output-on-failure -R 'ThreadPool|SpscRing' | tee -a "$log"

stage "fuzz the ONNX loader (libFuzzer, short run)"
mkdir -p build-asan/corpus
./build-asan/tests/fuzz/fuzz_onnx_loader -max_total_time="${SP_FUZZ_SECONDS:-30}" -rss_limit_mb=2048 \
  -max_len=65536 build-asan/corpus tests/fuzz/seeds
stage done
# One closing line over all test runs (each ctest run above already failed the script on any failure).
# ctest counts skipped tests (an ISA this CPU lacks, ../shared absent) in its total and lists them as "(Skipped)".
awk '/tests passed, [0-9]+ tests failed out of/ { failed += $4; total += $NF }
     /\(Skipped\)$/ { skipped++ }
     END { printf "all tests: %d passed, %d failed, %d skipped\n", total - failed - skipped, failed, skipped }' "$log"
