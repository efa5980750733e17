#!/usr/bin/env node
// Generates the ONNX Runtime golden outputs in tests/golden/ (see README.md there for the file formats).
//
//   node tests/golden/make_golden.js [--out DIR] [--image assets/images/bus.jpg] [--keep-tmp]
//
// Needs: bench/setup_ort.sh done (onnxruntime-node), /usr/bin/python3 with python3-onnx + numpy, and g++ with
// OpenCV's development files (scripts/setup.sh installs them) for the one JPEG decode. Temporary models
// (the respecialized 320 variant, models with exposed head outputs) live in a temp dir, never in the repo.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const ROOT = path.resolve(__dirname, '..', '..');
const { loadOrt } = require(path.join(ROOT, 'bench', 'ort_bench.js'));
const PY = '/usr/bin/python3';  // Debian's python: it has python3-onnx and numpy, pyenv's does not
const FP32 = 'assets/models/yolo11n-pose.onnx';
const INT8 = 'assets/models/yolo11n-pose_int8.onnx';
const STRIDES = [8, 16, 32];
const SUB_STEP = 10;   // 640 subsample: rows/cols 0, 10, 20, ... and the last one, per scale (not a power of 2:
                       // the positions fall at varied offsets within 8- and 16-wide kernel tiles)
const CONF = 0.25, IOU = 0.7, MAX_DET = 300;  // Ultralytics predict defaults for the top detections

function parseArgs(argv) {
  const a = { out: __dirname, image: path.join(ROOT, 'assets/images/bus.jpg'), keepTmp: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keep-tmp') a.keepTmp = true;
    else if (argv[i] === '--out' && i + 1 < argv.length) a.out = path.resolve(argv[++i]);
    else if (argv[i] === '--image' && i + 1 < argv.length) a.image = path.resolve(argv[++i]);
    else throw new Error(`unknown option ${argv[i]}; usage: make_golden.js [--out DIR] [--image JPG] [--keep-tmp]`);
  }
  return a;
}

function run(cmd, args) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${e.stderr || e.message}`);
  }
}

const sha256 = (buf) => crypto.createHash('sha256').update(buf).digest('hex');
const roundHalfEven = (x) => { const f = Math.floor(x), d = x - f; return d > 0.5 || (d === 0.5 && f % 2) ? f + 1 : f; };
const r4 = (x) => Math.round(x * 1e4) / 1e4;

// JPEG -> RGB bytes (HWC) through OpenCV's imread, the decoder sparsepose's pipeline uses. Node has no JPEG
// decoder and Debian's python3 here has neither PIL nor cv2, so a 10-line helper is compiled once.
function decodeJpeg(file, tmp) {
  const src = path.join(tmp, 'decode.cpp'), exe = path.join(tmp, 'decode'), out = path.join(tmp, 'image.rgb');
  fs.writeFileSync(src, `#include <opencv2/imgcodecs.hpp>
#include <cstdio>
int main(int, char** argv) {
  cv::Mat m = cv::imread(argv[1], cv::IMREAD_COLOR);
  if (m.empty() || m.type() != CV_8UC3) { std::fprintf(stderr, "cannot decode %s\\n", argv[1]); return 1; }
  std::FILE* f = std::fopen(argv[2], "wb");
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x) { cv::Vec3b p = m.at<cv::Vec3b>(y, x); unsigned char c[3] = {p[2], p[1], p[0]}; std::fwrite(c, 1, 3, f); }
  std::printf("%d %d\\n", m.cols, m.rows);
  return std::fclose(f) != 0;
}
`);
  let cflags;
  try { cflags = run('pkg-config', ['--cflags', 'opencv4']).trim().split(/\s+/); } catch (e) {
    throw new Error('OpenCV development files not found (pkg-config opencv4): run scripts/setup.sh');
  }
  run('g++', ['-O1', src, '-o', exe, ...cflags, '-lopencv_imgcodecs', '-lopencv_core']);
  const [w, h] = run(exe, [file, out]).trim().split(' ').map(Number);
  return { w, h, rgb: fs.readFileSync(out) };
}

// Ultralytics letterbox to S x S (keep aspect, centre, pad 114) with our own bilinear resize, so the bytes do
// not depend on a library version: half-pixel centres (src = (dst + 0.5) * in/out - 0.5, clamped at the
// edges, like cv2.INTER_LINEAR), computed in double, rounded half up. Returns CHW RGB uint8 [3, S, S].
function letterbox({ w, h, rgb }, S) {
  const r = Math.min(S / h, S / w);
  const nw = roundHalfEven(w * r), nh = roundHalfEven(h * r);
  const dw = (S - nw) / 2, dh = (S - nh) / 2;
  const left = roundHalfEven(dw - 0.1), top = roundHalfEven(dh - 0.1);
  const out = new Uint8Array(3 * S * S).fill(114);
  const coord = (d, scale, n) => {
    const s = Math.min(Math.max((d + 0.5) * scale - 0.5, 0), n - 1);
    const i0 = Math.floor(s);
    return [i0, Math.min(i0 + 1, n - 1), s - i0];
  };
  for (let y = 0; y < nh; y++) {
    const [y0, y1, fy] = coord(y, h / nh, h);
    for (let x = 0; x < nw; x++) {
      const [x0, x1, fx] = coord(x, w / nw, w);
      for (let c = 0; c < 3; c++) {
        const p = (yy, xx) => rgb[(yy * w + xx) * 3 + c];
        const v = (1 - fy) * ((1 - fx) * p(y0, x0) + fx * p(y0, x1)) + fy * ((1 - fx) * p(y1, x0) + fx * p(y1, x1));
        out[(c * S + y + top) * S + x + left] = Math.min(255, Math.floor(v + 0.5));
      }
    }
  }
  return { data: out, ratio: r, new_w: nw, new_h: nh, pad_left: left, pad_top: top };
}

// The 320 input is derived from the stored 640 one (so only one input file is committed):
//   in320[c][y][x] = (in640[c][2y][2x] + in640[c][2y][2x+1] + in640[c][2y+1][2x] + in640[c][2y+1][2x+1] + 2) >> 2
function halve(u8, S) {
  const H = S / 2, out = new Uint8Array(3 * H * H);
  for (let c = 0; c < 3; c++) for (let y = 0; y < H; y++) for (let x = 0; x < H; x++) {
    const p = (yy, xx) => u8[(c * S + yy) * S + xx];
    out[(c * H + y) * H + x] = (p(2 * y, 2 * x) + p(2 * y, 2 * x + 1) + p(2 * y + 1, 2 * x) + p(2 * y + 1, 2 * x + 1) + 2) >> 2;
  }
  return out;
}

async function runOrt(ort, model, u8, S, level = 'all') {
  // One thread: the reduction order is then the same on every run (golden values must not depend on timing).
  const s = await ort.InferenceSession.create(model, { intraOpNumThreads: 1, interOpNumThreads: 1,
    graphOptimizationLevel: level, executionMode: 'sequential' });
  const x = Float32Array.from(u8, (v) => v / 255);
  const res = await s.run({ [s.inputNames[0]]: new ort.Tensor('float32', x, [1, 3, S, S]) });
  await s.release();
  return res;
}

// Decodes raw head branches exactly as the exported graph (and sparsepose's models/) does, into output0's
// layout [56, N] (Float64Array): DFL softmax expectation -> ltrb -> xywh * stride, sigmoid score, keypoints
// (k * 2 + anchor - 0.5) * stride and sigmoid visibility. `dfl` are the expectation weights: exactly 0..15 in
// Ultralytics, but the int8-derived models carry int8-rounded ones (0.9449 for 1, ...). Used to check golden
// consistency and to get int8 detections (its exported output0 is unusable: the final Concat was quantized).
const EXACT_DFL = Array.from({ length: 16 }, (_, k) => k);
function decodeBranches(br, S, dfl = EXACT_DFL) {
  const grids = STRIDES.map((s) => S / s), N = grids.reduce((a, g) => a + g * g, 0);
  const out = new Float64Array(56 * N);
  const sig = (v) => 1 / (1 + Math.exp(-v));
  let a = 0;
  grids.forEach((g, i) => {
    const box = br[`cv2.${i}`].data, sc = br[`cv3.${i}`].data, kp = br[`cv4.${i}`].data, HW = g * g, st = STRIDES[i];
    for (let p = 0; p < HW; p++, a++) {
      const ax = (p % g) + 0.5, ay = Math.floor(p / g) + 0.5, d = [];
      for (let side = 0; side < 4; side++) {
        let mx = -Infinity, sum = 0, ex = 0;
        for (let k = 0; k < 16; k++) mx = Math.max(mx, box[(side * 16 + k) * HW + p]);
        for (let k = 0; k < 16; k++) { const e = Math.exp(box[(side * 16 + k) * HW + p] - mx); sum += e; ex += dfl[k] * e; }
        d.push(ex / sum);
      }
      const x1 = ax - d[0], y1 = ay - d[1], x2 = ax + d[2], y2 = ay + d[3];
      const row = [(x1 + x2) / 2 * st, (y1 + y2) / 2 * st, (x2 - x1) * st, (y2 - y1) * st, sig(sc[p])];
      for (let k = 0; k < 17; k++) {
        row.push((kp[(3 * k) * HW + p] * 2 + ax - 0.5) * st, (kp[(3 * k + 1) * HW + p] * 2 + ay - 0.5) * st, sig(kp[(3 * k + 2) * HW + p]));
      }
      row.forEach((v, r) => { out[r * N + a] = v; });
    }
  });
  return { data: out, N };
}

// Greedy NMS on a [56, N] prediction: score > CONF, IoU > IOU suppresses, at most MAX_DET kept.
function detections(pred, N) {
  const at = (r, a) => pred[r * N + a];
  const cand = [];
  for (let a = 0; a < N; a++) if (at(4, a) > CONF) cand.push(a);
  cand.sort((p, q) => at(4, q) - at(4, p));
  const xyxy = (a) => [at(0, a) - at(2, a) / 2, at(1, a) - at(3, a) / 2, at(0, a) + at(2, a) / 2, at(1, a) + at(3, a) / 2];
  const iou = (b, c) => {
    const iw = Math.max(0, Math.min(b[2], c[2]) - Math.max(b[0], c[0])), ih = Math.max(0, Math.min(b[3], c[3]) - Math.max(b[1], c[1]));
    const inter = iw * ih;
    return inter / ((b[2] - b[0]) * (b[3] - b[1]) + (c[2] - c[0]) * (c[3] - c[1]) - inter);
  };
  const kept = [];
  for (const a of cand) {
    if (kept.length >= MAX_DET) break;
    const b = xyxy(a);
    if (kept.every((k) => iou(k.box, b) <= IOU)) kept.push({ anchor: a, box: b });
  }
  return kept.map(({ anchor, box }) => ({ anchor, score: r4(at(4, anchor)), box_xyxy: box.map(r4),
    keypoints: Array.from({ length: 17 }, (_, k) => [0, 1, 2].map((j) => r4(at(5 + 3 * k + j, anchor)))) }));
}

function maxAbsDiff(a, b, rows, N) {
  let m = 0;
  for (const r of rows) for (let i = 0; i < N; i++) m = Math.max(m, Math.abs(a[r * N + i] - b[r * N + i]));
  return m;
}

// Per scale: flat positions y*g+x on the strided grid (rows/cols 0, SUB_STEP, ..., g-1) plus the given anchors.
function subsamplePositions(S, extraAnchors) {
  let offset = 0;
  return STRIDES.map((s) => {
    const g = S / s, rc = [];
    for (let v = 0; v < g; v += SUB_STEP) rc.push(v);
    if (rc[rc.length - 1] !== g - 1) rc.push(g - 1);
    const set = new Set();
    for (const y of rc) for (const x of rc) set.add(y * g + x);
    for (const a of extraAnchors) if (a >= offset && a < offset + g * g) set.add(a - offset);
    offset += g * g;
    return [...set].sort((p, q) => p - q);
  });
}

// Gathers [C, P] from a [1, C, HW] tensor at the given flat positions.
function gather(data, C, HW, pos) {
  const out = new Float32Array(C * pos.length);
  for (let c = 0; c < C; c++) pos.forEach((p, j) => { out[c * pos.length + j] = data[c * HW + p]; });
  return out;
}

function stats(t, C) {
  const HW = t.length / C, chMean = [];
  let sum = 0, sq = 0, mn = Infinity, mx = -Infinity;
  for (let c = 0; c < C; c++) {
    let cs = 0;
    for (let p = 0; p < HW; p++) { const v = t[c * HW + p]; cs += v; sq += v * v; mn = Math.min(mn, v); mx = Math.max(mx, v); }
    sum += cs; chMean.push(r4(cs / HW));
  }
  const mean = sum / t.length;
  return { min: r4(mn), max: r4(mx), mean: r4(mean), std: r4(Math.sqrt(Math.max(0, sq / t.length - mean * mean))), channel_mean: chMean };
}

// |a - b| over a whole tensor: mean, 99th percentile (nearest rank), max.
function diffStats(a, b) {
  const d = Float64Array.from(a, (v, i) => Math.abs(v - b[i])).sort();
  const mean = d.reduce((x, y) => x + y, 0) / d.length;
  return { mean_abs: r4(mean), p99_abs: r4(d[Math.ceil(0.99 * d.length) - 1]), max_abs: r4(d[d.length - 1]) };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  for (const m of [FP32, INT8]) if (!fs.existsSync(path.join(ROOT, m))) throw new Error(`model not found: ${m}`);
  if (!fs.existsSync(args.image)) throw new Error(`image not found: ${args.image}`);
  try { run(PY, ['-c', 'import onnx, numpy']); } catch (e) {
    throw new Error(`${PY} lacks onnx/numpy: apt-get install python3-onnx python3-numpy`);
  }
  fs.mkdirSync(args.out, { recursive: true });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sparsepose-golden-'));
  const files = [];
  const write = (name, typed, meta) => {
    const buf = Buffer.from(typed.buffer, typed.byteOffset, typed.byteLength);  // x86: little-endian already
    fs.writeFileSync(path.join(args.out, name), buf);
    files.push({ file: name, ...meta, dtype: typed instanceof Uint8Array ? 'uint8' : 'float32', bytes: buf.length, sha256: sha256(buf) });
  };
  if (os.endianness() !== 'LE') throw new Error('golden files are little-endian; generate them on a little-endian machine');

  const img = decodeJpeg(args.image, tmp);
  const lb = letterbox(img, 640);
  const in640 = lb.data, in320 = halve(in640, 640);
  write('input_640.u8', in640, { tensor: 'images (uint8, before /255)', shape: [1, 3, 640, 640], layout: 'NCHW RGB' });
  const input = {
    source: path.relative(ROOT, args.image), source_size: [img.w, img.h], decoder: 'OpenCV imread (BGR->RGB)',
    input_640: { file: 'input_640.u8', letterbox: { ratio: lb.ratio, new_w: lb.new_w, new_h: lb.new_h, pad_left: lb.pad_left, pad_top: lb.pad_top, pad_value: 114 },
      resize: 'bilinear, half-pixel centres, clamped edges, double arithmetic, round half up (make_golden.js letterbox())' },
    input_320: { derived_from: 'input_640.u8', rule: 'in320[c][y][x] = (sum of the 2x2 block in640[c][2y..2y+1][2x..2x+1] + 2) >> 2' },
    to_float: 'x = u8 / 255 (float32)',
  };

  const cases = [
    { name: 'fp32_320', model: FP32, imgsz: 320, full: true },
    { name: 'fp32_640', model: FP32, imgsz: 640, full: false },
    { name: 'int8_640', model: INT8, imgsz: 640, full: false },
    // int8 results depend on how requantization is done: ORT's default ('all') fuses QDQ into integer kernels
    // (QLinearConv, table sigmoid, ...), 'disabled' runs the ONNX QDQ semantics op by op (float math on
    // dequantized tensors). Logits differ by up to a few units between the two, so both are stored.
    { name: 'int8_640_ref', model: INT8, imgsz: 640, full: false, level: 'disabled' },
  ];
  const manifestCases = [];
  let topAnchors640 = null, int8Branches = null;
  for (const cs of cases) {
    const modelAbs = path.join(ROOT, cs.model), S = cs.imgsz, u8 = S === 640 ? in640 : in320;
    const modelSha = sha256(fs.readFileSync(modelAbs));
    let runModel = modelAbs, variant = null;
    if (S !== 640) {
      runModel = path.join(tmp, `${cs.name}.onnx`);
      run(PY, [path.join(ROOT, 'bench/respecialize_model.py'), modelAbs, runModel, '--imgsz', String(S)]);
      variant = { made_by: `bench/respecialize_model.py ${cs.model} OUT.onnx --imgsz ${S}`, sha256: sha256(fs.readFileSync(runModel)) };
    }
    const exposed = path.join(tmp, `${cs.name}.exposed.onnx`);
    const head = JSON.parse(run(PY, [path.join(ROOT, 'tests/golden/expose_head.py'), runModel, exposed]));
    const level = cs.level || 'all';
    const res = await runOrt(ort, exposed, u8, S, level);
    const plain = (await runOrt(ort, runModel, u8, S, level)).output0;
    const out0 = res.output0, N = out0.dims[2];
    let unchanged = 0;
    for (let i = 0; i < out0.data.length; i++) if (out0.data[i] === plain.data[i]) unchanged++;
    const br = {};
    for (const b of head.branches) br[b.key] = res[b.tensor];

    const isInt8 = cs.model === INT8;
    const dec = decodeBranches(br, S);  // exact DFL weights 0..15: how sparsepose decodes
    let selfCheck = null;
    if (!isInt8) {
      const decModel = decodeBranches(br, S, head.dfl_weights);  // the graph's own DFL weights
      selfCheck = {
        what: 'max |decode(branches) - output0| over all anchors (pixels / probabilities), decoding with the model\'s DFL weights',
        box: maxAbsDiff(decModel.data, out0.data, [0, 1, 2, 3], N), score: maxAbsDiff(decModel.data, out0.data, [4], N),
        keypoints: maxAbsDiff(decModel.data, out0.data, Array.from({ length: 51 }, (_, i) => 5 + i), N),
        box_with_exact_dfl: maxAbsDiff(dec.data, out0.data, [0, 1, 2, 3], N),
        model_dfl_weights: head.dfl_weights.map((w) => r4(w)),
      };
    }
    // int8: detections come from decoding its branches in float with exact DFL (what sparsepose does);
    // fp32: from ORT's output0.
    const dets = detections(isInt8 ? dec.data : out0.data, N);
    if (!isInt8 && S === 640) topAnchors640 = dets.map((d) => d.anchor);

    const common = { case: cs.name, model: cs.model, model_sha256: modelSha, ort_version: ort.version, graph_optimization: level };
    const entry = { name: cs.name, model: cs.model, model_sha256: modelSha, variant, imgsz: S, anchors: N, graph_optimization: level,
      input: S === 640 ? 'input_640.u8' : 'input_320 (derived, see input.input_320)', ort_version: ort.version,
      output0_identical_with_exposed_outputs: unchanged === out0.data.length ? true : `${out0.data.length - unchanged} of ${out0.data.length} elements differ`,
      self_check: selfCheck, detections_from: isInt8 ? 'decoded branches (float)' : 'output0', conf: CONF, iou: IOU, top_detections: dets };
    if (cs.full) {
      write(`${cs.name}.output0.f32`, out0.data, { ...common, tensor: 'output0', shape: out0.dims });
      for (const b of head.branches) {
        const t = br[b.key];
        write(`${cs.name}.${b.key}.f32`, t.data, { ...common, tensor: b.tensor, branch: b.branch, scale: b.scale, shape: t.dims });
      }
    } else {
      // Subsample: strided grid plus the fp32 top-detection anchors (same positions for fp32 and int8).
      const pos = subsamplePositions(S, topAnchors640 || []);
      let offset = 0;
      const globalAnchors = [];
      pos.forEach((p, i) => { p.forEach((q) => globalAnchors.push(offset + q)); offset += (S / STRIDES[i]) ** 2; });
      entry.subsample = { rule: `per scale: rows and cols 0, ${SUB_STEP}, 2*${SUB_STEP}, ... and the last, plus the anchors of fp32_640's top detections`,
        positions_per_scale: pos, output0_anchors: globalAnchors };
      if (!isInt8) {
        write(`${cs.name}.output0.sub.f32`, gather(out0.data, 56, N, globalAnchors),
          { ...common, tensor: 'output0', shape: [56, globalAnchors.length], subsample: 'columns = subsample.output0_anchors' });
      }
      entry.branch_stats = {};
      for (const b of head.branches) {
        const t = br[b.key], C = t.dims[1], HW = t.dims[2] * t.dims[3];
        write(`${cs.name}.${b.key}.sub.f32`, gather(t.data, C, HW, pos[b.scale]),
          { ...common, tensor: b.tensor, branch: b.branch, scale: b.scale, full_shape: t.dims, shape: [C, pos[b.scale].length],
            subsample: `columns = subsample.positions_per_scale[${b.scale}] (flat y*${t.dims[3]}+x)` });
        entry.branch_stats[b.key] = stats(t.data, C);
      }
    }
    if (cs.name === 'int8_640') int8Branches = br;
    if (cs.name === 'int8_640_ref') {
      entry.vs_int8_640 = {};
      for (const b of head.branches) entry.vs_int8_640[b.key] = diffStats(br[b.key].data, int8Branches[b.key].data);
    }
    manifestCases.push(entry);
    console.error(`make_golden: ${cs.name}: ${dets.length} detections` + (selfCheck ? `, decode check box ${selfCheck.box.toExponential(2)} (exact DFL ${selfCheck.box_with_exact_dfl.toFixed(2)}) kpt ${selfCheck.keypoints.toExponential(2)}` : ''));
  }

  const manifest = {
    generator: 'tests/golden/make_golden.js', ort_version: ort.version,
    ort_session: { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'see graph_optimization per case', executionMode: 'sequential' },
    format: 'raw little-endian, C order, no header; float32 or uint8 as given by dtype',
    input, cases: manifestCases, files,
  };
  // Indented, but arrays of numbers on one line: readable and small.
  const text = JSON.stringify(manifest, null, 1).replace(/\[[-0-9.e,\s]*\]/g, (m) => m.replace(/\s+/g, ''));
  fs.writeFileSync(path.join(args.out, 'manifest.json'), text + '\n');
  const total = files.reduce((a, f) => a + f.bytes, 0) + fs.statSync(path.join(args.out, 'manifest.json')).size;
  console.error(`make_golden: wrote ${files.length} files + manifest.json to ${args.out} (${(total / 1e6).toFixed(2)} MB)`);
  if (args.keepTmp) console.error(`make_golden: temporary models kept in ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

main().catch((e) => { console.error(`make_golden: ${e.message}`); process.exit(1); });
