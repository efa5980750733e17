#!/usr/bin/env node
// ONNX Runtime peer benchmark: the same measurement as `sparsepose bench`, on ONNX Runtime 1.30 (npm).
//
//   node bench/ort_bench.js --model M [--threads N] [--imgsz S] [--warmup W] [--iters I] [--json]
//
// Prints {"engine":"onnxruntime","model","threads","imgsz","iters","latency_ms":{mean,p50,p90,p99,std,min},
// "ort_version"} with --json, a one-line summary otherwise. The model must have a static square input of
// size S (use bench/respecialize_model.py to make one for another size).
//
// Both sides of a comparison must feed the same input and compute the statistics the same way, so the
// two definitions below (benchInput, latencyStats) are the contract the C++ bench implements too.
'use strict';

const fs = require('fs');
const path = require('path');

const INSTALL_HINT = 'ONNX Runtime is not installed: run bench/setup_ort.sh ' +
  '(it runs `npm install --ignore-scripts` in bench/, onnxruntime-node 1.30.0)';

// Loads onnxruntime-node from bench/node_modules (wherever the caller lives), with an actionable error.
function loadOrt() {
  const dir = path.join(__dirname, 'node_modules', 'onnxruntime-node');
  if (!fs.existsSync(dir)) throw new Error(INSTALL_HINT);
  const ort = require(dir);
  ort.version = require(path.join(dir, 'package.json')).version;
  return ort;
}

// The benchmark input, identical in sparsepose's C++ bench ("lcg32-v1"):
//   a [1, 3, S, S] float32 tensor in CHW order; element i (i = (c*S + y)*S + x, i = 0 .. 3*S*S-1) is
//   b_i / 255 (float division of two exact floats), where b_i is the top byte of a 32-bit LCG:
//     state_0 = 0x2545F491;  state_{k+1} = (1664525 * state_k + 1013904223) mod 2^32;  b_i = state_{i+1} >> 24.
// Uniform noise in 0..1 is what a letterboxed, /255 image looks like to every dense kernel, needs no image
// decoder on either side, and is exactly reproducible. (JS computes b/255 in double and rounds to float32;
// for a quotient that equals the single float division, since 53 >= 2*24 + 2.)
function benchInput(S) {
  const n = 3 * S * S;
  const data = new Float32Array(n);
  let state = 0x2545F491;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    data[i] = (state >>> 24) / 255;
  }
  return data;
}

// Latency statistics over the measured iterations, in milliseconds (the C++ bench uses the same):
//   mean; std = population standard deviation sqrt(sum((x - mean)^2) / n); min;
//   pP (P in 50, 90, 99) = nearest rank on the ascending sorted list x[0..n-1]:
//     x[k - 1] with k = ceil(P/100 * n), clamped to 1..n   (n=100: p50=x[49], p90=x[89], p99=x[98]).
//   ceil is computed on the integer P*n: k = floor((P*n + 99) / 100), so no floating-point rounding enters.
function latencyStats(samplesMs) {
  const n = samplesMs.length;
  if (n === 0) throw new Error('no samples');
  const sorted = Float64Array.from(samplesMs).sort();
  const rank = (P) => sorted[Math.min(n, Math.max(1, Math.floor((P * n + 99) / 100))) - 1];
  const mean = sorted.reduce((a, b) => a + b, 0) / n;
  const std = Math.sqrt(sorted.reduce((a, x) => a + (x - mean) * (x - mean), 0) / n);
  const r = (x) => Math.round(x * 1e4) / 1e4;  // 0.1 us: finer than any timer noise
  return { mean: r(mean), p50: r(rank(50)), p90: r(rank(90)), p99: r(rank(99)), std: r(std), min: r(sorted[0]) };
}

// Session options that match a sparsepose Session: N intra-op threads, no inter-op parallelism,
// every graph optimization, sequential execution.
function sessionOptions(threads) {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
  };
}

// The static input shape [1, 3, H, W] of the session's first input, or null if ORT does not say.
function inputShape(session) {
  const meta = session.inputMetadata && session.inputMetadata[0];
  return meta && Array.isArray(meta.shape) ? meta.shape : null;
}

async function bench({ model, threads, imgsz, warmup, iters }) {
  const ort = loadOrt();
  if (!fs.existsSync(model)) throw new Error(`model not found: ${model}`);
  const session = await ort.InferenceSession.create(model, sessionOptions(threads));
  const shape = inputShape(session);
  if (shape && (shape.length !== 4 || shape[2] !== imgsz || shape[3] !== imgsz)) {
    throw new Error(`${model} has input shape [${shape}], not [1,3,${imgsz},${imgsz}]; make a variant with ` +
      `bench/respecialize_model.py ${model} OUT.onnx --imgsz ${imgsz}`);
  }
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', benchInput(imgsz), [1, 3, imgsz, imgsz]) };
  for (let i = 0; i < warmup; i++) await session.run(feeds);
  // Pure session.run time (inference plus output tensor creation and the promise's resolution, which is
  // microseconds); input creation is outside the loop, as in the C++ bench.
  const samples = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await session.release();
  return {
    engine: 'onnxruntime', model, threads, imgsz, iters,
    latency_ms: latencyStats(samples), ort_version: ort.version,
  };
}

function parseArgs(argv) {
  const a = { model: path.join(__dirname, '..', 'assets', 'models', 'yolo11n-pose.onnx'),
    threads: 1, imgsz: 640, warmup: 5, iters: 50, json: false };
  const ints = new Set(['threads', 'imgsz', 'warmup', 'iters']);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'json') { a.json = true; continue; }
    if (k === 'help' || k === 'h') { a.help = true; continue; }
    if (!(k in a) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option: ${argv[i]}`);
    const v = argv[++i];
    a[k] = ints.has(k) ? Number(v) : v;
    if (ints.has(k) && !(Number.isInteger(a[k]) && a[k] >= (k === 'warmup' ? 0 : 1))) {
      throw new Error(`--${k} needs a positive integer, got ${v}`);
    }
  }
  if (a.imgsz % 32 !== 0) throw new Error(`--imgsz must be a multiple of 32, got ${a.imgsz}`);
  return a;
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.help) {
    console.log('usage: node bench/ort_bench.js --model M [--threads N] [--imgsz S] [--warmup W] [--iters I] [--json]');
    return;
  }
  const res = await bench(args);
  if (args.json) {
    console.log(JSON.stringify(res));
  } else {
    const l = res.latency_ms;
    console.log(`onnxruntime ${res.ort_version} ${path.basename(res.model)} imgsz ${res.imgsz} threads ${res.threads} ` +
      `iters ${res.iters}: p50 ${l.p50} p90 ${l.p90} p99 ${l.p99} mean ${l.mean} std ${l.std} min ${l.min} ms`);
  }
}

module.exports = { loadOrt, benchInput, latencyStats, sessionOptions, INSTALL_HINT };

if (require.main === module) {
  main().catch((e) => { console.error(`ort_bench: ${e.message}`); process.exit(1); });
}
