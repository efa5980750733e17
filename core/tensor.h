// Element types, shapes and constant tensors of the graph IR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

namespace sp {

enum class DType : uint8_t { kFloat32, kUInt8, kInt8, kInt32, kInt64, kBool };

size_t dtype_size(DType t);
const char* dtype_name(DType t);

using Shape = std::vector<int64_t>;

// a * b for non-negative sizes, saturating at INT64_MAX instead of overflowing (corrupt files claim
// absurd shapes; the saturated value then fails every size check downstream).
int64_t saturating_mul(int64_t a, int64_t b);
int64_t shape_numel(const Shape& s);
// Element strides of a contiguous row-major tensor of shape `s`.
std::vector<int64_t> row_major_strides(const Shape& s);
// Element strides of a contiguous tensor of shape `in` read as if broadcast (ONNX rules) to `out`:
// 0 on broadcast axes. `in` must broadcast to `out`.
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);
std::string shape_string(const Shape& s);

// A constant tensor: an initializer, a Constant node or a folded value. Immutable once built.
struct Tensor {
  DType dtype = DType::kFloat32;
  Shape shape;
  std::vector<uint8_t> bytes;

  Tensor() = default;
  Tensor(DType t, Shape s) : dtype(t), shape(std::move(s)), bytes(shape_numel(shape) * dtype_size(t)) {}

  int64_t numel() const { return shape_numel(shape); }
  template <typename T>
  T* data() { return reinterpret_cast<T*>(bytes.data()); }
  template <typename T>
  const T* data() const { return reinterpret_cast<const T*>(bytes.data()); }

  // Integer contents widened to int64 (for shape-like tensors); throws for float tensors.
  std::vector<int64_t> as_int64() const;
  // Contents converted to float (for scales, constants of elementwise ops).
  std::vector<float> as_float() const;
};

using TensorPtr = std::shared_ptr<const Tensor>;

TensorPtr make_int64_tensor(const std::vector<int64_t>& values, Shape shape);
TensorPtr make_float_tensor(const std::vector<float>& values, Shape shape);

}  // namespace sp
