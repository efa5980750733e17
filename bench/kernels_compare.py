#!/usr/bin/env python3
"""Model-wide latency under `--kernels dense`, `sparse` and `auto`, in the same run (issue #8: auto must
never be more than 3 % slower than the better of dense and sparse).

Each round runs `sparsepose bench` once per mode, the order rotating between rounds. Two figures per run:
  - wall-clock p50 of the timed iterations (what `bench` reports);
  - CPU time per inference: (CPU of an N-iteration bench - CPU of a short one) / the difference in
    iterations, so model loading, kernel packing and warm-up cancel. On a shared machine this moves far
    less than wall time (time spent waiting for a core is not counted; the pool's spin-waits are).
The auto plan is made once before the first round (its own cache directory), so the rounds measure the
kernels, not the timing at start-up. Prints a markdown table: medians over rounds and ratios.

  bench/kernels_compare.py build/app/sparsepose MODEL.onnx [--rounds 5] [--threads 2] [--imgsz 640]
                           [--iters 40] [--engine auto]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile

MODES = ["dense", "sparse", "auto"]


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def bench(args, mode, iters, env):
    cmd = [args.binary, "bench", "--model", args.model, "--engine", args.engine, "--threads", str(args.threads),
           "--imgsz", str(args.imgsz), "--kernels", mode, "--warmup", "3", "--iters", str(iters), "--json"]
    t0 = children_cpu()
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out), children_cpu() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("model")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--iters", type=int, default=40)
    ap.add_argument("--engine", default="auto")
    args = ap.parse_args()
    short = 4
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, XDG_CACHE_HOME=cache)
        first, _ = bench(args, "auto", 1, env)  # makes the auto plan
        wall = {m: [] for m in MODES}
        cpu = {m: [] for m in MODES}
        sparse_convs = {}
        for r in range(args.rounds):
            order = MODES[r % 3:] + MODES[:r % 3]
            for mode in order:
                _, c_short = bench(args, mode, short, env)
                j, c_long = bench(args, mode, short + args.iters, env)
                wall[mode].append(j["latency_ms"]["p50"])
                cpu[mode].append((c_long - c_short) / args.iters * 1000)
                sparse_convs[mode] = j["sparse_convs"]
                print(f"round {r + 1} {mode:6s} p50 {wall[mode][-1]:8.2f} ms  cpu/inference {cpu[mode][-1]:8.2f} ms",
                      file=sys.stderr, flush=True)
    print(f"model {args.model}, engine {first['engine']}, isa {first['isa']}, {args.threads} threads, {args.imgsz}, "
          f"{args.rounds} rounds x {args.iters} iterations")
    print()
    print("| kernels | sparse convs | wall p50 ms (median) | CPU ms / inference (median) |")
    print("|---|---:|---:|---:|")
    for m in MODES:
        print(f"| {m} | {sparse_convs[m]} | {statistics.median(wall[m]):.2f} | {statistics.median(cpu[m]):.2f} |")
    for name, d in (("wall p50", wall), ("CPU", cpu)):
        med = {m: statistics.median(d[m]) for m in MODES}
        best = min(med["dense"], med["sparse"])
        print(f"\n{name}: dense / sparse {med['dense'] / med['sparse']:.3f}x, "
              f"auto / better of dense and sparse {med['auto'] / best:.3f} ({'within' if med['auto'] <= 1.03 * best else 'MORE than'} 3 %)")


if __name__ == "__main__":
    main()
