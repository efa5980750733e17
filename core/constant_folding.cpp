// Load-time evaluation of nodes whose inputs are all constant: shape arithmetic of dynamic exports,
// dequantization of QDQ weights, reshapes of constants. Simplicity over speed: this runs once per
// Session on small tensors (the largest are weights), in double precision.
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "core/error.h"
#include "core/shape_inference.h"

namespace sp {
namespace {

// Larger constant results are left to the runtime (the double-precision folding would need 8 bytes each).
constexpr int64_t kMaxFoldElements = int64_t{1} << 24;

bool is_int(DType t) { return t != DType::kFloat32; }

std::vector<double> to_double(const Tensor& t) {
  std::vector<double> out(t.numel());
  for (int64_t i = 0; i < t.numel(); ++i) {
    switch (t.dtype) {
      case DType::kFloat32: out[i] = t.data<float>()[i]; break;
      case DType::kInt64: out[i] = static_cast<double>(t.data<int64_t>()[i]); break;
      case DType::kInt32: out[i] = t.data<int32_t>()[i]; break;
      case DType::kInt8: out[i] = t.data<int8_t>()[i]; break;
      case DType::kUInt8:
      case DType::kBool: out[i] = t.data<uint8_t>()[i]; break;
    }
  }
  return out;
}

// Folded integer arithmetic runs in double; a result outside the type (INT64_MAX + 1 rounds up to
// 2^63) or NaN would make the cast undefined, so it saturates (NaN: 0).
template <typename T>
T saturate(double v) {
  if (std::isnan(v)) return T{0};
  if (v <= static_cast<double>(std::numeric_limits<T>::min())) return std::numeric_limits<T>::min();
  if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
  return static_cast<T>(v);
}

TensorPtr from_double(const std::vector<double>& v, DType t, const Shape& shape) {
  auto out = std::make_shared<Tensor>(t, shape);
  for (size_t i = 0; i < v.size(); ++i) {
    switch (t) {
      case DType::kFloat32: out->data<float>()[i] = static_cast<float>(v[i]); break;
      case DType::kInt64: out->data<int64_t>()[i] = saturate<int64_t>(v[i]); break;
      case DType::kInt32: out->data<int32_t>()[i] = saturate<int32_t>(v[i]); break;
      case DType::kInt8: out->data<int8_t>()[i] = saturate<int8_t>(v[i]); break;
      case DType::kUInt8: out->data<uint8_t>()[i] = saturate<uint8_t>(v[i]); break;
      case DType::kBool: out->data<uint8_t>()[i] = v[i] != 0; break;
    }
  }
  return out;
}

// Calls fn(output index, input offsets...) over `out` for inputs broadcast to it.
void for_each_broadcast(const Shape& out, const std::vector<Shape>& ins,
                        const std::function<void(int64_t, const std::vector<int64_t>&)>& fn) {
  std::vector<std::vector<int64_t>> strides;
  for (const Shape& s : ins) strides.push_back(broadcast_strides(s, out));
  std::vector<int64_t> idx(out.size(), 0), offs(ins.size(), 0);
  int64_t n = shape_numel(out);
  for (int64_t e = 0; e < n; ++e) {
    fn(e, offs);
    for (size_t d = out.size(); d-- > 0;) {
      ++idx[d];
      for (size_t k = 0; k < ins.size(); ++k) offs[k] += strides[k][d];
      if (idx[d] < out[d]) break;
      for (size_t k = 0; k < ins.size(); ++k) offs[k] -= strides[k][d] * out[d];
      idx[d] = 0;
    }
  }
}

double apply_binary(const std::string& op, double a, double b, bool integer) {
  if (op == "Add") return a + b;
  if (op == "Sub") return a - b;
  if (op == "Mul") return a * b;
  if (op == "Div") {
    if (integer) {
      if (b == 0) throw Error("integer division by zero while folding constants");
      return std::trunc(a / b);
    }
    return a / b;
  }
  if (op == "Pow") return std::pow(a, b);
  if (op == "Equal") return a == b ? 1.0 : 0.0;
  throw Error("internal: unknown binary op " + op);
}

bool unary(const std::string& op, double x, double& y) {
  if (op == "Sigmoid") y = 1.0 / (1.0 + std::exp(-x));
  else if (op == "Relu") y = x > 0 ? x : 0;
  else if (op == "Sqrt") y = std::sqrt(x);
  else if (op == "Neg") y = -x;
  else if (op == "Floor") y = std::floor(x);
  else if (op == "Ceil") y = std::ceil(x);
  else if (op == "Exp") y = std::exp(x);
  else if (op == "Log") y = std::log(x);
  else if (op == "Tanh") y = std::tanh(x);
  else if (op == "Identity") y = x;
  else return false;
  return true;
}

}  // namespace

bool fold_node(Graph& g, Node& n) {
  const std::string& op = n.op_type;
  const Value& out = g.values[n.outputs[0]];
  auto set = [&](size_t i, TensorPtr t) { g.values[n.outputs[i]].constant = std::move(t); };
  if (shape_numel(out.shape) > kMaxFoldElements) return false;

  if (op == "Shape") {
    const Shape& s = g.values[n.inputs[0]].shape;
    int64_t rank = static_cast<int64_t>(s.size());
    int64_t start = n.attr_int("start", 0), end = n.attr_int("end", rank);
    if (start < 0) start += rank;
    if (end < 0) end += rank;
    start = std::clamp<int64_t>(start, 0, rank);
    end = std::clamp<int64_t>(end, start, rank);
    set(0, make_int64_tensor(std::vector<int64_t>(s.begin() + start, s.begin() + end), out.shape));
    return true;
  }
  if (op == "ConstantOfShape") {
    double v = 0;
    auto it = n.attrs.find("value");
    if (it != n.attrs.end() && it->second.t) v = to_double(*it->second.t)[0];
    set(0, from_double(std::vector<double>(shape_numel(out.shape), v), out.dtype, out.shape));
    return true;
  }
  for (int v : n.inputs) {
    if (v >= 0 && !g.values[v].constant) return false;
  }

  auto in = [&](size_t i) -> const Tensor& { return *g.values[n.inputs[i]].constant; };

  double y = 0;
  if (op == "Reshape" || op == "Flatten" || op == "Unsqueeze" || op == "Squeeze" || op == "Identity") {
    auto t = std::make_shared<Tensor>(in(0));
    t->shape = out.shape;
    set(0, t);
  } else if (op == "Cast") {
    set(0, from_double(to_double(in(0)), out.dtype, out.shape));
  } else if (unary(op, 0, y)) {
    auto x = to_double(in(0));
    for (double& v : x) unary(op, v, v);
    set(0, from_double(x, out.dtype, out.shape));
  } else if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div" || op == "Pow" || op == "Equal") {
    auto a = to_double(in(0)), b = to_double(in(1));
    std::vector<double> r(shape_numel(out.shape));
    bool integer = is_int(in(0).dtype);
    for_each_broadcast(out.shape, {in(0).shape, in(1).shape},
                       [&](int64_t e, const std::vector<int64_t>& o) { r[e] = apply_binary(op, a[o[0]], b[o[1]], integer); });
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Where") {
    auto c = to_double(in(0)), a = to_double(in(1)), b = to_double(in(2));
    std::vector<double> r(shape_numel(out.shape));
    for_each_broadcast(out.shape, {in(0).shape, in(1).shape, in(2).shape},
                       [&](int64_t e, const std::vector<int64_t>& o) { r[e] = c[o[0]] != 0 ? a[o[1]] : b[o[2]]; });
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Expand") {
    auto a = to_double(in(0));
    std::vector<double> r(shape_numel(out.shape));
    for_each_broadcast(out.shape, {in(0).shape}, [&](int64_t e, const std::vector<int64_t>& o) { r[e] = a[o[0]]; });
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Concat") {
    int64_t rank = static_cast<int64_t>(out.shape.size());
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += rank;
    int64_t outer = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= out.shape[d];
    std::vector<double> r;
    r.reserve(shape_numel(out.shape));
    std::vector<std::vector<double>> parts;
    for (size_t i = 0; i < n.inputs.size(); ++i) parts.push_back(to_double(in(i)));
    for (int64_t o = 0; o < outer; ++o) {
      for (size_t i = 0; i < n.inputs.size(); ++i) {
        int64_t chunk = static_cast<int64_t>(parts[i].size()) / std::max<int64_t>(outer, 1);
        r.insert(r.end(), parts[i].begin() + o * chunk, parts[i].begin() + (o + 1) * chunk);
      }
    }
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Gather") {
    const Shape& s = in(0).shape;
    int64_t axis = n.attr_int("axis", 0);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    auto data = to_double(in(0));
    auto idx = in(1).as_int64();
    int64_t outer = 1, inner = 1;
    for (int64_t d = 0; d < axis; ++d) outer *= s[d];
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    std::vector<double> r;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t k : idx) {
        if (k < 0) k += s[axis];
        if (k < 0 || k >= s[axis]) throw Error(n.describe() + ": index " + std::to_string(k) + " out of range");
        auto base = data.begin() + (o * s[axis] + k) * inner;
        r.insert(r.end(), base, base + inner);
      }
    }
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Slice") {
    const Shape& s = in(0).shape;
    auto starts = n.attr_ints("resolved_starts"), steps = n.attr_ints("resolved_steps");
    auto data = to_double(in(0));
    auto st = row_major_strides(s);
    std::vector<double> r(shape_numel(out.shape));
    std::vector<int64_t> idx(out.shape.size(), 0);
    for (size_t e = 0; e < r.size(); ++e) {
      int64_t off = 0;
      for (size_t d = 0; d < s.size(); ++d) off += (starts[d] + idx[d] * steps[d]) * st[d];
      r[e] = data[off];
      for (size_t d = out.shape.size(); d-- > 0;) {
        if (++idx[d] < out.shape[d]) break;
        idx[d] = 0;
      }
    }
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Transpose") {
    const Shape& s = in(0).shape;
    auto perm = n.attr_ints("perm");
    if (perm.empty()) for (int64_t i = static_cast<int64_t>(s.size()) - 1; i >= 0; --i) perm.push_back(i);
    auto data = to_double(in(0));
    auto st = row_major_strides(s);
    std::vector<double> r(data.size());
    std::vector<int64_t> idx(out.shape.size(), 0);
    for (size_t e = 0; e < r.size(); ++e) {
      int64_t off = 0;
      for (size_t d = 0; d < perm.size(); ++d) off += idx[d] * st[perm[d]];
      r[e] = data[off];
      for (size_t d = out.shape.size(); d-- > 0;) {
        if (++idx[d] < out.shape[d]) break;
        idx[d] = 0;
      }
    }
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "Range") {
    double start = to_double(in(0))[0], delta = to_double(in(2))[0];
    std::vector<double> r(shape_numel(out.shape));
    for (size_t i = 0; i < r.size(); ++i) r[i] = start + delta * static_cast<double>(i);
    set(0, from_double(r, out.dtype, out.shape));
  } else if (op == "DequantizeLinear" || op == "QuantizeLinear") {
    // Per-tensor or per-axis (weights) scale and zero point.
    const Shape& s = in(0).shape;
    auto x = to_double(in(0));
    auto scale = to_double(in(1));
    std::vector<double> zp = n.inputs.size() > 2 && n.inputs[2] >= 0 ? to_double(in(2)) : std::vector<double>(scale.size(), 0);
    int64_t axis = n.attr_int("axis", 1);
    if (axis < 0) axis += static_cast<int64_t>(s.size());
    int64_t inner = 1;
    for (size_t d = axis + 1; d < s.size(); ++d) inner *= s[d];
    int64_t channels = scale.size() > 1 ? s[axis] : 1;
    if (static_cast<int64_t>(scale.size()) != channels || zp.size() != scale.size()) {
      throw Error(n.describe() + ": scale/zero point sizes do not match the axis");
    }
    std::vector<double> r(x.size());
    double lo = out.dtype == DType::kInt8 ? -128 : 0, hi = out.dtype == DType::kInt8 ? 127 : 255;
    for (size_t e = 0; e < x.size(); ++e) {
      size_t c = channels > 1 ? (e / inner) % channels : 0;
      if (op == "DequantizeLinear") {
        r[e] = static_cast<float>((x[e] - zp[c]) * static_cast<float>(scale[c]));
      } else {
        r[e] = std::clamp(std::nearbyint(x[e] / scale[c]) + zp[c], lo, hi);
      }
    }
    set(0, from_double(r, out.dtype, out.shape));
    if (op == "DequantizeLinear" && in(0).dtype != DType::kFloat32) {
      auto q = std::make_shared<QuantizedConstant>();
      q->integers = g.values[n.inputs[0]].constant;
      for (double v : scale) q->scales.push_back(static_cast<float>(v));
      for (double v : zp) q->zero_points.push_back(static_cast<int64_t>(v));
      q->axis = channels > 1 ? axis : 0;
      g.values[n.outputs[0]].dequantized_from = std::move(q);
    }
  } else {
    return false;  // not foldable here (e.g. Conv on constants): it runs in the Session
  }
  return true;
}

}  // namespace sp
