// Element types and PyTorch's type-promotion rules. dispatch_dtype() turns a runtime DType into a
// compile-time type so kernels are written once as templates over the element type.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "tensor/error.hpp"
#include "tensor/macros.hpp"

namespace terra {

// Order matters: promotion within a category picks the larger enumerator.
enum class DType : uint8_t { Bool, Int32, Int64, Float32, Float64 };
constexpr int kNumDTypes = 5;

size_t itemsize(DType dt);
const char* dtype_name(DType dt);  // "float32", ...
DType dtype_from_name(const std::string& name);  // accepts "float", "long", ... too; throws
inline bool is_floating(DType dt) { return dt == DType::Float32 || dt == DType::Float64; }
inline bool is_integral(DType dt, bool include_bool) {
  return dt == DType::Int32 || dt == DType::Int64 || (include_bool && dt == DType::Bool);
}

// Category order bool < integer < floating, as in PyTorch's result_type.
int dtype_category(DType dt);
DType promote_types(DType a, DType b);
// Whether a value of type `from` may be written into a tensor of type `to` by an in-place op
// (PyTorch: no float into an integer tensor, nothing but bool into bool).
bool can_cast(DType from, DType to);

DType default_float_dtype();
void set_default_float_dtype(DType dt);

template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = DType::Bool; };
template <> struct dtype_of<int32_t> { static constexpr DType value = DType::Int32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = DType::Int64; };
template <> struct dtype_of<float> { static constexpr DType value = DType::Float32; };
template <> struct dtype_of<double> { static constexpr DType value = DType::Float64; };

// One element as to_dtype converts it (every device, and wrapped Python numbers on the host):
// to bool by x != 0, to anything else by static_cast.
template <class O, class I>
TERRA_HD O convert_element(I x) {
  if constexpr (std::is_same_v<O, bool>) return x != I(0);
  else return static_cast<O>(x);
}

// Calls f(T{}) with T the C++ type of dt. Variants restrict the set so a kernel instantiates only
// what it supports; the shape rule has already rejected other dtypes.
template <class F>
decltype(auto) dispatch_dtype(DType dt, F&& f) {
  switch (dt) {
    case DType::Bool: return f(bool{});
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
  }
  fail(ErrorKind::Runtime, "internal error: unknown dtype");
}

template <class F>
decltype(auto) dispatch_floating(DType dt, F&& f) {
  switch (dt) {
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: fail(ErrorKind::Type, "expected a floating-point dtype but got ", dtype_name(dt));
  }
}

// Numeric types without bool.
template <class F>
decltype(auto) dispatch_numeric(DType dt, F&& f) {
  switch (dt) {
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    case DType::Float32: return f(float{});
    case DType::Float64: return f(double{});
    default: fail(ErrorKind::Type, "expected a numeric dtype but got ", dtype_name(dt));
  }
}

template <class F>
decltype(auto) dispatch_index(DType dt, F&& f) {
  switch (dt) {
    case DType::Int32: return f(int32_t{});
    case DType::Int64: return f(int64_t{});
    default: fail(ErrorKind::Type, "expected an integer index dtype but got ", dtype_name(dt));
  }
}

}  // namespace terra
