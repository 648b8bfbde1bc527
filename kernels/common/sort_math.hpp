// The order of sort and topk, shared by the CPU and CUDA kernels (TERRA_HD): values with NaN as
// the largest (as in PyTorch), reversed when descending, and ties broken by the lower index, which
// makes it a total order on (value, index) pairs: a stable sort and topk's documented tie rule
// are both "sort by this order", whatever algorithm a device uses.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "tensor/macros.hpp"

namespace terra::math {

template <class T>
struct ValueOrder {
  bool descending;
  TERRA_HD static bool less(T a, T b) {
    if constexpr (std::is_floating_point_v<T>) return !std::isnan(a) && (std::isnan(b) || a < b);
    else return a < b;
  }
  TERRA_HD bool operator()(T a, T b) const { return descending ? less(b, a) : less(a, b); }
  // Whether (a, at index ia) comes before (b, at index ib).
  TERRA_HD bool before(T a, int64_t ia, T b, int64_t ib) const {
    return (*this)(a, b) || (!(*this)(b, a) && ia < ib);
  }
};

}  // namespace terra::math
