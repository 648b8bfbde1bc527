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

// How many neighbouring outputs the vertical layout advances together: enough that each input
// row it reads spans 8 KB (whole pages, so the hardware prefetcher keeps streaming), within limits
// that keep the accumulators cache-resident.
template <class In>
constexpr int64_t vertical_block() {
  return std::clamp<int64_t>(8192 / static_cast<int64_t>(sizeof(In)), 256, 4096);
}

// Bound on the partial results (threads x outputs) kept when the reduction itself is split over
// threads.
constexpr int64_t kMaxPartials = 1 << 18;

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

// The plan of a reduction of `in` into a contiguous output holding its kept dims in row-major order.
inline ReducePlan make_reduce_plan(const Tensor& in, const std::vector<bool>& reduced, bool ordered) {
  Strides out_strides(in.dim(), 0);
  for (int64_t d = in.dim() - 1, acc = 1; d >= 0; --d)
    if (!reduced[d]) {
      out_strides[d] = acc;
      acc *= in.shape()[d];
    }
  return make_reduce_plan(in.shape(), in.strides(), out_strides, reduced, ordered);
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

// Folds a contiguous run with kFoldLanes independent accumulators (lane k takes elements k,
// k + kFoldLanes, ...) merged at the end, so the compiler vectorizes the fold without
// reassociating anything. The lane loop is an ordinary loop over an accumulator array, long enough
// that GCC does not unroll it completely: its loop vectorizer handles selects such as max's, which
// its straight-line (SLP) vectorizer gives up on.
constexpr int kFoldLanes = 32;

template <class Acc, class T, class Step, class Combine>
Acc fold_lanes(Acc init, const T* p, int64_t n, int64_t i0, const Step& step, const Combine& combine) {
  int64_t i = 0;
  Acc r = init;
  if (n >= 2 * kFoldLanes) {
    Acc lanes[kFoldLanes];
    for (int k = 0; k < kFoldLanes; ++k) lanes[k] = init;
    for (; i + kFoldLanes <= n; i += kFoldLanes)
      for (int k = 0; k < kFoldLanes; ++k) lanes[k] = step(lanes[k], p[i + k], i0 + i + k);
    r = lanes[0];
    for (int k = 1; k < kFoldLanes; ++k) r = combine(r, lanes[k]);
  }
  for (; i < n; ++i) r = step(r, p[i], i0 + i);
  return r;
}

// Sum of f(p[i]) over a contiguous run, in double.
template <class T, class F>
double lane_sum(const T* p, int64_t n, const F& f) {
  return fold_lanes(
      0.0, p, n, 0, [&](double a, T x, int64_t) { return a + f(x); }, [](double a, double b) { return a + b; });
}

namespace detail {

template <class Op, class = void>
struct has_run : std::false_type {};
template <class Op>
struct has_run<Op, std::void_t<decltype(std::declval<const Op&>().run(
                       std::declval<typename Op::Acc>(), std::declval<const typename Op::In*>(), int64_t{}, int64_t{}))>>
    : std::true_type {};

template <class Op>
typename Op::Acc fold_run(const Op& op, typename Op::Acc a, const typename Op::In* p, int64_t stride, int64_t n,
                          int64_t i0) {
  using Acc = typename Op::Acc;
  if (stride == 1) {
    if constexpr (has_run<Op>::value) {
      return op.run(a, p, n, i0);
    } else {
      auto step = [&op](Acc acc, typename Op::In x, int64_t i) { return op.step(acc, x, i); };
      auto combine = [&op](Acc x, Acc y) { return op.combine(x, y); };
      return op.combine(a, fold_lanes(op.init(), p, n, i0, step, combine));
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
  constexpr int64_t kBlock = vertical_block<In>();
  const int64_t ks = p.kept.stride[0];
  std::unique_ptr<typename Op::Acc[]> acc(new typename Op::Acc[std::min(kBlock, oe - ob)]);
  walk_runs(p.kept, ob, oe, [&](int64_t ioff, int64_t ooff, int64_t n, int64_t) {
    for (int64_t j0 = 0; j0 < n; j0 += kBlock) {
      const int64_t m = std::min(kBlock, n - j0);
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
  const ReducePlan p = make_reduce_plan(in, reduced, Op::kOrdered);
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
  const int64_t grain = grain_for(nred);
  const int64_t chunks = std::min<int64_t>(num_threads(), work / kElementwiseGrain);
  // Split the reduction rather than the outputs when there are too few outputs to go round, or
  // when a vertical layout would leave each thread less than a whole-row block of them (threads
  // reading short pieces of every row defeat the prefetcher).
  const bool few_outputs =
      nout < grain * num_threads() ||
      (vertical && nout < num_threads() * vertical_block<typename Op::In>() && chunks * nout <= kMaxPartials);
  if (few_outputs && chunks >= 2 && nred >= chunks) {
    // Each thread folds a slice of the reduction for all outputs; the partials are then combined.
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
