#include "core/tensor.h"

#include "core/error.h"

namespace sp {

size_t dtype_size(DType t) {
  switch (t) {
    case DType::kFloat32: return 4;
    case DType::kUInt8: return 1;
    case DType::kInt8: return 1;
    case DType::kInt32: return 4;
    case DType::kInt64: return 8;
    case DType::kBool: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::kFloat32: return "float32";
    case DType::kUInt8: return "uint8";
    case DType::kInt8: return "int8";
    case DType::kInt32: return "int32";
    case DType::kInt64: return "int64";
    case DType::kBool: return "bool";
  }
  return "?";
}

int64_t saturating_mul(int64_t a, int64_t b) {
  int64_t r = 0;
  if (__builtin_mul_overflow(a, b, &r)) return INT64_MAX;
  return r;
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  for (int64_t d : s) n = saturating_mul(n, d);
  return n;
}

std::vector<int64_t> row_major_strides(const Shape& s) {
  std::vector<int64_t> st(s.size(), 1);
  for (size_t i = s.size(); i-- > 1;) st[i - 1] = st[i] * s[i];
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> strides(out.size(), 0);
  int64_t s = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    size_t i = in.size() - 1 - k, o = out.size() - 1 - k;
    strides[o] = in[i] == 1 ? 0 : s;
    s *= in[i];
  }
  return strides;
}

std::string shape_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) out += ',';
    out += std::to_string(s[i]);
  }
  return out + "]";
}

std::vector<int64_t> Tensor::as_int64() const {
  std::vector<int64_t> out(numel());
  for (int64_t i = 0; i < numel(); ++i) {
    switch (dtype) {
      case DType::kInt64: out[i] = data<int64_t>()[i]; break;
      case DType::kInt32: out[i] = data<int32_t>()[i]; break;
      case DType::kInt8: out[i] = data<int8_t>()[i]; break;
      case DType::kUInt8:
      case DType::kBool: out[i] = data<uint8_t>()[i]; break;
      case DType::kFloat32: throw Error("expected an integer tensor, got float32");
    }
  }
  return out;
}

std::vector<float> Tensor::as_float() const {
  std::vector<float> out(numel());
  for (int64_t i = 0; i < numel(); ++i) {
    switch (dtype) {
      case DType::kFloat32: out[i] = data<float>()[i]; break;
      case DType::kInt64: out[i] = static_cast<float>(data<int64_t>()[i]); break;
      case DType::kInt32: out[i] = static_cast<float>(data<int32_t>()[i]); break;
      case DType::kInt8: out[i] = data<int8_t>()[i]; break;
      case DType::kUInt8:
      case DType::kBool: out[i] = data<uint8_t>()[i]; break;
    }
  }
  return out;
}

TensorPtr make_int64_tensor(const std::vector<int64_t>& values, Shape shape) {
  auto t = std::make_shared<Tensor>(DType::kInt64, std::move(shape));
  if (!values.empty()) std::memcpy(t->bytes.data(), values.data(), values.size() * sizeof(int64_t));
  return t;
}

TensorPtr make_float_tensor(const std::vector<float>& values, Shape shape) {
  auto t = std::make_shared<Tensor>(DType::kFloat32, std::move(shape));
  if (!values.empty()) std::memcpy(t->bytes.data(), values.data(), values.size() * sizeof(float));
  return t;
}

}  // namespace sp
