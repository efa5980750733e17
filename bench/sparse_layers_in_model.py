#!/usr/bin/env python3
"""Dense against sparse float convolution layer by layer INSIDE the engine, on a pruned model's own weights
(issue #8's per-layer kernel table, as a model meets it).

bench_spconv_f32 times one layer at a time, over and over, on random weights magnitude-pruned: its input,
weights and scratch stay in cache between runs, and random weights spread the zeros evenly. Inside a
model every layer's weights come back cold once per frame and its input is whatever the previous op left
in cache; the zeros are where pruning put them. This runs `sparsepose bench --profile` with `--kernels
dense` and `--kernels sparse` in turn (order alternating by round, fresh processes), takes each conv's
median ms over the rounds, and prints per layer and summed by kind (1x1, 3x3 stride 1, strided), over
the convs with at least --min-zeros zero weights (the pruned ones; the dense-kept head and first conv
are left out).

  bench/sparse_layers_in_model.py build/app/sparsepose MODEL.onnx [--isa avx512] [--threads 1]
                                  [--rounds 5] [--iters 15] [--min-zeros 60] [--csv FILE]
"""
import argparse
import csv
import statistics
import subprocess
import sys

from profile_by_op import parse_profile  # bench/ is the script's directory, first on sys.path


def profile(args, kernels):
    """{node: (ms, kernel, zero %)} for every Conv of one `bench --profile` run."""
    cmd = [args.binary, "bench", "--model", args.model, "--threads", str(args.threads), "--profile",
           "--kernels", kernels, "--iters", str(args.iters), "--warmup", "3"]
    if args.isa:
        cmd += ["--isa", args.isa]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rows = {}
    for row in parse_profile(out)[1]:
        if row["op"] == "Conv" and row["zero weights"].endswith("%"):
            rows[row["node"]] = (float(row["ms"]), row["kernel"], float(row["zero weights"][:-1]))
    if not rows:
        sys.exit(f"no conv rows in the profile of: {' '.join(cmd)}")
    return rows


def kind(kernel):
    if "s2" in kernel.split("-")[0]:
        return "strided"
    return "1x1" if kernel.startswith("spconv1x1") else "3x3 s1"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("--isa", default="")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=15)
    ap.add_argument("--min-zeros", type=float, default=60.0)
    ap.add_argument("--csv", default="")
    args = ap.parse_args()

    runs = {"dense": [], "sparse": []}
    for r in range(args.rounds):
        for k in (["dense", "sparse"] if r % 2 == 0 else ["sparse", "dense"]):
            runs[k].append(profile(args, k))
            print(f"round {r + 1} {k} done", file=sys.stderr, flush=True)

    table = []
    for node, (_, kernel, zeros) in runs["sparse"][0].items():
        if zeros < args.min_zeros or not kernel.startswith("spconv"):
            continue
        dense = statistics.median(run[node][0] for run in runs["dense"])
        sparse = statistics.median(run[node][0] for run in runs["sparse"])
        table.append((node, kernel, runs["dense"][0][node][1], zeros, dense, sparse))
    if not table:
        sys.exit(f"no sparse conv with >= {args.min_zeros} % zeros in {args.model}")

    isa = args.isa or "(chosen)"
    print(f"model {args.model}, isa {isa}, {args.threads} thread(s), {args.rounds} rounds x {args.iters} iterations, "
          f"convs with >= {args.min_zeros:g} % zeros; ms = median over rounds of the profile's per-layer time")
    print()
    print("| node | sparse kernel | zeros | dense ms | sparse ms | dense / sparse |")
    print("|---|---|---:|---:|---:|---:|")
    for node, kernel, _, zeros, dense, sparse in table:
        print(f"| {node} | {kernel} | {zeros:.1f} % | {dense:.3f} | {sparse:.3f} | {dense / sparse:.2f} |")
    print()
    print("| layers | n | dense ms | sparse ms | dense / sparse | keeping the faster per layer |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in ("1x1", "3x3 s1", "strided", "all"):
        sel = [t for t in table if name == "all" or kind(t[1]) == name]
        if not sel:
            continue
        d = sum(t[4] for t in sel)
        s = sum(t[5] for t in sel)
        best = sum(min(t[4], t[5]) for t in sel)
        print(f"| {name} | {len(sel)} | {d:.2f} | {s:.2f} | {d / s:.2f}x | {d / best:.2f}x |")
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["node", "sparse_kernel", "dense_kernel", "zeros_pct", "dense_median_ms", "sparse_median_ms"])
            for node, kernel, dkernel, zeros, dense, sparse in table:
                w.writerow([node, kernel, dkernel, f"{zeros:.1f}", f"{dense:.5f}", f"{sparse:.5f}"])


if __name__ == "__main__":
    main()
