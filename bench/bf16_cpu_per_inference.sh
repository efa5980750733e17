#!/bin/bash
# CPU time per inference at 1 thread with the float convs in fp32 and in bf16 (SPARSEPOSE_BF16_CONVS):
# (CPU time of a 70-iteration bench - CPU time of a 10-iteration bench) / 60, so model loading, session
# creation and warm-up cancel. On a shared machine this moves far less than wall-clock latency, because time
# spent waiting for a core is not counted. Order alternates between rounds.
#
#   bench/bf16_cpu_per_inference.sh BINARY [ROUNDS] [ENGINE]
set -eu
bin=$1
rounds=${2:-3}
engine=${3:-fp32}
cpu() {  # $1: none|all, $2: iterations -> user + system seconds
  (export SPARSEPOSE_BF16_CONVS=$1 TIMEFORMAT='%U %S'
   { time "$bin" bench --engine "$engine" --threads 1 --warmup 3 --iters "$2" >/dev/null 2>&1; } 2>&1) | awk '{print $1 + $2}'
}
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) -eq 1 ]; then order="none all"; else order="all none"; fi
  for cfg in $order; do
    a=$(cpu "$cfg" 10)
    b=$(cpu "$cfg" 70)
    awk -v c="$cfg" -v e="$engine" -v a="$a" -v b="$b" 'BEGIN {printf "engine %s, bf16 convs %-4s: %.2f ms CPU per inference\n", e, c, (b - a) / 60 * 1000}'
  done
done
