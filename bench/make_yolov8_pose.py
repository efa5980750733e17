#!/usr/bin/python3
"""Write a YOLOv8-pose ONNX model with the exact topology of an Ultralytics `yolo export format=onnx`, with
random weights (a fixed seed), for latency studies and for testing that the engine runs YOLOv8-pose graphs.

    bench/make_yolov8_pose.py --size n|s --imgsz 640 --seed 0 -o yolov8n-pose.onnx
                              [--ultralytics 8.4|8.3] [--opset 20]

What is written (ultralytics/cfg/models/v8/yolov8-pose.yaml, scales n = depth 0.33 / width 0.25 and
s = 0.33 / 0.50, max channels 1024; the modules of ultralytics/nn/modules as exported):
  - Conv = Conv2d with the BatchNorm folded into weight and bias (what export's fuse() does), SiLU as
    Sigmoid·Mul; C2f = cv1, Split in two, Bottlenecks (3x3, 3x3, shortcut Add in the backbone), Concat,
    cv2; SPPF = cv1, three 5x5 MaxPools, Concat, cv2; nn.Upsample = nearest Resize x2 (scales input).
  - The Pose head (model.22): per stride 8/16/32, cv2 (box: Conv3x3, Conv3x3, 1x1 to 4·16), cv3 (score:
    the same with 1 class; v8 models keep Ultralytics' "legacy" plain-conv cv3), cv4 (keypoints: 1x1 to
    17·3); the DFL (Reshape [1,4,16,N], Transpose, Softmax, 1x1 Conv with weights 0..15, Reshape), dist2bbox
    (Slice, Sub, Add, Div 2, Concat, times the strides), score Sigmoid, keypoint decode ((k·2 + anchor -
    0.5)·stride, Sigmoid on visibility) and the output [1, 56, N].
  - `--ultralytics 8.4` (default) mirrors the current exporter, whose head flattens the box, score and
    keypoint branches separately (as in ../shared's YOLO11n-pose export, Ultralytics 8.4.75);
    `--ultralytics 8.3` the 8.0-8.3 exporter of the 2024 study's era: per scale Concat(box, score), the
    flattened scales concatenated, then one Split into box and score.
  - Node and tensor names as Ultralytics' (/model.N/...), metadata as Ultralytics writes it (task, kpt_shape,
    imgsz, stride, names, ...), plus `generator` with this command line.

Weights (the same for every --imgsz, given --size and --seed; each layer from its own generator keyed by the
seed and the layer's name): He-normal convolution weights; each Conv's BatchNorm then gets its statistics from
a calibration batch run layer by layer in numpy (as BatchNorm running statistics would be) and a random affine
gamma ~ U(0.5, 1.5), beta ~ N(0, 0.5), folded into the conv as Ultralytics' fuse does, so every pre-activation
has a sane per-channel mean and spread through the whole depth. The batch is three 256x256 images: two
"dead leaves" images (the standard synthetic model of natural images; one letterboxed) and one of uniform
noise (the benchmark input). Synthetic images matter: smooth blobs or 1/f noise calibrated at 160 left
30-60 % of the keypoint visibilities saturated on real COCO frames; dead leaves at 256 leave 2-13 %.
The head's plain 1x1 convs are calibrated the same way to chosen output ranges: box-distribution logits with
std 1 and a mean falling with the bin (expected distances of a few strides), score logits around -3 (a few
percent of anchors above 0.25), keypoint offsets std 0.5, visibility std 1.5. These weights mean nothing:
the model is for latency and for engine-vs-engine comparisons only.

Needs Debian's python3-onnx and python3-numpy (hence /usr/bin/python3). The written model passes onnx.checker
and strict shape inference (see bench/respecialize_model.py: check()).
"""
import argparse
import os
import sys
import zlib

import numpy as np
import onnx
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from respecialize_model import RespecializeError, check  # noqa: E402  (same folder, same checks)

SCALES = {"n": (0.33, 0.25, 1024), "s": (0.33, 0.50, 1024)}  # yolov8-pose.yaml: depth, width, max channels
STRIDES = (8, 16, 32)
REG_MAX = 16
KPT_SHAPE = (17, 3)
CALIB_SIZE = 256   # calibration images: fixed, so the weights do not depend on --imgsz
CALIB_BATCH = 3  # see calibration_images
# Ultralytics release whose exporter is mirrored, as written into the metadata's `version`.
FORMAT_VERSION = {"8.4": "8.4.75", "8.3": "8.3.0"}


def make_divisible(x, d=8):
    return int(np.ceil(x / d) * d)


def silu(x):
    return x / (1.0 + np.exp(-x))


def conv2d(x, w, stride, pad):
    """Plain NCHW convolution (groups 1) for the calibration batch: windows then one tensordot."""
    k = w.shape[2]
    if pad:
        x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]  # N, C, Ho, Wo, k, k
    y = np.tensordot(win, w, axes=([1, 4, 5], [1, 2, 3]))  # N, Ho, Wo, O
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def maxpool(x, k):
    p = k // 2
    x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=-np.inf)
    return sliding_window_view(x, (k, k), axis=(2, 3)).max(axis=(4, 5))


def dead_leaves(rng, n, size):
    """Random "dead leaves" images (occluding discs of random colour whose radii follow a power law, plus a
    fine 1/f texture): the standard synthetic model of natural images (edges, flat regions, a 1/f spectrum,
    their contrast), scaled into [0, 1]."""
    out = np.empty((n, 3, size, size))
    r_min, r_max = 2.0, size / 3.0
    f = np.sqrt(np.fft.fftfreq(size)[:, None] ** 2 + np.fft.rfftfreq(size)[None, :] ** 2)
    f[0, 0] = 1.0
    for i in range(n):
        img = np.full((3, size, size), 0.5)
        for _ in range(40 * size // 16):
            u = rng.uniform()
            r = 1.0 / np.sqrt((1 - u) / r_min ** 2 + u / r_max ** 2)  # density ~ r^-3 on [r_min, r_max]
            cx, cy = rng.uniform(-r, size + r, 2)
            colour = np.clip(rng.uniform(0.0, 1.0) + rng.normal(0.0, 0.15, 3), 0.0, 1.0)  # correlated channels
            x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, size)
            y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, size)
            if x0 >= x1 or y0 >= y1:
                continue
            yy, xx = np.mgrid[y0:y1, x0:x1]
            disc = (xx - cx) ** 2 + (yy - cy) ** 2 <= r * r
            img[:, y0:y1, x0:x1][:, disc] = colour[:, None]
        spec = rng.normal(size=(3, size, f.shape[1])) + 1j * rng.normal(size=(3, size, f.shape[1]))
        tex = np.fft.irfft2(spec / f, s=(size, size))
        out[i] = np.clip(img + 0.05 * tex / tex.std(), 0.0, 1.0)
    return out


def calibration_images(rng):
    """The calibration batch, the kinds of input an engine sees: natural-image-like random images (dead
    leaves), one of them letterboxed (grey 114 bands), and uniform per-pixel noise (the benchmark input of
    bench/ort_bench.js). Statistics over all of them keep every kind in a sane range."""
    natural = dead_leaves(rng, 2, CALIB_SIZE)
    band = CALIB_SIZE // 4
    natural[1, :, :band] = natural[1, :, -band:] = 114.0 / 255.0
    noise = rng.uniform(0.0, 1.0, (1, 3, CALIB_SIZE, CALIB_SIZE))
    return np.concatenate([natural, noise]).astype(np.float32)


class T:
    """A graph tensor: its ONNX name and its value on the calibration batch."""

    def __init__(self, name, val=None):
        self.name, self.val = name, val

    @property
    def c(self):
        return self.val.shape[1]


class Builder:
    def __init__(self, seed):
        self.seed = seed
        self.nodes, self.inits = [], []
        self.split_count = 0

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def node(self, op, name, inputs, n_out=1, **attrs):
        outs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, inputs, outs, name=name, **attrs))
        return outs if n_out > 1 else outs[0]

    # --- a convolution with its weights chosen on the calibration batch -----------------------------
    def rng(self, wname):
        """One generator per layer, keyed by its weight name: a layer's weights do not depend on the order in
        which the layers are built, so both head layouts give the same network for one seed."""
        return np.random.default_rng([self.seed, zlib.crc32(wname.encode())])

    def conv_weights(self, x, c2, k, s, mean, std, rng):
        """He-normal weights, then the per-channel affine that gives the calibration batch's output the
        requested per-channel mean and std, folded into weight and bias (BatchNorm fusion)."""
        fan_in = x.c * k * k
        w = rng.normal(0.0, np.sqrt(2.0 / fan_in), (c2, x.c, k, k)).astype(np.float32)
        raw = conv2d(x.val, w, s, k // 2)
        mu = raw.mean(axis=(0, 2, 3))
        sd = raw.std(axis=(0, 2, 3)) + 1e-3
        scale = (std / sd).astype(np.float32)
        w = w * scale[:, None, None, None]
        b = (mean - mu * scale).astype(np.float32)
        y = (raw - mu[None, :, None, None]) * scale[None, :, None, None] + mean[None, :, None, None]
        return w, b, y.astype(np.float32)

    def conv(self, x, c2, k, s, prefix, wname):
        """Ultralytics Conv (conv + folded BN + SiLU), exported as Conv, Sigmoid, Mul."""
        rng = self.rng(wname)
        gamma = rng.uniform(0.5, 1.5, c2)
        beta = rng.normal(0.0, 0.5, c2)
        w, b, y = self.conv_weights(x, c2, k, s, beta, gamma, rng)
        p = k // 2
        out = self.node("Conv", f"{prefix}/conv/Conv",
                        [x.name, self.init(f"{wname}.conv.weight", w), self.init(f"{wname}.conv.bias", b)],
                        dilations=[1, 1], group=1, kernel_shape=[k, k], pads=[p, p, p, p], strides=[s, s])
        sig = self.node("Sigmoid", f"{prefix}/act/Sigmoid", [out])
        return T(self.node("Mul", f"{prefix}/act/Mul", [out, sig]), silu(y))

    def plain_conv(self, x, c2, prefix, wname, mean, std):
        """nn.Conv2d(c1, c2, 1) with bias: the head's last conv of each branch (no BN, no activation)."""
        mean = np.broadcast_to(np.asarray(mean, np.float64), (c2,))
        std = np.broadcast_to(np.asarray(std, np.float64), (c2,))
        w, b, y = self.conv_weights(x, c2, 1, 1, mean, std, self.rng(wname))
        out = self.node("Conv", f"{prefix}/Conv",
                        [x.name, self.init(f"{wname}.weight", w), self.init(f"{wname}.bias", b)],
                        dilations=[1, 1], group=1, kernel_shape=[1, 1], pads=[0, 0, 0, 0], strides=[1, 1])
        return T(out, y)

    # --- data movement ---------------------------------------------------------------------------
    def split(self, x, sizes, prefix):
        name = self.init(f"onnx::Split_{self.split_count}", np.array(sizes, np.int64))
        self.split_count += 1
        outs = self.node("Split", f"{prefix}/Split", [x.name, name], n_out=len(sizes), axis=1)
        bounds = np.cumsum([0] + list(sizes))
        return [T(o, x.val[:, bounds[i]:bounds[i + 1]]) for i, o in enumerate(outs)]

    def concat(self, xs, prefix):
        return T(self.node("Concat", f"{prefix}/Concat", [x.name for x in xs], axis=1),
                 np.concatenate([x.val for x in xs], axis=1))

    def add(self, a, b, prefix):
        return T(self.node("Add", f"{prefix}/Add", [a.name, b.name]), a.val + b.val)

    def maxpool(self, x, k, prefix):
        return T(self.node("MaxPool", f"{prefix}/MaxPool", [x.name], ceil_mode=0, dilations=[1, 1],
                           kernel_shape=[k, k], pads=[k // 2] * 4, strides=[1, 1]), maxpool(x.val, k))

    def upsample(self, x, i):
        scales = self.init(f"/model.{i}/Constant_output_0", np.array([1, 1, 2, 2], np.float32))
        out = self.node("Resize", f"/model.{i}/Resize", [x.name, "", scales], coordinate_transformation_mode="asymmetric",
                        cubic_coeff_a=-0.75, mode="nearest", nearest_mode="floor")
        return T(out, x.val.repeat(2, axis=2).repeat(2, axis=3))

    # --- Ultralytics modules -----------------------------------------------------------------------
    def c2f(self, x, c2, n, shortcut, i):
        c = c2 // 2  # e = 0.5
        p = f"/model.{i}"
        ys = self.split(self.conv(x, 2 * c, 1, 1, f"{p}/cv1", f"model.{i}.cv1"), [c, c], p)
        for j in range(n):
            h = self.conv(ys[-1], c, 3, 1, f"{p}/m.{j}/cv1", f"model.{i}.m.{j}.cv1")  # Bottleneck, e = 1.0
            h = self.conv(h, c, 3, 1, f"{p}/m.{j}/cv2", f"model.{i}.m.{j}.cv2")
            ys.append(self.add(ys[-1], h, f"{p}/m.{j}") if shortcut else h)
        return self.conv(self.concat(ys, p), c2, 1, 1, f"{p}/cv2", f"model.{i}.cv2")

    def sppf(self, x, c2, k, i):
        p = f"/model.{i}"
        ys = [self.conv(x, x.c // 2, 1, 1, f"{p}/cv1", f"model.{i}.cv1")]
        for sub in ("m", "m_1", "m_2"):  # one MaxPool module called three times, as torch names the calls
            ys.append(self.maxpool(ys[-1], k, f"{p}/{sub}"))
        return self.conv(self.concat(ys, p), c2, 1, 1, f"{p}/cv2", f"model.{i}.cv2")


def backbone_and_neck(b, images, size):
    """yolov8-pose.yaml layers 0..21; returns the P3, P4, P5 features (layers 15, 18, 21)."""
    depth, width, max_ch = SCALES[size]
    ch = lambda c: make_divisible(min(c, max_ch) * width)  # noqa: E731
    rep = lambda n: max(round(n * depth), 1) if n > 1 else n  # noqa: E731
    L = {}
    x = b.conv(images, ch(64), 3, 2, "/model.0", "model.0")
    L[1] = x = b.conv(x, ch(128), 3, 2, "/model.1", "model.1")
    L[2] = x = b.c2f(x, ch(128), rep(3), True, 2)
    L[3] = x = b.conv(x, ch(256), 3, 2, "/model.3", "model.3")
    L[4] = x = b.c2f(x, ch(256), rep(6), True, 4)
    L[5] = x = b.conv(x, ch(512), 3, 2, "/model.5", "model.5")
    L[6] = x = b.c2f(x, ch(512), rep(6), True, 6)
    L[7] = x = b.conv(x, ch(1024), 3, 2, "/model.7", "model.7")
    L[8] = x = b.c2f(x, ch(1024), rep(3), True, 8)
    L[9] = x = b.sppf(x, ch(1024), 5, 9)
    x = b.upsample(x, 10)
    x = b.concat([x, L[6]], "/model.11")
    L[12] = x = b.c2f(x, ch(512), rep(3), False, 12)
    x = b.upsample(x, 13)
    x = b.concat([x, L[4]], "/model.14")
    L[15] = x = b.c2f(x, ch(256), rep(3), False, 15)
    x = b.conv(x, ch(256), 3, 2, "/model.16", "model.16")
    x = b.concat([x, L[12]], "/model.17")
    L[18] = x = b.c2f(x, ch(512), rep(3), False, 18)
    x = b.conv(x, ch(512), 3, 2, "/model.19", "model.19")
    x = b.concat([x, L[9]], "/model.20")
    L[21] = x = b.c2f(x, ch(1024), rep(3), False, 21)
    return [L[15], L[18], L[21]]


def branch(b, x, kind, i, c_mid, c_out, mean, std, head="/model.22"):
    """One head branch cv{2,3,4}.i: Conv 3x3, Conv 3x3, nn.Conv2d 1x1."""
    p, w = f"{head}/{kind}.{i}/{kind}.{i}", f"model.22.{kind}.{i}"
    h = b.conv(x, c_mid, 3, 1, f"{p}.0", f"{w}.0")
    h = b.conv(h, c_mid, 3, 1, f"{p}.1", f"{w}.1")
    return b.plain_conv(h, c_out, f"{p}.2", f"{w}.2", mean, std)


def anchor_grid(imgsz):
    """Ultralytics make_anchors(offset 0.5): ([2, N] anchor centres in grid units, [N] strides)."""
    xs, ys, st = [], [], []
    for s in STRIDES:
        g = imgsz // s
        yy, xx = np.meshgrid(np.arange(g), np.arange(g), indexing="ij")
        xs.append(xx.ravel() + 0.5)
        ys.append(yy.ravel() + 0.5)
        st.append(np.full(g * g, float(s)))
    return np.stack([np.concatenate(xs), np.concatenate(ys)]).astype(np.float32), np.concatenate(st).astype(np.float32)


def pose_head(b, feats, imgsz, fmt):
    """Ultralytics Pose head as exported, with the decode tail built for `imgsz`; the output is `output0`.
    Returns the nine branch outputs on the calibration batch, {"box"|"score"|"kpt": [per stride]}."""
    nk = KPT_SHAPE[0] * KPT_SHAPE[1]
    c0 = feats[0].c
    c2, c3, c4 = max(16, c0 // 4, REG_MAX * 4), max(c0, 1), max(c0 // 4, nk)  # Detect/Pose __init__, nc = 1
    # Calibrated output ranges of the branches' last convs (mean, std per channel), see the module docstring.
    spec = {"box": ("cv2", c2, 4 * REG_MAX, -0.35 * np.tile(np.arange(REG_MAX), 4), 1.0),
            "score": ("cv3", c3, 1, -3.0, 1.5),
            "kpt": ("cv4", c4, nk, 0.0, np.tile([0.5, 0.5, 1.5], KPT_SHAPE[0]))}
    H = "/model.22"
    n = sum((imgsz // s) ** 2 for s in STRIDES)
    anchors, strides = anchor_grid(imgsz)
    count = {}

    def op(kind, inputs, n_out=1, **attrs):
        """A head node named as torch names them: /model.22/Kind, /model.22/Kind_1, ..."""
        k = count.get(kind, 0)
        count[kind] = k + 1
        return b.node(kind, f"{H}/{kind}" + (f"_{k}" if k else ""), inputs, n_out, **attrs)

    def const(arr):
        """A constant named as the exporter names folded constants: /model.22/Constant_K_output_0."""
        k = count.get("Constant", 0)
        count["Constant"] = k + 1
        return b.init(f"{H}/Constant" + (f"_{k}" if k else "") + "_output_0", np.asarray(arr))

    def i64(*v):
        return np.array(v, np.int64)

    raw = {key: [] for key in spec}

    def run_branch(key, i):
        kind, c_mid, c_out, mean, std = spec[key]
        t = branch(b, feats[i], kind, i, c_mid, c_out, mean, std)
        raw[key].append(t.val)
        return t.name

    kpt_shape = const(i64(1, nk, -1))
    if fmt == "8.4":
        # forward_head: boxes, scores, keypoints each flattened per scale and concatenated along anchors.
        box_shape, score_shape = const(i64(1, 4 * REG_MAX, -1)), const(i64(1, 1, -1))
        box = op("Concat", [op("Reshape", [run_branch("box", i), box_shape], allowzero=0) for i in range(3)], axis=-1)
        score = op("Concat", [op("Reshape", [run_branch("score", i), score_shape], allowzero=0) for i in range(3)], axis=-1)
        kpt = op("Concat", [op("Reshape", [run_branch("kpt", i), kpt_shape], allowzero=0) for i in range(3)], axis=2)
    else:
        # 8.0-8.3: Pose.forward flattens the keypoints first, then Detect.forward concatenates box and
        # score per scale; _inference flattens those, concatenates the scales and splits box from score.
        kpt = op("Concat", [op("Reshape", [run_branch("kpt", i), kpt_shape], allowzero=0) for i in range(3)], axis=-1)
        per_scale = [op("Concat", [run_branch("box", i), run_branch("score", i)], axis=1) for i in range(3)]
        no_shape = const(i64(1, 4 * REG_MAX + 1, -1))
        cat = op("Concat", [op("Reshape", [x, no_shape], allowzero=0) for x in per_scale], axis=2)
        box, score = op("Split", [cat, const(i64(4 * REG_MAX, 1))], n_out=2, axis=1)

    # DFL: softmax over the 16 bins, expectation by a 1x1 conv with weights 0..15 (Ultralytics' DFL module).
    d = b.node("Reshape", f"{H}/dfl/Reshape", [box, b.init(f"{H}/dfl/Constant_output_0", i64(1, 4, REG_MAX, n))], allowzero=0)
    d = b.node("Transpose", f"{H}/dfl/Transpose", [d], perm=[0, 2, 1, 3])
    d = b.node("Softmax", f"{H}/dfl/Softmax", [d], axis=1)
    dfl_w = b.init("model.22.dfl.conv.weight", np.arange(REG_MAX, dtype=np.float32).reshape(1, REG_MAX, 1, 1))
    d = b.node("Conv", f"{H}/dfl/conv/Conv", [d, dfl_w], dilations=[1, 1], group=1, kernel_shape=[1, 1],
               pads=[0, 0, 0, 0], strides=[1, 1])
    d = b.node("Reshape", f"{H}/dfl/Reshape_1", [d, b.init(f"{H}/dfl/Constant_1_output_0", i64(1, 4, n))], allowzero=0)
    # dist2bbox (xywh; chunk exported as two Slices), times the strides.
    zero, one, two, three, four = (const(i64(v)) for v in (0, 1, 2, 3, 4))
    lt = op("Slice", [d, zero, two, one])
    rb = op("Slice", [d, two, four, one])
    x1y1 = op("Sub", [const(anchors[None]), lt])
    x2y2 = op("Add", [const(anchors[None]), rb])
    two_f = const(np.array(2.0, np.float32))
    cxy = op("Div", [op("Add", [x1y1, x2y2]), two_f])
    wh = op("Sub", [x2y2, x1y1])
    dbox = op("Mul", [op("Concat", [cxy, wh], axis=1), const(strides[None])])
    sig = op("Sigmoid", [score])
    # Keypoints: (k * 2 + (anchor - 0.5)) * stride; sigmoid on visibility.
    y = op("Reshape", [kpt, const(i64(1, *KPT_SHAPE, -1))], allowzero=0)
    xy = op("Mul", [op("Slice", [y, zero, two, two, one]), two_f])
    xy = op("Mul", [op("Add", [xy, const(anchors - 0.5)]), const(strides[None])])
    vis = op("Sigmoid", [op("Slice", [y, two, three, two, one])])
    k = op("Reshape", [op("Concat", [xy, vis], axis=2), kpt_shape], allowzero=0)
    # The exporter's simplifier merges cat(cat(box, score), keypoints) into one Concat.
    b.nodes.append(helper.make_node("Concat", [dbox, sig, k], ["output0"], name=f"{H}/Concat_{count['Concat']}", axis=1))
    return raw


def decoded_stats(raw):
    """What the decoded outputs look like on the calibration batch: proof they are not saturated."""
    score = 1.0 / (1.0 + np.exp(-np.concatenate([s.reshape(CALIB_BATCH, -1) for s in raw["score"]], axis=1)))
    dist = []
    for bx in raw["box"]:
        logits = bx.reshape(CALIB_BATCH, 4, REG_MAX, -1)
        e = np.exp(logits - logits.max(axis=2, keepdims=True))
        dist.append(((e / e.sum(axis=2, keepdims=True)) * np.arange(REG_MAX)[:, None]).sum(axis=2))
    dist = np.concatenate(dist, axis=2)
    vis = np.concatenate([k.reshape(CALIB_BATCH, KPT_SHAPE[0], 3, -1)[:, :, 2] for k in raw["kpt"]], axis=2)
    vis = 1.0 / (1.0 + np.exp(-vis))
    return (f"score > 0.25 at {100 * (score > 0.25).mean():.1f}% of anchors (max {score.max():.3f}); "
            f"box side distances {np.percentile(dist, 5):.2f}..{np.percentile(dist, 95):.2f} strides (5-95%); "
            f"keypoint visibility {np.percentile(vis, 5):.2f}..{np.percentile(vis, 95):.2f}")


def build(size, imgsz, seed, fmt, opset, command):
    b = Builder(seed)
    images = T("images", calibration_images(np.random.default_rng([seed, 0])))
    raw = pose_head(b, backbone_and_neck(b, images, size), imgsz, fmt)
    n = sum((imgsz // s) ** 2 for s in STRIDES)
    graph = helper.make_graph(
        b.nodes, "main_graph",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, imgsz, imgsz])],
        [helper.make_tensor_value_info("output0", TensorProto.FLOAT, [1, 4 + 1 + KPT_SHAPE[0] * KPT_SHAPE[1], n])],
        initializer=b.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="sparsepose bench/make_yolov8_pose.py")
    model.ir_version = 9 if opset >= 19 else 8  # what exporters write for these opsets
    meta = {
        "description": f"Ultralytics YOLOv8{size}-pose topology with random weights (seed {seed}): for latency only",
        "author": "sparsepose bench/make_yolov8_pose.py (topology: Ultralytics, yolov8-pose.yaml)",
        "version": FORMAT_VERSION[fmt],
        "license": "AGPL-3.0 License (https://ultralytics.com/license)",
        "docs": "https://docs.ultralytics.com",
        "stride": "32",
        "task": "pose",
        "batch": "1",
        "imgsz": f"[{imgsz}, {imgsz}]",
        "names": "{0: 'person'}",
        "args": f"{{'batch': 1, 'half': False, 'int8': False, 'dynamic': False, 'simplify': True, 'opset': {opset}, 'nms': False}}",
        "channels": "3",
        "end2end": "False",
        "kpt_shape": f"[{KPT_SHAPE[0]}, {KPT_SHAPE[1]}]",
        "generator": command,
    }
    helper.set_model_props(model, meta)
    return model, decoded_stats(raw)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(SCALES), default="n", help="model scale (default n)")
    ap.add_argument("--imgsz", type=int, default=640, help="square input size, a multiple of 32 (default 640)")
    ap.add_argument("--seed", type=int, default=0, help="random seed of the weights (default 0)")
    ap.add_argument("--ultralytics", choices=sorted(FORMAT_VERSION), default="8.4",
                    help="whose exporter's head layout to write: 8.4 (default, current) or 8.3 (8.0-8.3)")
    ap.add_argument("--opset", type=int, default=20, help="ONNX opset to declare, 13..20 (default 20, as Ultralytics 8.4)")
    ap.add_argument("-o", "--output", required=True, help="the .onnx file to write")
    a = ap.parse_args(argv)
    if a.imgsz < 32 or a.imgsz % 32:
        ap.error(f"--imgsz {a.imgsz} is not a positive multiple of 32")
    if not 13 <= a.opset <= 20:
        ap.error(f"--opset {a.opset}: the graph's Split/Softmax/Resize forms need opset 13..20")
    command = (f"bench/make_yolov8_pose.py --size {a.size} --imgsz {a.imgsz} --seed {a.seed} "
               f"--ultralytics {a.ultralytics} --opset {a.opset}")
    model, stats = build(a.size, a.imgsz, a.seed, a.ultralytics, a.opset, command)
    try:
        check(model)
    except (RespecializeError, onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as e:
        sys.exit(f"make_yolov8_pose: internal error, the model fails the ONNX checks: {e}")
    onnx.save(model, a.output)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer if t.data_type == TensorProto.FLOAT)
    print(f"make_yolov8_pose: wrote {a.output}: YOLOv8{a.size}-pose {a.imgsz}x{a.imgsz}, Ultralytics {a.ultralytics} "
          f"export layout, opset {a.opset}, {len(model.graph.node)} nodes, {params / 1e6:.3f} M parameters; "
          f"calibration batch: {stats}", file=sys.stderr)


if __name__ == "__main__":
    main()
