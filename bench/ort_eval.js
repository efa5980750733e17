#!/usr/bin/env node
// ONNX Runtime's half of an accuracy comparison in which the runtime is the only difference:
//
//   sparsepose eval --annotations A --images I --dump-inputs DIR          # our letterboxed inputs
//   node bench/ort_eval.js --model M.onnx --inputs DIR [--outputs OUT] [--threads N]
//   sparsepose eval --annotations A --images I --outputs-from OUT --json   # our decode, NMS and COCO eval
//
// For every image of DIR/index.json it feeds DIR/<image_id>.bin ([1, 3, H, W] float32, NCHW) to ONNX
// Runtime (all graph optimizations, N intra-op threads: QDQ models run on ORT's integer kernels) and
// writes the model's output0 ([1, 56, N] float32) to OUT/<image_id>.out.bin (OUT defaults to DIR; a
// different OUT gets a copy of index.json, so several models can share one dump). OUT/outputs.json
// records the runtime, model, threads and timings; `eval --outputs-from` prints them with its results.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { loadOrt, latencyStats, sessionOptions } = require('./ort_bench.js');

const DUMP_FORMAT = 'sparsepose-eval-inputs-v1';  // what `sparsepose eval --dump-inputs` writes
const USAGE = 'usage: node bench/ort_eval.js --model M.onnx --inputs DIR [--outputs OUT] [--threads N]';

function parseArgs(argv) {
  const a = { model: '', inputs: '', outputs: '', threads: (os.availableParallelism || (() => os.cpus().length))() };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'help' || k === 'h') { a.help = true; continue; }
    if (!(k in a) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option: ${argv[i]} (${USAGE})`);
    a[k] = argv[++i];
  }
  if (a.help) return a;
  if (!a.model || !a.inputs) throw new Error(`--model and --inputs are required (${USAGE})`);
  a.threads = Number(a.threads);
  if (!Number.isInteger(a.threads) || a.threads < 1) throw new Error('--threads needs a positive integer');
  a.outputs = a.outputs || a.inputs;
  return a;
}

function readIndex(dir) {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new Error(`--inputs: '${dir}' is not a directory`);
  const file = path.join(dir, 'index.json');
  let index;
  try {
    index = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`cannot read ${file} (write it with \`sparsepose eval --dump-inputs ${dir}\`): ${e.message}`);
  }
  if (index.format !== DUMP_FORMAT || !Array.isArray(index.images) || !Array.isArray(index.shape)) {
    throw new Error(`${file} is not an index written by \`sparsepose eval --dump-inputs\``);
  }
  return index;
}

// A dumped input as a Float32Array, checked against the size the index promises.
function readInput(file, elems) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`missing input file ${file}`);
  }
  if (buf.length !== elems * 4) throw new Error(`${file} has ${buf.length} bytes, expected ${elems * 4}`);
  // Float32Array needs 4-byte alignment; a Buffer this large normally owns its memory, else copy.
  if (buf.byteOffset % 4 === 0) return new Float32Array(buf.buffer, buf.byteOffset, elems);
  return new Float32Array(Uint8Array.from(buf).buffer);
}

function checkModelInput(session, shape, model) {
  const meta = session.inputMetadata && session.inputMetadata[0];
  const dims = meta && Array.isArray(meta.shape) ? meta.shape : null;
  if (!dims || dims.length !== 4) return;
  for (let d = 0; d < 4; d++) {
    if (typeof dims[d] === 'number' && dims[d] > 0 && dims[d] !== shape[d]) {
      throw new Error(`${model} takes input [${dims}], the dump holds [${shape}] (dump again with --imgsz)`);
    }
  }
}

// output0 when the model names it so (Ultralytics exports do), else its only output.
function outputName(session, model) {
  if (session.outputNames.includes('output0')) return 'output0';
  if (session.outputNames.length === 1) return session.outputNames[0];
  throw new Error(`${model} has outputs [${session.outputNames}] and none is output0`);
}

async function run(a) {
  const ort = loadOrt();
  if (!fs.existsSync(a.model)) throw new Error(`model not found: ${a.model}`);
  const index = readIndex(a.inputs);
  fs.mkdirSync(a.outputs, { recursive: true });
  if (path.resolve(a.outputs) !== path.resolve(a.inputs)) {
    fs.copyFileSync(path.join(a.inputs, 'index.json'), path.join(a.outputs, 'index.json'));
  }
  const session = await ort.InferenceSession.create(a.model, sessionOptions(a.threads));
  checkModelInput(session, index.shape, a.model);
  const inName = session.inputNames[0];
  const outName = outputName(session, a.model);
  const elems = index.shape.reduce((x, y) => x * y, 1);
  const runMs = [];
  let outShape = null;
  const t0 = process.hrtime.bigint();
  for (const im of index.images) {
    const data = readInput(path.join(a.inputs, `${im.id}.bin`), elems);
    const feeds = { [inName]: new ort.Tensor('float32', data, index.shape) };
    const t = process.hrtime.bigint();
    const result = await session.run(feeds, [outName]);
    runMs.push(Number(process.hrtime.bigint() - t) / 1e6);
    const out = result[outName];
    if (out.type !== 'float32' || out.dims.length !== 3) throw new Error(`${outName} is ${out.type} [${out.dims}], not float32 [1, 56, N]`);
    outShape = out.dims;
    const bytes = Buffer.from(out.data.buffer, out.data.byteOffset, out.data.byteLength);
    fs.writeFileSync(path.join(a.outputs, `${im.id}.out.bin`), bytes);
  }
  const totalS = Number(process.hrtime.bigint() - t0) / 1e9;
  await session.release();
  const info = {
    runtime: `onnxruntime ${ort.version}`, model: path.resolve(a.model), threads: a.threads, output: outName,
    shape: outShape, images: index.images.length, total_s: Math.round(totalS * 100) / 100,
    run_ms: latencyStats(runMs),
  };
  fs.writeFileSync(path.join(a.outputs, 'outputs.json'), `${JSON.stringify(info, null, 1)}\n`);
  return info;
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.help) { console.log(USAGE); return; }
  const r = await run(a);
  const l = r.run_ms;
  console.log(`${r.runtime} ${path.basename(r.model)} threads ${r.threads}: ${r.images} images, ${r.output} [${r.shape}] ` +
    `-> ${a.outputs}; total ${r.total_s} s (incl. file I/O), session.run per image: mean ${l.mean} p50 ${l.p50} ` +
    `p90 ${l.p90} min ${l.min} ms`);
}

if (require.main === module) {
  main().catch((e) => { console.error(`ort_eval: ${e.message}`); process.exit(1); });
}
