#!/usr/bin/env node
// sparsepose against ONNX Runtime on the same model, sizes and thread counts, as a markdown table.
//
//   node bench/compare.js [--model M] [--threads 1,2] [--imgsz 640,320] [--rounds 3] [--warmup 5] [--iters 30]
//                         [--engine E] [--sparsepose BIN] [--out results.json]
//
// BIN defaults to $SPARSEPOSE, then build/app/sparsepose; without it only ONNX Runtime runs (and the table
// says so). Sizes other than the model's own use a variant made by bench/respecialize_model.py in a temp
// dir; both engines then get that same file. Each configuration runs `rounds` times, alternating which engine
// goes first, each run a fresh process; a reported statistic is the median over rounds of that statistic
// (so one disturbed round on a shared machine does not decide the result). All rounds are kept in --out.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync } = require('child_process');
const { loadOrt } = require('./ort_bench.js');

const ROOT = path.resolve(__dirname, '..');

function parseArgs(argv) {
  const a = { model: path.join(ROOT, 'assets/models/yolo11n-pose.onnx'), threads: '1,2', imgsz: '', rounds: 3,
    warmup: 5, iters: 30, engine: '', sparsepose: process.env.SPARSEPOSE || path.join(ROOT, 'build/app/sparsepose'), out: '' };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '');
    if (k === 'help' || k === 'h') { a.help = true; continue; }
    if (!(k in a) || i + 1 >= argv.length) throw new Error(`unknown or incomplete option ${argv[i]} (see --help)`);
    a[k] = argv[++i];
  }
  const list = (s, name) => s.split(',').filter(Boolean).map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: not a positive integer: ${v}`);
    return n;
  });
  a.threads = list(a.threads, 'threads');
  a.imgsz = a.imgsz ? list(a.imgsz, 'imgsz') : [];
  for (const k of ['rounds', 'warmup', 'iters']) {
    a[k] = Number(a[k]);
    if (!Number.isInteger(a[k]) || a[k] < (k === 'warmup' ? 0 : 1)) throw new Error(`--${k} needs a positive integer`);
  }
  return a;
}

// Runs a command whose last stdout line is the bench JSON.
function benchJson(cmd, args) {
  let out;
  try {
    out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${e.status}):\n${(e.stderr || e.message).trim()}`);
  }
  const line = out.trim().split('\n').pop();
  try {
    const j = JSON.parse(line);
    if (!j.latency_ms || typeof j.latency_ms.p50 !== 'number') throw new Error('no latency_ms.p50');
    return j;
  } catch (e) {
    throw new Error(`${cmd} printed no bench JSON (${e.message}): ${line}`);
  }
}

const median = (xs) => { const s = [...xs].sort((p, q) => p - q), m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

function summarize(runs) {
  if (!runs.length) return null;
  const lat = {};
  for (const k of ['mean', 'p50', 'p90', 'p99', 'std', 'min']) lat[k] = Math.round(median(runs.map((r) => r.latency_ms[k])) * 1e3) / 1e3;
  const { engine, isa } = runs[0];
  return { engine, isa, latency_ms: lat, rounds: runs };
}

async function modelImgsz(model) {
  const ort = loadOrt();
  const s = await ort.InferenceSession.create(model);
  const shape = s.inputMetadata && s.inputMetadata[0] && s.inputMetadata[0].shape;
  await s.release();
  if (!Array.isArray(shape) || shape.length !== 4 || typeof shape[2] !== 'number' || shape[2] !== shape[3]) {
    throw new Error(`${model}: input shape ${JSON.stringify(shape)} is not a static square [1,3,S,S]`);
  }
  return { size: shape[2], ortVersion: ort.version };
}

function cpuName() {
  try { return (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || 'unknown'; } catch (e) { return 'unknown'; }
}

function table(results, haveOurs) {
  const f = (x) => (x == null ? '—' : x.toFixed(2));
  const lines = [
    '| model | imgsz | threads | ours | ours p50 | ours p90 | ours p99 | ORT p50 | ORT p90 | ORT p99 | ORT p50 / ours p50 |',
    '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    const o = r.ours && r.ours.latency_ms, t = r.ort.latency_ms;
    const who = r.ours ? [r.ours.engine, r.ours.isa].filter(Boolean).join(' ') : 'not run';
    lines.push(`| ${r.model} | ${r.imgsz} | ${r.threads} | ${who} | ${f(o && o.p50)} | ${f(o && o.p90)} | ${f(o && o.p99)} | ` +
      `${f(t.p50)} | ${f(t.p90)} | ${f(t.p99)} | ${r.ratio_p50 == null ? '—' : r.ratio_p50.toFixed(2) + 'x'} |`);
  }
  lines.push('', `Latency in ms, median over rounds of each statistic; ratio > 1 means sparsepose is faster.` +
    (haveOurs ? '' : ' sparsepose was not run (binary not found).'));
  return lines.join('\n');
}

async function main() {
  const a = parseArgs(process.argv.slice(2));
  if (a.help) { console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 11).map((l) => l.replace(/^\/\/ ?/, '')).join('\n')); return; }
  if (!fs.existsSync(a.model)) throw new Error(`model not found: ${a.model}`);
  const { size: own, ortVersion } = await modelImgsz(a.model);
  const sizes = a.imgsz.length ? a.imgsz : [own];
  const haveOurs = fs.existsSync(a.sparsepose);
  if (!haveOurs) console.error(`compare: ${a.sparsepose} not found (set SPARSEPOSE or --sparsepose): running ONNX Runtime only`);

  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsepose-compare-'));
  const results = [];
  try {
    for (const S of sizes) {
      let model = a.model;
      if (S !== own) {
        model = path.join(tmp, `${path.basename(a.model, '.onnx')}_${S}.onnx`);
        try {
          execFileSync('/usr/bin/python3', [path.join(__dirname, 'respecialize_model.py'), a.model, model, '--imgsz', String(S)],
            { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
        } catch (e) { throw new Error(`cannot make the ${S} variant:\n${(e.stderr || e.message).trim()}`); }
      }
      for (const T of a.threads) {
        const common = ['--model', model, '--threads', String(T), '--imgsz', String(S), '--warmup', String(a.warmup), '--iters', String(a.iters), '--json'];
        const runOurs = () => benchJson(a.sparsepose, ['bench', ...common, ...(a.engine ? ['--engine', a.engine] : [])]);
        const runOrt = () => benchJson(process.execPath, [path.join(__dirname, 'ort_bench.js'), ...common]);
        const ours = [], ort = [];
        for (let r = 0; r < a.rounds; r++) {
          const order = r % 2 === 0 ? ['ours', 'ort'] : ['ort', 'ours'];  // alternate who runs first
          for (const who of order) {
            if (who === 'ours' && haveOurs) ours.push(runOurs());
            if (who === 'ort') ort.push(runOrt());
          }
          console.error(`compare: imgsz ${S} threads ${T} round ${r + 1}/${a.rounds}: ORT p50 ${ort[ort.length - 1].latency_ms.p50}` +
            (haveOurs ? `, ours p50 ${ours[ours.length - 1].latency_ms.p50}` : ''));
        }
        const o = summarize(ours), t = summarize(ort);
        results.push({ model: path.basename(a.model), imgsz: S, threads: T, ours: o, ort: t,
          ratio_p50: o ? Math.round((t.latency_ms.p50 / o.latency_ms.p50) * 1e3) / 1e3 : null });
      }
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }

  const md = table(results, haveOurs);
  console.log(md);
  if (a.out) {
    const doc = { date: new Date().toISOString(), host: { cpu: cpuName(), cores: os.cpus().length }, ort_version: ortVersion,
      sparsepose: haveOurs ? a.sparsepose : null, model: a.model, rounds: a.rounds, warmup: a.warmup, iters: a.iters,
      aggregation: 'median over rounds of each statistic', results, markdown: md };
    fs.writeFileSync(a.out, JSON.stringify(doc, null, 1) + '\n');
    console.error(`compare: wrote ${a.out}`);
  }
}

main().catch((e) => { console.error(`compare: ${e.message}`); process.exit(1); });
