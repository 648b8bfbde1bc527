// A Python-style number (bool, int or float) with its category kept, as fill values, alphas and
// the wrapped scalars of `a + 2` need it for type promotion.
#pragma once
#include <cstdint>

#include "tensor/dtype.hpp"

namespace terra {

class Scalar {
 public:
  Scalar() : kind_(DType::Int64), i_(0) {}
  Scalar(bool v) : kind_(DType::Bool), i_(v) {}
  Scalar(int v) : kind_(DType::Int64), i_(v) {}
  Scalar(int64_t v) : kind_(DType::Int64), i_(v) {}
  Scalar(double v) : kind_(DType::Float64), d_(v) {}
  Scalar(float v) : kind_(DType::Float64), d_(v) {}

  // Bool, Int64 or Float64: the category of the Python value.
  DType kind() const { return kind_; }
  bool is_floating() const { return kind_ == DType::Float64; }
  bool is_bool() const { return kind_ == DType::Bool; }

  template <class T>
  T to() const {
    return kind_ == DType::Float64 ? static_cast<T>(d_) : static_cast<T>(i_);
  }
  double as_double() const { return to<double>(); }
  int64_t as_int() const { return to<int64_t>(); }

 private:
  DType kind_;
  union {
    int64_t i_;
    double d_;
  };
};

}  // namespace terra
