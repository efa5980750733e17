#!/usr/bin/env python3
"""Per-op-type time of `sparsepose bench --profile`, for one or more binaries run alternately.

On a shared machine one profile is noise; this runs each binary `--rounds` times in turn (fresh
processes, order rotated each round), sums the profile's per-layer ms by op type in every run and
prints, per op type, the median and the minimum over the rounds, plus the p50 of each run.

  python3 bench/profile_by_op.py --bin old=/tmp/sp_old --bin new=build/app/sparsepose \
      --threads 2 --rounds 5 -- --engine int8 --iters 50

Arguments after `--` go to `sparsepose bench` (--profile is added). QConv rows are split by their
output: `QConv` (u8 out), `QConv->f32` (float out), `QConv+res` (fused residual, u8 out).

--select REGEX adds a row for the layers whose kernel matches REGEX in any binary's runs (the same
layers summed for every binary), e.g. the convs one build runs with planar sides:

  python3 bench/profile_by_op.py --bin old=/tmp/sp_old --bin new=build/app/sparsepose --rounds 11 \
      --select '^spconv.*-chw' -- --model /tmp/p70.onnx --kernels sparse --iters 20
"""
import argparse
import re
import statistics
import subprocess
import sys


def op_key(op, kernel):
    if op == "QConv":
        if "-res" in kernel:
            return "QConv+res"
        if "-f32" in kernel:
            return "QConv->f32"
    return op


def parse_profile(out):
    """(p50 ms, rows) of `sparsepose bench --profile` output: rows are the per-layer table's rows as dicts
    keyed by its header (the columns have changed over time, so they are read by name)."""
    p50 = None
    rows = []
    col = None
    for line in out.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 12 and cells[0] not in ("model", "---"):
            p50 = float(cells[7])
        if cells[:2] == ["#", "node"]:
            col = cells
        elif col and len(cells) == len(col) and re.fullmatch(r"\d+", cells[0]):
            rows.append(dict(zip(col, cells)))
    return p50, rows


def run_once(binary, threads, extra):
    cmd = [binary, "bench", "--threads", str(threads), "--profile"] + extra
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    p50, rows = parse_profile(out)
    by_op = {}
    layers = []  # (node, kernel, ms)
    for row in rows:
        key = op_key(row["op"], row["kernel"])
        ms = float(row["ms"])
        by_op[key] = by_op.get(key, 0.0) + ms
        layers.append((row["node"], row["kernel"], ms))
    return p50, by_op, layers


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", action="append", required=True, help="name=path of a sparsepose binary")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--select", help="regex: also sum the layers whose kernel matches it in any run")
    ap.add_argument("extra", nargs="*", help="arguments for `sparsepose bench` (after --)")
    a = ap.parse_args()
    bins = [b.split("=", 1) for b in a.bin]
    results = {name: [] for name, _ in bins}
    for r in range(a.rounds):
        order = bins[r % len(bins):] + bins[:r % len(bins)]
        for name, path in order:
            results[name].append(run_once(path, a.threads, a.extra))
            print(f"round {r + 1} {name}: p50 {results[name][-1][0]:.2f} ms", file=sys.stderr)
    ops = sorted({k for runs in results.values() for _, d, _ in runs for k in d},
                 key=lambda k: -statistics.median(d.get(k, 0.0) for _, d, _ in results[bins[0][0]]))
    head = "| op type | " + " | ".join(f"{n} median ms | {n} min ms" for n, _ in bins) + " |"
    print(head)
    print("|---|" + "---:|" * (2 * len(bins)))
    for k in ops:
        row = [k]
        for name, _ in bins:
            v = [d.get(k, 0.0) for _, d, _ in results[name]]
            row += [f"{statistics.median(v):.3f}", f"{min(v):.3f}"]
        print("| " + " | ".join(row) + " |")
    if a.select:
        chosen = {node for runs in results.values() for _, _, layers in runs for node, kernel, _ in layers
                  if re.search(a.select, kernel)}
        row = [f"{len(chosen)} layers matching /{a.select}/"]
        for name, _ in bins:
            v = [sum(ms for node, _, ms in layers if node in chosen) for _, _, layers in results[name]]
            row += [f"{statistics.median(v):.3f}", f"{min(v):.3f}"]
        print("| " + " | ".join(row) + " |")
    row = ["sum of layers"]
    for name, _ in bins:
        v = [sum(d.values()) for _, d, _ in results[name]]
        row += [f"{statistics.median(v):.3f}", f"{min(v):.3f}"]
    print("| " + " | ".join(row) + " |")
    row = ["p50 (bench)"]
    for name, _ in bins:
        v = [p for p, _, _ in results[name]]
        row += [f"{statistics.median(v):.2f}", f"{min(v):.2f}"]
    print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
