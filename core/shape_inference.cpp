#include "core/shape_inference.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.h"

namespace sp {
namespace {

// No activation of a model this engine serves comes near this; a corrupt file can claim anything.
constexpr int64_t kMaxElements = int64_t{1} << 28;

Error node_error(const Node& n, const std::string& what) { return Error(n.describe() + ": " + what); }

const Value& input(const Graph& g, const Node& n, size_t i) {
  if (i >= n.inputs.size() || n.inputs[i] < 0) throw node_error(n, "missing input " + std::to_string(i));
  const Value& v = g.values[n.inputs[i]];
  if (!v.shape_known) throw node_error(n, "the shape of input '" + v.name + "' is unknown");
  return v;
}

bool has_input(const Node& n, size_t i) { return i < n.inputs.size() && n.inputs[i] >= 0; }

std::vector<int64_t> const_ints(const Graph& g, const Node& n, size_t i, const char* what) {
  const Tensor* t = has_input(n, i) ? g.constant(n.inputs[i]) : nullptr;
  if (!t) throw node_error(n, std::string("input '") + what + "' must be a constant (dynamic values are not supported)");
  return t->as_int64();
}

int64_t normalize_axis(int64_t axis, int64_t rank, const Node& n) {
  if (axis < -rank || axis >= rank) throw node_error(n, "axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  return axis < 0 ? axis + rank : axis;
}

void set_output(Graph& g, const Node& n, size_t i, DType t, Shape s) {
  if (i >= n.outputs.size()) throw node_error(n, "expected at least " + std::to_string(i + 1) + " outputs");
  int64_t numel = 1;
  for (int64_t d : s) {
    if (d < 0) throw node_error(n, "inferred a negative dimension " + shape_string(s));
    if (d > 0 && numel > kMaxElements / d) throw node_error(n, "output " + shape_string(s) + " is too large");
    numel *= d;
  }
  Value& v = g.values[n.outputs[i]];
  v.dtype = t;
  v.shape = std::move(s);
  v.shape_known = true;
}

// Output size of a sliding window (Conv, MaxPool) along one axis, with ONNX auto_pad rules.
void window_axis(const Node& n, int64_t in, int64_t k, int64_t stride, int64_t dil, int64_t& pad_begin,
                 int64_t& pad_end, bool ceil_mode, int64_t& out) {
  std::string auto_pad = n.attr_string("auto_pad", "NOTSET");
  int64_t eff = dil * (k - 1) + 1;
  if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    out = (in + stride - 1) / stride;
    int64_t total = std::max<int64_t>(0, (out - 1) * stride + eff - in);
    pad_begin = auto_pad == "SAME_UPPER" ? total / 2 : total - total / 2;
    pad_end = total - pad_begin;
    return;
  }
  if (auto_pad == "VALID") pad_begin = pad_end = 0;
  int64_t span = in + pad_begin + pad_end - eff;
  if (span < 0) throw node_error(n, "the window is larger than the padded input");
  out = (ceil_mode ? (span + stride - 1) / stride : span / stride) + 1;
  // ONNX: with ceil_mode the last window must start inside the input or left padding.
  if (ceil_mode && (out - 1) * stride >= in + pad_begin) --out;
}

void infer_window(Graph& g, Node& n, const Shape& x, int64_t out_channels, const std::vector<int64_t>& kernel) {
  if (x.size() != 4) throw node_error(n, "only 2-D spatial windows (4-D NCHW input) are supported, got " + shape_string(x));
  auto strides = n.attr_ints("strides", {1, 1});
  auto dil = n.attr_ints("dilations", {1, 1});
  auto pads = n.attr_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4 || kernel.size() != 2) {
    throw node_error(n, "strides/dilations/pads/kernel_shape have the wrong length");
  }
  for (int64_t v : strides) if (v <= 0) throw node_error(n, "strides must be positive");
  for (int64_t v : dil) if (v <= 0) throw node_error(n, "dilations must be positive");
  for (int64_t v : pads) if (v < 0) throw node_error(n, "pads must not be negative");
  for (int64_t v : kernel) if (v <= 0) throw node_error(n, "kernel_shape must be positive");
  bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  Shape out{x[0], out_channels, 0, 0};
  for (int a = 0; a < 2; ++a) {
    window_axis(n, x[2 + a], kernel[a], strides[a], dil[a], pads[a], pads[2 + a], ceil_mode, out[2 + a]);
  }
  // Record the resolved padding so the kernels never re-derive auto_pad.
  Attribute p;
  p.kind = Attribute::Kind::kInts;
  p.ints = pads;
  n.attrs["pads"] = p;
  n.attrs.erase("auto_pad");
  set_output(g, n, 0, DType::kFloat32, out);
}

// Static exports bake spatial sizes into Reshape targets (e.g. [1,2,128,400] for a 20x20 map at 640).
// Group input and target dims by equal products; a group whose size changed is re-derived: one target
// dim takes the new product, two target dims are scaled by the image's (h, w) scale.
Shape respecialize_reshape(const Shape& in, const Shape& target, const std::pair<double, double>& scale, const Node& n) {
  Shape out = target;
  size_t i = 0, j = 0;
  while (i < in.size() && j < target.size()) {
    int64_t pi = in[i], pj = target[j];
    size_t i0 = i, j0 = j;
    ++i, ++j;
    while (pi != pj && (i < in.size() || j < target.size())) {
      if ((pi < pj && i < in.size()) || j >= target.size()) pi = saturating_mul(pi, in[i++]);
      else pj = saturating_mul(pj, target[j++]);
    }
    if (pi == pj) continue;
    // Sizes differ: the rest is one changed group.
    int64_t rest = 1;
    for (size_t k = i0; k < in.size(); ++k) rest = saturating_mul(rest, in[k]);
    size_t nt = target.size() - j0;
    if (nt == 1) {
      out[j0] = rest;
      return out;
    }
    if (nt == 2) {
      double hd = std::round(target[j0] * scale.first), wd = std::round(target[j0 + 1] * scale.second);
      int64_t h = hd >= 0 && hd <= kMaxElements ? static_cast<int64_t>(hd) : -1;
      int64_t w = wd >= 0 && wd <= kMaxElements ? static_cast<int64_t>(wd) : -1;
      if (h >= 0 && w >= 0 && saturating_mul(h, w) == rest) {
        out[j0] = h;
        out[j0 + 1] = w;
        return out;
      }
    }
    break;
  }
  throw node_error(n, "cannot reshape " + shape_string(in) + " to " + shape_string(target) +
                          " (a static export run at another input size? re-export with dynamic=True)");
}

}  // namespace

Shape broadcast_shapes(const Shape& a, const Shape& b, const Node& node) {
  Shape out(std::max(a.size(), b.size()));
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t da = i < out.size() - a.size() ? 1 : a[i - (out.size() - a.size())];
    int64_t db = i < out.size() - b.size() ? 1 : b[i - (out.size() - b.size())];
    if (da != db && da != 1 && db != 1) {
      throw node_error(node, "shapes " + shape_string(a) + " and " + shape_string(b) + " do not broadcast");
    }
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void infer_node_shapes(Graph& g, Node& n, const std::pair<double, double>& spatial_scale) {
  const std::string& op = n.op_type;
  auto in0 = [&]() -> const Value& { return input(g, n, 0); };

  if (op == "Conv") {
    const Value& x = in0();
    const Value& w = input(g, n, 1);
    if (w.shape.size() != 4) throw node_error(n, "only 2-D convolution is supported (weight " + shape_string(w.shape) + ")");
    int64_t groups = n.attr_int("group", 1);
    if (groups <= 0 || x.shape.size() != 4 || x.shape[1] != w.shape[1] * groups || w.shape[0] % groups != 0) {
      throw node_error(n, "input " + shape_string(x.shape) + " does not fit weight " + shape_string(w.shape) +
                              " with group " + std::to_string(groups));
    }
    if (has_input(n, 2) && shape_numel(input(g, n, 2).shape) != w.shape[0]) throw node_error(n, "bias size does not match");
    infer_window(g, n, x.shape, w.shape[0], n.attr_ints("kernel_shape", {w.shape[2], w.shape[3]}));
  } else if (op == "MaxPool") {
    if (n.outputs.size() > 1) throw node_error(n, "the Indices output is not supported");
    infer_window(g, n, in0().shape, in0().shape.size() == 4 ? in0().shape[1] : 0, n.attr_ints("kernel_shape"));
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Equal") {
    Shape s = broadcast_shapes(in0().shape, input(g, n, 1).shape, n);
    set_output(g, n, 0, op == "Equal" ? DType::kBool : in0().dtype, s);
  } else if (op == "Where") {
    Shape s = broadcast_shapes(broadcast_shapes(in0().shape, input(g, n, 1).shape, n), input(g, n, 2).shape, n);
    set_output(g, n, 0, input(g, n, 1).dtype, s);
  } else if (op == "Sigmoid" || op == "Relu" || op == "LeakyRelu" || op == "HardSigmoid" || op == "HardSwish" ||
             op == "Identity" || op == "Softmax" || op == "Sqrt" || op == "Floor" || op == "Ceil" || op == "Neg" ||
             op == "Tanh" || op == "Exp" || op == "Log") {
    set_output(g, n, 0, in0().dtype, in0().shape);
  } else if (op == "BatchNormalization") {
    set_output(g, n, 0, in0().dtype, in0().shape);
  } else if (op == "QuantizeLinear") {
    DType t = has_input(n, 2) ? input(g, n, 2).dtype : DType::kUInt8;
    set_output(g, n, 0, t, in0().shape);
  } else if (op == "DequantizeLinear") {
    set_output(g, n, 0, DType::kFloat32, in0().shape);
  } else if (op == "Cast") {
    int64_t to = n.attr_int("to", 1);
    DType t = to == 1 ? DType::kFloat32 : to == 7 ? DType::kInt64 : to == 6 ? DType::kInt32 : to == 9 ? DType::kBool
            : to == 2 ? DType::kUInt8 : to == 3 ? DType::kInt8 : throw node_error(n, "unsupported Cast target type " + std::to_string(to));
    set_output(g, n, 0, t, in0().shape);
  } else if (op == "Concat") {
    const Shape& s0 = in0().shape;
    int64_t axis = normalize_axis(n.attr_int("axis", 0), static_cast<int64_t>(s0.size()), n);
    Shape out = s0;
    out[axis] = 0;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const Shape& s = input(g, n, i).shape;
      if (s.size() != s0.size()) throw node_error(n, "inputs have different ranks");
      for (size_t d = 0; d < s.size(); ++d) {
        if (static_cast<int64_t>(d) != axis && s[d] != s0[d]) {
          throw node_error(n, "input shapes " + shape_string(s0) + " and " + shape_string(s) + " differ off the axis");
        }
      }
      out[axis] += s[axis];
    }
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "Split") {
    const Shape& s = in0().shape;
    int64_t axis = normalize_axis(n.attr_int("axis", 0), static_cast<int64_t>(s.size()), n);
    std::vector<int64_t> sizes;
    if (has_input(n, 1)) sizes = const_ints(g, n, 1, "split");
    else if (n.has_attr("split")) sizes = n.attr_ints("split");
    else {
      int64_t parts = static_cast<int64_t>(n.outputs.size());
      int64_t each = (s[axis] + parts - 1) / parts;
      for (int64_t p = 0, left = s[axis]; p < parts; ++p, left -= each) sizes.push_back(std::min(each, left));
    }
    int64_t total = 0;
    for (int64_t v : sizes) total = (v < 0 || v > kMaxElements || total < 0) ? -1 : total + v;
    if (sizes.size() != n.outputs.size() || total != s[axis]) {
      throw node_error(n, "split sizes do not add up to the axis length " + std::to_string(s[axis]));
    }
    Attribute a;
    a.kind = Attribute::Kind::kInts;
    a.ints = sizes;
    n.attrs["split"] = a;  // resolved sizes for the runtime
    for (size_t i = 0; i < sizes.size(); ++i) {
      Shape o = s;
      o[axis] = sizes[i];
      set_output(g, n, i, in0().dtype, o);
    }
  } else if (op == "Reshape") {
    const Shape& s = in0().shape;
    Shape target = const_ints(g, n, 1, "shape");
    bool allowzero = n.attr_int("allowzero", 0) != 0;
    int64_t known = 1, infer_at = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] == 0 && !allowzero) {
        if (i >= s.size()) throw node_error(n, "a 0 in the target shape has no input dimension to copy");
        target[i] = s[i];
      }
      if (target[i] == -1) {
        if (infer_at >= 0) throw node_error(n, "more than one -1 in the target shape");
        infer_at = static_cast<int64_t>(i);
      } else if (target[i] < 0) {
        throw node_error(n, "invalid target dimension " + std::to_string(target[i]));
      } else {
        known = saturating_mul(known, target[i]);
      }
    }
    int64_t total = shape_numel(s);
    if (infer_at >= 0) {
      if (known == 0 || total % known != 0) throw node_error(n, "cannot infer the -1 dimension of " + shape_string(target) + " from " + shape_string(s));
      target[infer_at] = total / known;
    }
    if (shape_numel(target) != total) target = respecialize_reshape(s, target, spatial_scale, n);
    set_output(g, n, 0, in0().dtype, target);
  } else if (op == "Flatten") {
    const Shape& s = in0().shape;
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    int64_t a = 1, b = 1;
    for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i) (i < axis ? a : b) *= s[i];
    set_output(g, n, 0, in0().dtype, {a, b});
  } else if (op == "Transpose") {
    const Shape& s = in0().shape;
    auto perm = n.attr_ints("perm");
    if (perm.empty()) for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) perm.push_back(i);
    if (perm.size() != s.size()) throw node_error(n, "perm has the wrong length");
    Shape out(s.size());
    std::vector<bool> seen(s.size(), false);
    for (size_t i = 0; i < perm.size(); ++i) {
      int64_t p = normalize_axis(perm[i], static_cast<int64_t>(s.size()), n);
      if (seen[p]) throw node_error(n, "perm repeats an axis");
      seen[p] = true;
      out[i] = s[p];
    }
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "MatMul") {
    Shape a = in0().shape, b = input(g, n, 1).shape;
    if (a.empty() || b.empty()) throw node_error(n, "scalar operands are not allowed");
    bool a1 = a.size() == 1, b1 = b.size() == 1;
    if (a1) a.insert(a.begin(), 1);
    if (b1) b.push_back(1);
    if (a.back() != b[b.size() - 2]) throw node_error(n, "inner dimensions differ: " + shape_string(a) + " x " + shape_string(b));
    Shape batch = broadcast_shapes(Shape(a.begin(), a.end() - 2), Shape(b.begin(), b.end() - 2), n);
    Shape out = batch;
    if (!a1) out.push_back(a[a.size() - 2]);
    if (!b1) out.push_back(b.back());
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "Resize") {
    const Shape& s = in0().shape;
    Shape out = s;
    const Tensor* sizes = has_input(n, 3) ? g.constant(n.inputs[3]) : nullptr;
    const Tensor* scales = has_input(n, 2) ? g.constant(n.inputs[2]) : nullptr;
    if (sizes && sizes->numel() > 0) {
      out = sizes->as_int64();
    } else if (scales && scales->numel() == static_cast<int64_t>(s.size())) {
      auto sc = scales->as_float();
      for (size_t i = 0; i < s.size(); ++i) {
        double v = std::floor(static_cast<double>(s[i]) * sc[i]);
        if (!(v >= 0 && v <= static_cast<double>(kMaxElements))) throw node_error(n, "invalid resize scale");
        out[i] = static_cast<int64_t>(v);
      }
    } else {
      throw node_error(n, "needs constant scales or sizes");
    }
    if (out.size() != s.size()) throw node_error(n, "sizes have the wrong rank");
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "Slice") {
    const Shape& s = in0().shape;
    auto starts = const_ints(g, n, 1, "starts");
    auto ends = const_ints(g, n, 2, "ends");
    std::vector<int64_t> axes, steps;
    if (has_input(n, 3)) axes = const_ints(g, n, 3, "axes");
    else for (size_t i = 0; i < starts.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    if (has_input(n, 4)) steps = const_ints(g, n, 4, "steps");
    else steps.assign(starts.size(), 1);
    if (ends.size() != starts.size() || axes.size() != starts.size() || steps.size() != starts.size()) {
      throw node_error(n, "starts/ends/axes/steps have different lengths");
    }
    Shape out = s;
    std::vector<int64_t> rs(s.size(), 0), rstep(s.size(), 1);
    for (size_t i = 0; i < starts.size(); ++i) {
      int64_t ax = normalize_axis(axes[i], static_cast<int64_t>(s.size()), n), dim = s[ax], st = steps[i];
      if (st == 0) throw node_error(n, "a step of 0");
      int64_t b = starts[i] < 0 ? starts[i] + dim : starts[i];
      int64_t e = ends[i] < 0 ? ends[i] + dim : ends[i];
      if (st > 0) {
        b = std::clamp<int64_t>(b, 0, dim);
        e = std::clamp<int64_t>(e, 0, dim);
        out[ax] = e > b ? (e - b + st - 1) / st : 0;
      } else {
        b = std::clamp<int64_t>(b, 0, dim - 1);
        e = std::clamp<int64_t>(e, -1, dim - 1);
        out[ax] = b > e ? (b - e - st - 1) / -st : 0;
      }
      rs[ax] = b;
      rstep[ax] = st;
    }
    Attribute a, b;
    a.kind = b.kind = Attribute::Kind::kInts;
    a.ints = rs;
    b.ints = rstep;
    n.attrs["resolved_starts"] = a;  // per-axis start and step for the runtime
    n.attrs["resolved_steps"] = b;
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "Shape") {
    int64_t rank = static_cast<int64_t>(in0().shape.size());
    int64_t start = n.attr_int("start", 0), end = n.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    set_output(g, n, 0, DType::kInt64, {end - start});
  } else if (op == "Gather") {
    const Shape& s = in0().shape;
    const Shape& idx = input(g, n, 1).shape;
    int64_t axis = normalize_axis(n.attr_int("axis", 0), static_cast<int64_t>(s.size()), n);
    Shape out(s.begin(), s.begin() + axis);
    out.insert(out.end(), idx.begin(), idx.end());
    out.insert(out.end(), s.begin() + axis + 1, s.end());
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "Unsqueeze" || op == "Squeeze") {
    const Shape& s = in0().shape;
    std::vector<int64_t> axes = has_input(n, 1) ? const_ints(g, n, 1, "axes") : n.attr_ints("axes");
    Shape out;
    if (op == "Unsqueeze") {
      int64_t rank = static_cast<int64_t>(s.size() + axes.size());
      std::vector<bool> ins(rank, false);
      for (int64_t a : axes) ins[normalize_axis(a, rank, n)] = true;
      for (int64_t i = 0, k = 0; i < rank; ++i) out.push_back(ins[i] ? 1 : s[k++]);
    } else {
      int64_t rank = static_cast<int64_t>(s.size());
      std::vector<bool> drop(rank, false);
      if (axes.empty()) for (int64_t i = 0; i < rank; ++i) drop[i] = s[i] == 1;
      for (int64_t a : axes) {
        int64_t ax = normalize_axis(a, rank, n);
        if (s[ax] != 1) throw node_error(n, "cannot squeeze a dimension of size " + std::to_string(s[ax]));
        drop[ax] = true;
      }
      for (int64_t i = 0; i < rank; ++i) if (!drop[i]) out.push_back(s[i]);
    }
    set_output(g, n, 0, in0().dtype, out);
  } else if (op == "ConstantOfShape") {
    DType t = DType::kFloat32;
    auto it = n.attrs.find("value");
    if (it != n.attrs.end() && it->second.t) t = it->second.t->dtype;
    set_output(g, n, 0, t, const_ints(g, n, 0, "shape"));
  } else if (op == "Range") {
    const Tensor* a = g.constant(n.inputs[0]);
    const Tensor* b = g.constant(n.inputs[1]);
    const Tensor* c = g.constant(n.inputs[2]);
    if (!a || !b || !c) throw node_error(n, "Range needs constant inputs");
    double start = a->as_float()[0], limit = b->as_float()[0], delta = c->as_float()[0];
    if (delta == 0) throw node_error(n, "Range with delta 0");
    int64_t count = std::max<int64_t>(0, static_cast<int64_t>(std::ceil((limit - start) / delta)));
    set_output(g, n, 0, a->dtype, {count});
  } else if (op == "Expand") {
    Shape target = const_ints(g, n, 1, "shape");
    set_output(g, n, 0, in0().dtype, broadcast_shapes(in0().shape, target, n));
  } else {
    throw node_error(n, "no shape inference for this op");
  }
}

void specialize_shapes(Graph& g, const std::vector<Shape>& input_shapes) {
  if (input_shapes.size() != g.inputs.size()) {
    throw Error("the model has " + std::to_string(g.inputs.size()) + " inputs but " +
                std::to_string(input_shapes.size()) + " shapes were given");
  }
  std::pair<double, double> scale{1.0, 1.0};
  for (size_t i = 0; i < g.inputs.size(); ++i) {
    Value& v = g.values[g.inputs[i]];
    const Shape& want = input_shapes[i];
    if (want.size() != v.shape.size()) {
      throw Error("input '" + v.name + "' has rank " + std::to_string(v.shape.size()) + ", not " + std::to_string(want.size()));
    }
    for (size_t d = 0; d < want.size(); ++d) {
      if (want[d] <= 0) throw Error("input '" + v.name + "': invalid size " + shape_string(want));
    }
    if (shape_numel(want) > kMaxElements) throw Error("input '" + v.name + "': size " + shape_string(want) + " is too large");
    if (i == 0 && want.size() == 4 && v.shape[2] > 0 && v.shape[3] > 0) {
      scale = {static_cast<double>(want[2]) / v.shape[2], static_cast<double>(want[3]) / v.shape[3]};
    }
    v.shape = want;
    v.shape_known = true;
  }
  for (Node& n : g.nodes) {
    if (n.removed) continue;
    infer_node_shapes(g, n, scale);
    if (fold_node(g, n)) n.removed = true;
  }
}

}  // namespace sp
