// Elementwise loops over strided, broadcast operands: the CPU's TensorIterator. Operand 0 is the
// output; inputs are broadcast to its shape (stride 0 on broadcast dims). Dims are coalesced
// wherever every operand is contiguous across them, so a contiguous or simply broadcast case runs
// as one flat loop. The innermost run is processed in blocks where every operand is contiguous
// (a broadcast scalar is copied into a small block buffer), so the compiler vectorizes the one
// loop body that every elementwise op shares; genuinely strided operands take a scalar loop.
// Work is split over the thread pool by linear index.
#pragma once
#include <algorithm>
#include <array>
#include <cstring>
#include <tuple>
#include <utility>

#include "kernels/cpu/parallel.hpp"
#include "tensor/tensor.hpp"

namespace terra::cpu {

constexpr int kMaxLoopDims = 25;

template <size_t N>
struct LoopPlan {
  int ndim = 0;
  int64_t numel = 0;
  std::array<int64_t, kMaxLoopDims> shape{};                       // innermost first
  std::array<std::array<int64_t, kMaxLoopDims>, N> strides{};      // bytes, per operand
  std::array<char*, N> data{};
};

template <size_t N>
LoopPlan<N> make_loop_plan(const std::array<const Tensor*, N>& ops) {
  LoopPlan<N> p;
  const Tensor& out = *ops[0];
  const Shape& shape = out.shape();
  int nd = static_cast<int>(shape.size());
  TERRA_CHECK(nd <= kMaxLoopDims, NotImplemented, "tensors with more than ", kMaxLoopDims, " dims");
  p.numel = shape_numel(shape);
  // Each operand's strides broadcast to the output's shape, in fixed arrays (this runs once per
  // kernel call).
  std::array<std::array<int64_t, kMaxLoopDims>, N> st;
  for (size_t k = 0; k < N; ++k) {
    broadcast_strides_into(ops[k]->shape(), ops[k]->strides(), shape, st[k].data());
    p.data[k] = static_cast<char*>(ops[k]->raw_data());
  }
  // Reverse to innermost-first, dropping size-1 dims, then merge dims where possible.
  for (int d = nd - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    int i = p.ndim;
    bool merge = i > 0;
    for (size_t k = 0; k < N && merge; ++k) {
      int64_t bytes = static_cast<int64_t>(ops[k]->itemsize());
      merge = st[k][d] * bytes == p.strides[k][i - 1] * p.shape[i - 1];
    }
    if (merge) {
      p.shape[i - 1] *= shape[d];
      continue;
    }
    p.shape[i] = shape[d];
    for (size_t k = 0; k < N; ++k) p.strides[k][i] = st[k][d] * static_cast<int64_t>(ops[k]->itemsize());
    p.ndim++;
  }
  if (p.ndim == 0) {  // a single element
    p.ndim = 1;
    p.shape[0] = p.numel;
    for (size_t k = 0; k < N; ++k) p.strides[k][0] = 0;
  }
  return p;
}

// Calls inner(ptrs, inner_strides, n) for each innermost run in linear range [begin, end).
template <size_t N, class Inner>
void for_each_run(const LoopPlan<N>& p, int64_t begin, int64_t end, Inner&& inner) {
  std::array<int64_t, kMaxLoopDims> idx;  // only the first ndim are used: clearing all is a cost per call
  int64_t rem = begin;
  for (int d = 0; d < p.ndim; ++d) {
    idx[d] = rem % p.shape[d];
    rem /= p.shape[d];
  }
  std::array<char*, N> ptr;
  for (size_t k = 0; k < N; ++k) {
    ptr[k] = p.data[k];
    for (int d = 0; d < p.ndim; ++d) ptr[k] += idx[d] * p.strides[k][d];
  }
  std::array<int64_t, N> inner_st;
  for (size_t k = 0; k < N; ++k) inner_st[k] = p.strides[k][0];
  int64_t pos = begin;
  while (pos < end) {
    int64_t n = std::min(p.shape[0] - idx[0], end - pos);
    inner(ptr, inner_st, n);
    pos += n;
    for (size_t k = 0; k < N; ++k) ptr[k] += n * p.strides[k][0];
    idx[0] += n;
    // Carry into outer dims.
    for (int d = 0; d + 1 < p.ndim && idx[d] == p.shape[d]; ++d) {
      for (size_t k = 0; k < N; ++k) ptr[k] += p.strides[k][d + 1] - p.shape[d] * p.strides[k][d];
      idx[d] = 0;
      idx[d + 1]++;
    }
  }
}

namespace detail {

constexpr int64_t kBlock = 512;

template <class Out, class... In, class F, size_t... K>
void run_inner(const std::array<char*, sizeof...(In) + 1>& ptr, const std::array<int64_t, sizeof...(In) + 1>& st,
               int64_t n, const F& f, std::index_sequence<K...>) {
  using Ins = std::tuple<In...>;
  const bool out_contig = st[0] == static_cast<int64_t>(sizeof(Out));
  const bool inputs_simple =
      ((st[K + 1] == 0 || st[K + 1] == static_cast<int64_t>(sizeof(std::tuple_element_t<K, Ins>))) && ...);
  if (out_contig && inputs_simple) {
    const bool all_contig = ((st[K + 1] != 0) && ...);
    Out* o = reinterpret_cast<Out*>(ptr[0]);
    if (all_contig) {
      std::tuple<const In*...> in{reinterpret_cast<const In*>(ptr[K + 1])...};
      for (int64_t i = 0; i < n; ++i) o[i] = f(std::get<K>(in)[i]...);
      return;
    }
    // One or two operands, some repeated along the run (a [B, 1] column added to a [B, N] tensor):
    // the repeated value is held in a local, so no block buffer is filled for each run. Each element
    // gets the same functor call on the same values as through a buffer.
    if constexpr (sizeof...(In) == 1) {
      using A = std::tuple_element_t<0, Ins>;
      const Out value = f(*reinterpret_cast<const A*>(ptr[1]));
      std::fill_n(o, n, value);
      return;
    } else if constexpr (sizeof...(In) == 2) {
      using A = std::tuple_element_t<0, Ins>;
      using B = std::tuple_element_t<1, Ins>;
      const A* a = reinterpret_cast<const A*>(ptr[1]);
      const B* b = reinterpret_cast<const B*>(ptr[2]);
      if (st[1] == 0 && st[2] == 0) {
        std::fill_n(o, n, static_cast<Out>(f(*a, *b)));
      } else if (st[1] == 0) {
        const A x = *a;
        for (int64_t i = 0; i < n; ++i) o[i] = f(x, b[i]);
      } else {
        const B y = *b;
        for (int64_t i = 0; i < n; ++i) o[i] = f(a[i], y);
      }
      return;
    }
    // Three or more: broadcast scalars become block buffers so the same contiguous loop serves.
    std::tuple<std::array<In, kBlock>...> bufs;
    std::tuple<const In*...> base{reinterpret_cast<const In*>(ptr[K + 1])...};
    [[maybe_unused]] const int64_t len = std::min(n, kBlock);
    ((st[K + 1] == 0 ? (std::fill_n(std::get<K>(bufs).data(), len, *std::get<K>(base)), 0) : 0), ...);
    for (int64_t j = 0; j < n; j += kBlock) {
      int64_t m = std::min(kBlock, n - j);
      std::tuple<const In*...> in{(st[K + 1] == 0 ? std::get<K>(bufs).data() : std::get<K>(base) + j)...};
      Out* oj = o + j;
      for (int64_t i = 0; i < m; ++i) oj[i] = f(std::get<K>(in)[i]...);
    }
    return;
  }
  for (int64_t i = 0; i < n; ++i)
    *reinterpret_cast<Out*>(ptr[0] + i * st[0]) =
        f(*reinterpret_cast<const In*>(ptr[K + 1] + i * st[K + 1])...);
}

}  // namespace detail

// out[i] = f(in_0[i], ..., in_k[i]) with In... the element types of the inputs.
template <class Out, class... In, class F>
void elementwise(const Tensor& out, const std::array<Tensor, sizeof...(In)>& ins, const F& f) {
  constexpr size_t N = sizeof...(In) + 1;
  std::array<const Tensor*, N> ops{&out};
  for (size_t k = 0; k < sizeof...(In); ++k) ops[k + 1] = &ins[k];
  LoopPlan<N> plan = make_loop_plan(ops);
  if (plan.numel == 0) return;
  parallel_for(0, plan.numel, kElementwiseGrain, [&](int64_t b, int64_t e) {
    for_each_run(plan, b, e, [&](const std::array<char*, N>& ptr, const std::array<int64_t, N>& st, int64_t n) {
      detail::run_inner<Out, In...>(ptr, st, n, f, std::index_sequence_for<In...>{});
    });
  });
}

}  // namespace terra::cpu
