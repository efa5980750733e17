#!/usr/bin/env bash
# Two models on one binary, alternating round by round (a shared machine's slow phases hit both):
#   bench/ab_models.sh BIN THREADS ROUNDS MODEL_A MODEL_B [extra bench args, e.g. --engine int8]
# Prints per round "A|B p50 p90 p99 sparse_convs" (ms). Each model has its own kernel-plan cache, emptied
# before every round, so each round's --kernels auto plan is timed afresh rather than read back.
set -euo pipefail
if [ $# -lt 5 ]; then
  echo "usage: $0 BIN THREADS ROUNDS MODEL_A MODEL_B [bench args]" >&2
  exit 2
fi
bin=$1 threads=$2 rounds=$3 model_a=$4 model_b=$5
shift 5
caches=$(mktemp -d)
trap 'rm -rf "$caches"' EXIT
for _ in $(seq 1 "$rounds"); do
  for which in A B; do
    if [ "$which" = A ]; then model=$model_a; else model=$model_b; fi
    rm -rf "${caches:?}/$which" && mkdir -p "$caches/$which"
    XDG_CACHE_HOME="$caches/$which" "$bin" bench --model "$model" --threads "$threads" --warmup 10 --iters 40 --json "$@" 2>/dev/null |
      python3 -c "import json, sys; d = json.load(sys.stdin); l = d['latency_ms']; print('$which', round(l['p50'], 3), round(l['p90'], 3), round(l['p99'], 3), d.get('sparse_convs'))"
  done
done
