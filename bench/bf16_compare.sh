#!/bin/sh
# Whole-model latency with the float convs in fp32 and in bf16 (SPARSEPOSE_BF16_CONVS), each round a fresh
# process per configuration, the order alternating between rounds; prints one line per run and then, per
# configuration, the median and the minimum of the runs' p50.
#
#   bench/bf16_compare.sh BINARY [ROUNDS] [ENGINE] [THREADS] [ITERS]
#   e.g. bench/bf16_compare.sh build/app/sparsepose 5 fp32 2 60   (the float model)
#        bench/bf16_compare.sh build/app/sparsepose 5 int8 2 60   (the bundled int8 model: its float convs)
set -eu
bin=$1
rounds=${2:-5}
engine=${3:-fp32}
threads=${4:-2}
iters=${5:-60}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
run() {  # $1: none|all
  p50=$(SPARSEPOSE_BF16_CONVS=$1 "$bin" bench --engine "$engine" --threads "$threads" --warmup 10 --iters "$iters" --json 2>/dev/null |
        sed -n 's/.*"p50": *\([0-9.]*\).*/\1/p')
  echo "$1 $p50" | tee -a "$out"
}
i=0
while [ "$i" -lt "$rounds" ]; do
  if [ $((i % 2)) -eq 0 ]; then run none; run all; else run all; run none; fi
  i=$((i + 1))
done
for cfg in none all; do
  grep "^$cfg " "$out" | sort -k2 -n | awk -v c="$cfg" -v e="$engine" -v t="$threads" \
    '{v[NR] = $2} END {m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2;
      printf "engine %s, %s threads, bf16 convs %-4s: p50 median %.2f ms, min %.2f ms over %d runs\n", e, t, c, m, v[1], NR}'
done
