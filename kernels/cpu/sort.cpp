// CPU kernels of sort and topk. Each 1-D slice along `dim` is copied into (value, index) pairs,
// ordered on one thread, and written back; slices run in parallel. The order (NaN above every
// number, as in PyTorch) is kernels/common/sort_math.hpp's. Ties: sort is always stable (a valid
// answer for stable=False too, and the same on every run); topk breaks ties by the lower index,
// so its result is fully determined.
#include <algorithm>
#include <cmath>
#include <type_traits>

#include "kernels/common/sort_math.hpp"
#include "kernels/cpu/movement.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

template <class T>
using Entry = std::pair<T, int64_t>;  // a value and its position in the slice

// Orders the first `k` of the `n` elements of every slice along `dim` of self into values and
// indices: the whole slice stably (sort), or the k first with ties to the lower index (topk).
template <class T>
void order_slices(const Tensor& self, const Tensor& values, const Tensor& indices, int64_t dim, int64_t k,
                  bool descending, bool partial) {
  const int64_t n = self.dim() == 0 ? 1 : self.size(dim);
  const int64_t xstep = dim_step(self, dim), vstep = dim_step(values, dim), istep = dim_step(indices, dim);
  const math::ValueOrder<T> order{descending};
  for_each_slice<3>({values, indices, self}, dim, n, [&](int64_t, const std::array<char*, 3>& p) {
    std::vector<Entry<T>> buf(n);
    for (int64_t i = 0; i < n; ++i) buf[i] = {*reinterpret_cast<const T*>(p[2] + i * xstep), i};
    if (partial) {
      std::partial_sort(buf.begin(), buf.begin() + k, buf.end(), [&](const Entry<T>& a, const Entry<T>& b) {
        return order.before(a.first, a.second, b.first, b.second);
      });
    } else {
      std::stable_sort(buf.begin(), buf.end(),
                       [&](const Entry<T>& a, const Entry<T>& b) { return order(a.first, b.first); });
    }
    for (int64_t i = 0; i < k; ++i) {
      *reinterpret_cast<T*>(p[0] + i * vstep) = buf[i].first;
      *reinterpret_cast<int64_t*>(p[1] + i * istep) = buf[i].second;
    }
  });
}

void sort_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  const int64_t n = self.dim() == 0 ? 1 : self.size(dim);
  dispatch_dtype(self.dtype(), [&](auto tag) {
    order_slices<decltype(tag)>(self, c.outputs[0], c.outputs[1], dim, n, c.attrs.get<bool>("descending"), false);
  });
}

void topk_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  // A 0-d input gives its one element back even for k = 0, as PyTorch does.
  const int64_t k = self.dim() == 0 ? 1 : c.attrs.get<int64_t>("k");
  if (k == 0) return;
  dispatch_numeric(self.dtype(), [&](auto tag) {
    order_slices<decltype(tag)>(self, c.outputs[0], c.outputs[1], dim, k, c.attrs.get<bool>("largest"), true);
  });
}

}  // namespace

TERRA_KERNEL(sort, CPU, sort_kernel);
TERRA_KERNEL(topk, CPU, topk_kernel);

}  // namespace terra::cpu
