#!/usr/bin/env node
// The int8 engine against ONNX Runtime fp32 (the yardstick) in one run: same input size, threads
// and benchmark input, every configuration a fresh process, the order rotated every round, medians over
// rounds of each statistic, and the ratio to ONNX Runtime fp32 on the float model.
//
//   node bench/compare_int8.js [--threads 2] [--imgsz 640] [--rounds 3] [--warmup 10] [--iters 50]
//        [--float M] [--int8 Q] [--isas avx512vnni,avx512,avx2] [--sparsepose BIN] [--baseline BIN] [--out results.json]
//
// --baseline BIN adds BIN's int8 rows (same ISAs) to the same rotation: a before/after of an engine change
// measured in one run.
// Rows: ORT fp32 on the float model; ORT on the int8 QDQ model (ORT's own QDQ handling); sparsepose int8
// on that QDQ model for each forced ISA; sparsepose fp32 on the float model.
'use strict';

const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const a = { threads: 2, imgsz: 640, rounds: 3, warmup: 10, iters: 50,
    float: path.join(ROOT, 'assets/models/yolo11n-pose.onnx'), int8: path.join(ROOT, 'assets/models/yolo11n-pose_sp-int8.onnx'),
    isas: 'avx512vnni,avx512,avx2', sparsepose: process.env.SPARSEPOSE || path.join(ROOT, 'build/app/sparsepose'), baseline: '', out: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in a) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${argv[i]}`);
    a[k] = argv[++i];
  }
  for (const k of ['threads', 'imgsz', 'rounds', 'warmup', 'iters']) a[k] = Number(a[k]);
  a.isas = a.isas.split(',').filter(Boolean);
  return a;
}

function ortRun(a, model) {
  const out = execFileSync('node', [path.join(__dirname, 'ort_bench.js'), '--model', model, '--threads', String(a.threads),
    '--imgsz', String(a.imgsz), '--warmup', String(a.warmup), '--iters', String(a.iters), '--json'], { encoding: 'utf8' });
  return JSON.parse(out).latency_ms;
}

function oursRun(a, model, engine, isa, bin = a.sparsepose) {
  const args = ['bench', '--model', model, '--engine', engine, '--threads', String(a.threads), '--imgsz', String(a.imgsz),
    '--warmup', String(a.warmup), '--iters', String(a.iters), '--json'];
  if (isa) args.push('--isa', isa);
  const out = execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out).latency_ms;
}

function median(xs) {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  const configs = [
    { name: 'ONNX Runtime fp32 (float model)', run: () => ortRun(a, a.float) },
    { name: 'ONNX Runtime on the int8 QDQ model', run: () => ortRun(a, a.int8) },
    ...a.isas.map((isa) => ({ name: `sparsepose int8 --isa ${isa}`, run: () => oursRun(a, a.int8, 'int8', isa) })),
    ...(a.baseline ? a.isas.map((isa) => ({ name: `baseline int8 --isa ${isa}`, run: () => oursRun(a, a.int8, 'int8', isa, a.baseline) })) : []),
    { name: 'sparsepose fp32 (float model)', run: () => oursRun(a, a.float, 'fp32', '') },
  ];
  const rounds = configs.map(() => []);
  for (let r = 0; r < a.rounds; r++) {
    for (let k = 0; k < configs.length; k++) {
      const i = (k + r) % configs.length;  // rotate who goes first
      rounds[i].push(configs[i].run());
    }
  }
  const stat = (i, key) => median(rounds[i].map((l) => l[key]));
  const ref = stat(0, 'p50');
  console.log(`${a.imgsz}x${a.imgsz}, ${a.threads} thread(s), ${a.rounds} rounds x ${a.iters} iterations, medians over rounds (ms)\n`);
  console.log('| runtime | p50 | p90 | p99 | ORT fp32 p50 / this p50 |\n|---|---:|---:|---:|---:|');
  configs.forEach((c, i) => {
    console.log(`| ${c.name} | ${stat(i, 'p50').toFixed(2)} | ${stat(i, 'p90').toFixed(2)} | ${stat(i, 'p99').toFixed(2)} | ${(ref / stat(i, 'p50')).toFixed(2)}x |`);
  });
  if (a.out) fs.writeFileSync(a.out, JSON.stringify({ args: a, configs: configs.map((c, i) => ({ name: c.name, rounds: rounds[i] })) }, null, 1));
}

main();
