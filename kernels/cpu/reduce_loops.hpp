// The CPU reduction engine that every reduction shares (sum, max, var, argmax, ...), plus the
// dims bookkeeping the cumsum scan reuses. A reduction is a small functor (Note [Reduction
// functors]); the engine picks the loop layout from the input's strides, so strided, permuted and
// expanded inputs are read in place, without a contiguous copy:
//   - inner: a reduced dim is innermost in memory. Each output folds its own elements; contiguous
//     runs are folded with several independent accumulators so the compiler vectorizes them.
//   - vertical: a kept dim is innermost in memory. A block of neighbouring outputs advances one
//     input row at a time, so the inner loop runs over contiguous inputs and vectorizes.
// Work is split over the thread pool by output elements or, when there are too few outputs to go
// round, by chunks of the reduction whose partial accumulators are then combined.
#pragma once
#include <algorithm>
#include <array>
#include <cstdlib>
#include <limits>
#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cpu/loops.hpp"
#include "kernels/cpu/parallel.hpp"
#include "tensor/tensor.hpp"

namespace terra::cpu {

// Note [Reduction functors]
// A reduction is a struct with
//   using In = <input element type>;  using Acc = <accumulator, default-constructible>;
//   static constexpr bool kOrdered;  // true when results depend on element positions (argmax's
//                                    // first index): the reduced dims are then walked row-major
//                                    // and `i` below is the row-major position.
//   Acc init() const;                          // the identity
//   Acc step(Acc a, In x, int64_t i) const;    // folds in element x at reduced position i
//   Acc combine(Acc a, Acc b) const;           // merges two partial results; it must not assume
//                                              // which side holds the earlier positions (ordered
//                                              // ops compare the positions they carry)
//   void store(int64_t o, Acc a) const;        // writes output element o (outputs are contiguous)
// and optionally
//   Acc run(Acc a, const In* p, int64_t n, int64_t i0) const;  // folds a contiguous run, for ops
//                                              // with a better blocked algorithm than step()

// Dims of one side of a reduction (kept or reduced), innermost first, after dropping size-1 dims
// and merging dims that are contiguous with each other. Strides are in elements; out_stride is the
// matching stride in the output (0 for reduced dims of a reduction).
struct LoopDims {
  int nd = 1;
  std::array<int64_t, kMaxLoopDims> size{};
  std::array<int64_t, kMaxLoopDims> stride{};
  std::array<int64_t, kMaxLoopDims> out_stride{};
  int64_t numel = 1;
};

// Outputs advanced together by the vertical layout (their accumulators stay in L1).
constexpr int64_t kVerticalBlock = 256;

struct ReducePlan {
  LoopDims kept, reduced;
};

// How far apart consecutive elements of a dim are for loop-order purposes: a broadcast (stride 0)
// dim counts as the farthest, so a genuinely contiguous dim ends up innermost.
inline int64_t stride_rank(int64_t stride) {
  return stride == 0 ? std::numeric_limits<int64_t>::max() : std::abs(stride);
}

// Splits the dims of `shape` into kept and reduced groups. Kept dims (whose order never matters)
// and, unless `ordered`, reduced dims are sorted so the smallest stride is innermost.
inline ReducePlan make_reduce_plan(const Shape& shape, const Strides& in_strides, const Strides& out_strides,
                                   const std::vector<bool>& reduced, bool ordered) {
  struct Dim {
    int64_t size, stride, out_stride;
  };
  std::vector<Dim> groups[2];  // outermost first
  for (size_t d = 0; d < shape.size(); ++d)
    if (shape[d] != 1) groups[reduced[d] ? 1 : 0].push_back({shape[d], in_strides[d], out_strides[d]});
  auto build = [](std::vector<Dim>& dims, bool sort) {
    if (sort)
      std::stable_sort(dims.begin(), dims.end(),
                       [](const Dim& a, const Dim& b) { return stride_rank(a.stride) > stride_rank(b.stride); });
    LoopDims l;
    l.nd = 0;
    for (auto it = dims.rbegin(); it != dims.rend(); ++it) {
      l.numel *= it->size;
      const int i = l.nd - 1;
      if (i >= 0 && it->stride == l.stride[i] * l.size[i] && it->out_stride == l.out_stride[i] * l.size[i]) {
        l.size[i] *= it->size;
        continue;
      }
      TERRA_CHECK(l.nd < kMaxLoopDims, NotImplemented, "tensors with more than ", kMaxLoopDims, " dims");
      l.size[l.nd] = it->size;
      l.stride[l.nd] = it->stride;
      l.out_stride[l.nd] = it->out_stride;
      l.nd++;
    }
    if (l.nd == 0) {  // nothing on this side: one position, read once
      l.nd = 1;
      l.size[0] = 1;
    }
    return l;
  };
  return {build(groups[0], true), build(groups[1], !ordered)};
}

// Calls f(in_offset, out_offset, n, first) for each innermost run of positions [begin, end) of
// `d`; `first` is the row-major position of the run's first element.
template <class F>
void walk_runs(const LoopDims& d, int64_t begin, int64_t end, F&& f) {
  if (begin >= end) return;
  std::array<int64_t, kMaxLoopDims> idx{};
  int64_t rem = begin, in = 0, out = 0;
  for (int k = 0; k < d.nd; ++k) {
    idx[k] = rem % d.size[k];
    rem /= d.size[k];
    in += idx[k] * d.stride[k];
    out += idx[k] * d.out_stride[k];
  }
  for (int64_t pos = begin; pos < end;) {
    const int64_t n = std::min(d.size[0] - idx[0], end - pos);
    f(in, out, n, pos);
    pos += n;
    in += n * d.stride[0];
    out += n * d.out_stride[0];
    idx[0] += n;
    for (int k = 0; k + 1 < d.nd && idx[k] == d.size[k]; ++k) {
      in += d.stride[k + 1] - d.size[k] * d.stride[k];
      out += d.out_stride[k + 1] - d.size[k] * d.out_stride[k];
      idx[k] = 0;
      idx[k + 1]++;
    }
  }
}

// Sum of f(p[i]) over a contiguous run, in double with independent lanes: the lanes let the
// compiler vectorize without reassociating, and double keeps float32 inputs exact enough that the
// error does not grow with n in practice.
template <class T, class F>
double lane_sum(const T* p, int64_t n, F&& f) {
  constexpr int kLanes = 8;
  double lanes[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int k = 0; k < kLanes; ++k) lanes[k] += f(p[i + k]);
  double s = 0;
  for (int k = 0; k < kLanes; ++k) s += lanes[k];
  for (; i < n; ++i) s += f(p[i]);
  return s;
}

namespace detail {

template <class Op, class = void>
struct has_run : std::false_type {};
template <class Op>
struct has_run<Op, std::void_t<decltype(std::declval<const Op&>().run(
                       std::declval<typename Op::Acc>(), std::declval<const typename Op::In*>(), int64_t{}, int64_t{}))>>
    : std::true_type {};

constexpr int kLanes = 8;

template <class Op>
typename Op::Acc fold_run(const Op& op, typename Op::Acc a, const typename Op::In* p, int64_t stride, int64_t n,
                          int64_t i0) {
  using Acc = typename Op::Acc;
  if (stride == 1) {
    if constexpr (has_run<Op>::value) {
      return op.run(a, p, n, i0);
    } else if (n >= 2 * kLanes) {
      Acc lanes[kLanes];
      for (int k = 0; k < kLanes; ++k) lanes[k] = op.init();
      int64_t i = 0;
      for (; i + kLanes <= n; i += kLanes)
        for (int k = 0; k < kLanes; ++k) lanes[k] = op.step(lanes[k], p[i + k], i0 + i + k);
      Acc r = lanes[0];
      for (int k = 1; k < kLanes; ++k) r = op.combine(r, lanes[k]);
      for (; i < n; ++i) r = op.step(r, p[i], i0 + i);
      return op.combine(a, r);
    }
  }
  for (int64_t i = 0; i < n; ++i) a = op.step(a, p[i * stride], i0 + i);
  return a;
}

// Outputs [ob, oe) over reduced positions [rb, re), each output folded on its own.
template <class Op, class Sink>
void reduce_inner(const Op& op, const ReducePlan& p, const typename Op::In* in, int64_t ob, int64_t oe, int64_t rb,
                  int64_t re, const Sink& sink) {
  walk_runs(p.kept, ob, oe, [&](int64_t ioff, int64_t ooff, int64_t n, int64_t) {
    for (int64_t j = 0; j < n; ++j) {
      const typename Op::In* base = in + ioff + j * p.kept.stride[0];
      typename Op::Acc a = op.init();
      walk_runs(p.reduced, rb, re, [&](int64_t r, int64_t, int64_t m, int64_t i0) {
        a = fold_run(op, a, base + r, p.reduced.stride[0], m, i0);
      });
      sink(ooff + j * p.kept.out_stride[0], a);
    }
  });
}

// Outputs [ob, oe) over reduced positions [rb, re), blocks of neighbouring outputs advancing
// together one reduced position at a time.
template <class Op, class Sink>
void reduce_vertical(const Op& op, const ReducePlan& p, const typename Op::In* in, int64_t ob, int64_t oe,
                     int64_t rb, int64_t re, const Sink& sink) {
  using In = typename Op::In;
  const int64_t ks = p.kept.stride[0];
  walk_runs(p.kept, ob, oe, [&](int64_t ioff, int64_t ooff, int64_t n, int64_t) {
    for (int64_t j0 = 0; j0 < n; j0 += kVerticalBlock) {
      const int64_t m = std::min(kVerticalBlock, n - j0);
      typename Op::Acc acc[kVerticalBlock];
      for (int64_t j = 0; j < m; ++j) acc[j] = op.init();
      const In* base = in + ioff + j0 * ks;
      walk_runs(p.reduced, rb, re, [&](int64_t r, int64_t, int64_t cnt, int64_t i0) {
        for (int64_t i = 0; i < cnt; ++i) {
          const In* row = base + r + i * p.reduced.stride[0];
          if (ks == 1) {
            for (int64_t j = 0; j < m; ++j) acc[j] = op.step(acc[j], row[j], i0 + i);
          } else {
            for (int64_t j = 0; j < m; ++j) acc[j] = op.step(acc[j], row[j * ks], i0 + i);
          }
        }
      });
      for (int64_t j = 0; j < m; ++j) sink(ooff + (j0 + j) * p.kept.out_stride[0], acc[j]);
    }
  });
}

}  // namespace detail

// Reduces `in` over the dims marked in `reduced` (one flag per dim of `in`), calling op.store for
// every output element in the row-major order of the kept dims.
template <class Op>
void reduce(const Tensor& in, const std::vector<bool>& reduced, const Op& op) {
  using Acc = typename Op::Acc;
  Strides out_strides(in.dim(), 0);
  for (int64_t d = in.dim() - 1, acc = 1; d >= 0; --d)
    if (!reduced[d]) {
      out_strides[d] = acc;
      acc *= in.shape()[d];
    }
  const ReducePlan p = make_reduce_plan(in.shape(), in.strides(), out_strides, reduced, Op::kOrdered);
  const int64_t nout = p.kept.numel, nred = p.reduced.numel;
  if (nout == 0) return;
  const typename Op::In* data = in.data<typename Op::In>();
  const bool vertical = stride_rank(p.kept.stride[0]) < stride_rank(p.reduced.stride[0]);
  auto run = [&](int64_t ob, int64_t oe, int64_t rb, int64_t re, const auto& sink) {
    if (vertical) {
      detail::reduce_vertical(op, p, data, ob, oe, rb, re, sink);
    } else {
      detail::reduce_inner(op, p, data, ob, oe, rb, re, sink);
    }
  };
  const int64_t work = nout * std::max<int64_t>(nred, 1);
  const int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(nred, 1));
  const int64_t chunks = std::min<int64_t>(num_threads(), work / kElementwiseGrain);
  if (nout < grain * num_threads() && chunks >= 2 && nred >= chunks) {
    // Too few outputs to keep every thread busy: each thread folds a slice of the reduction for
    // all outputs, and the partial results are combined in slice order.
    std::unique_ptr<Acc[]> partial(new Acc[chunks * nout]);
    parallel_for(0, chunks, 1, [&](int64_t cb, int64_t ce) {
      for (int64_t c = cb; c < ce; ++c) {
        Acc* mine = partial.get() + c * nout;
        run(0, nout, nred * c / chunks, nred * (c + 1) / chunks, [&](int64_t o, const Acc& a) { mine[o] = a; });
      }
    });
    for (int64_t o = 0; o < nout; ++o) {
      Acc a = partial[o];
      for (int64_t c = 1; c < chunks; ++c) a = op.combine(a, partial[c * nout + o]);
      op.store(o, a);
    }
    return;
  }
  parallel_for(0, nout, grain, [&](int64_t b, int64_t e) {
    run(b, e, 0, nred, [&](int64_t o, const Acc& a) { op.store(o, a); });
  });
}

}  // namespace terra::cpu
