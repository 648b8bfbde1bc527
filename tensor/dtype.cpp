#include "tensor/dtype.hpp"

#include <atomic>

namespace terra {

size_t itemsize(DType dt) {
  switch (dt) {
    case DType::Bool: return 1;
    case DType::Int32: return 4;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

const char* dtype_name(DType dt) {
  switch (dt) {
    case DType::Bool: return "bool";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
  }
  return "?";
}

DType dtype_from_name(const std::string& n) {
  if (n == "bool") return DType::Bool;
  if (n == "int32" || n == "int") return DType::Int32;
  if (n == "int64" || n == "long") return DType::Int64;
  if (n == "float32" || n == "float") return DType::Float32;
  if (n == "float64" || n == "double") return DType::Float64;
  fail(ErrorKind::Type, "unknown dtype '", n, "'");
}

int dtype_category(DType dt) {
  if (dt == DType::Bool) return 0;
  return is_floating(dt) ? 2 : 1;
}

DType promote_types(DType a, DType b) {
  return static_cast<uint8_t>(a) >= static_cast<uint8_t>(b) ? a : b;
}

bool can_cast(DType from, DType to) {
  return dtype_category(from) <= dtype_category(to);
}

static std::atomic<DType> g_default_float{DType::Float32};
DType default_float_dtype() { return g_default_float.load(std::memory_order_relaxed); }
void set_default_float_dtype(DType dt) {
  TERRA_CHECK(is_floating(dt), Type, "only floating-point types are supported as the default type, got ",
              dtype_name(dt));
  g_default_float.store(dt, std::memory_order_relaxed);
}

}  // namespace terra
