// CPU side of the reductions and the cumsum scan: the engine the shared kernels
// (kernels/common/reduce_kernels.hpp) run on. Reductions go through reduce_loops.hpp with the
// functors of kernels/common/reduce_math.hpp (Note [Reduction functors]); argmax-like and variance
// functors get blocked run() folds here, for contiguous runs. cumsum is a layout-aware scan.
#include <cmath>
#include <limits>

#include "kernels/common/reduce_kernels.hpp"
#include "kernels/cpu/reduce_loops.hpp"

namespace terra::cpu {
namespace {

template <class T>
using acc_t = math::reduce_acc_t<T>;
using math::wrap_add;

// ---- Blocked folds of contiguous runs (Note [Reduction functors]'s optional run()) -------------

// Contiguous runs in cache-sized blocks: the extreme value by a vectorized fold, then the first
// position holding it, instead of a branchy step carrying an index per element.
template <class T, bool Max>
struct ArgExtremumRun : math::ArgExtremumOp<T, Max> {
  using Acc = typename math::ArgExtremumOp<T, Max>::Acc;
  Acc run(Acc a, const T* p, int64_t n, int64_t i0) const {
    constexpr int64_t kBlock = 4096;
    const math::ExtremumOp<T, Max> ext{nullptr};
    auto step = [&ext](T acc, T x, int64_t) { return ext.step(acc, x, 0); };
    auto combine = [&ext](T x, T y) { return ext.combine(x, y); };
    for (int64_t b = 0; b < n; b += kBlock) {
      const T* q = p + b;
      const T best = fold_lanes(ext.init(), q, std::min(kBlock, n - b), 0, step, combine);
      int64_t k = 0;
      while (!(q[k] == best || (math::is_nan(best) && math::is_nan(q[k])))) ++k;
      a = this->combine(a, Acc{best, i0 + b + k});
    }
    return a;
  }
};

// Blocks small enough to stay in cache are done in two vectorized passes (mean, then squared
// deviations from it), which is both faster and more accurate than a Welford step per element.
template <class T>
struct VarRun : math::VarOp<T> {
  using Acc = math::Moments;
  Acc run(Acc a, const T* p, int64_t n, int64_t) const {
    constexpr int64_t kBlock = 4096;
    for (int64_t b = 0; b < n; b += kBlock) {
      const int64_t m = std::min(kBlock, n - b);
      const T* q = p + b;
      const double mean = lane_sum(q, m, [](T x) { return static_cast<double>(x); }) / static_cast<double>(m);
      const double m2 = lane_sum(q, m, [mean](T x) {
        const double d = x - mean;
        return d * d;
      });
      a = this->combine(a, math::Moments{static_cast<double>(m), mean, m2});
    }
    return a;
  }
};

template <class Op>
const Op& with_run(const Op& op) {
  return op;
}
template <class T, bool Max>
ArgExtremumRun<T, Max> with_run(const math::ArgExtremumOp<T, Max>& op) {
  return {op};
}
template <class T>
VarRun<T> with_run(const math::VarOp<T>& op) {
  return {op};
}

// ---- cumsum ----------------------------------------------------------------------------------

// Running sums along one dim. The scan reads in the input's memory order and writes the
// (contiguous) output in its own; the layout follows whichever dim is innermost on each side:
//   - the scan dim on both sides: each scan runs on its own;
//   - a kept dim on both: a block of neighbouring scans advances one step at a time, reading and
//     writing whole rows (vectorized, as the reduction engine's vertical layout);
//   - they disagree (a transposed input): 64x64 tiles are computed in the input's order and
//     written in the output's, so no inner loop strides through memory on either side.
// Work is split over the scans; a single long scan runs on one thread.
//
// The strides are passed by value: an int64 output could otherwise alias them as far as the
// compiler knows, forcing a reload after every store.
template <class T, class Out>
struct Scan {
  using Acc = acc_t<T>;
  static constexpr int64_t kTile = 64;

  // n: scan length; s, os: its input and output strides; ks, kos: the innermost kept dim's.
  static void each(const T* src, Out* dst, int64_t cnt, const int64_t n, const int64_t s, const int64_t os,
                   const int64_t ks, const int64_t kos) {
    for (int64_t j = 0; j < cnt; ++j) {
      Acc a = 0;
      for (int64_t r = 0; r < n; ++r) {
        a = wrap_add(a, static_cast<Acc>(src[j * ks + r * s]));
        dst[j * kos + r * os] = static_cast<Out>(a);
      }
    }
  }

  static void vertical(const T* src, Out* dst, int64_t cnt, Acc* acc, const int64_t n, const int64_t s,
                       const int64_t os, const int64_t ks, const int64_t kos) {
    constexpr int64_t kBlock = vertical_block<T>();
    for (int64_t j0 = 0; j0 < cnt; j0 += kBlock) {
      const int64_t m = std::min(kBlock, cnt - j0);
      std::fill_n(acc, m, Acc(0));
      for (int64_t r = 0; r < n; ++r) {
        const T* row = src + j0 * ks + r * s;
        Out* orow = dst + j0 * kos + r * os;
        if (ks == 1 && kos == 1) {
          for (int64_t j = 0; j < m; ++j) {
            acc[j] = wrap_add(acc[j], static_cast<Acc>(row[j]));
            orow[j] = static_cast<Out>(acc[j]);
          }
        } else {
          for (int64_t j = 0; j < m; ++j) {
            acc[j] = wrap_add(acc[j], static_cast<Acc>(row[j * ks]));
            orow[j * kos] = static_cast<Out>(acc[j]);
          }
        }
      }
    }
  }

  static void tiled(const T* src, Out* dst, int64_t cnt, bool read_vertical, const int64_t n, const int64_t s,
                    const int64_t os, const int64_t ks, const int64_t kos) {
    Acc acc[kTile];
    Out tile[kTile * kTile];  // tile[j * kTile + r]
    for (int64_t j0 = 0; j0 < cnt; j0 += kTile) {
      const int64_t m = std::min(kTile, cnt - j0);
      std::fill_n(acc, m, Acc(0));
      for (int64_t r0 = 0; r0 < n; r0 += kTile) {
        const int64_t rr = std::min(kTile, n - r0);
        const T* in0 = src + j0 * ks + r0 * s;
        Out* out0 = dst + j0 * kos + r0 * os;
        if (read_vertical) {
          for (int64_t r = 0; r < rr; ++r)
            for (int64_t j = 0; j < m; ++j) {
              acc[j] = wrap_add(acc[j], static_cast<Acc>(in0[r * s + j * ks]));
              tile[j * kTile + r] = static_cast<Out>(acc[j]);
            }
          for (int64_t j = 0; j < m; ++j)
            for (int64_t r = 0; r < rr; ++r) out0[j * kos + r * os] = tile[j * kTile + r];
        } else {
          for (int64_t j = 0; j < m; ++j)
            for (int64_t r = 0; r < rr; ++r) {
              acc[j] = wrap_add(acc[j], static_cast<Acc>(in0[j * ks + r * s]));
              tile[j * kTile + r] = static_cast<Out>(acc[j]);
            }
          for (int64_t r = 0; r < rr; ++r)
            for (int64_t j = 0; j < m; ++j) out0[r * os + j * kos] = tile[j * kTile + r];
        }
      }
    }
  }
};

template <class T, class Out>
void cumsum_loop(const Tensor& x, const Tensor& out, int64_t dim) {
  std::vector<bool> mask(x.dim(), false);
  if (x.dim() > 0) mask[dim] = true;
  const ReducePlan p = make_reduce_plan(x.shape(), x.strides(), out.strides(), mask, true);
  const int64_t n = p.reduced.size[0], s = p.reduced.stride[0], os = p.reduced.out_stride[0];
  const int64_t ks = p.kept.stride[0], kos = p.kept.out_stride[0];
  const bool read_vertical = stride_rank(ks) < stride_rank(s);
  const bool write_vertical = stride_rank(kos) < stride_rank(os);
  const T* in = x.data<T>();
  Out* o = out.data<Out>();
  using S = Scan<T, Out>;
  parallel_for(0, p.kept.numel, std::max<int64_t>(1, kElementwiseGrain / n), [&](int64_t b, int64_t e) {
    std::vector<acc_t<T>> acc(read_vertical && write_vertical ? vertical_block<T>() : 0);
    walk_runs(p.kept, b, e, [&](int64_t ioff, int64_t ooff, int64_t cnt, int64_t) {
      if (read_vertical != write_vertical) {
        S::tiled(in + ioff, o + ooff, cnt, read_vertical, n, s, os, ks, kos);
      } else if (read_vertical) {
        S::vertical(in + ioff, o + ooff, cnt, acc.data(), n, s, os, ks, kos);
      } else {
        S::each(in + ioff, o + ooff, cnt, n, s, os, ks, kos);
      }
    });
  });
}

// The CPU engine of the shared reduction kernels (kernels/common/reduce_kernels.hpp).
struct CpuReduce {
  template <class Op>
  static void reduce(const Tensor& in, const std::vector<bool>& mask, const Op& op) {
    cpu::reduce(in, mask, with_run(op));
  }
  template <class T, class Out>
  static void scan(const Tensor& in, const Tensor& out, int64_t dim) {
    cumsum_loop<T, Out>(in, out, dim);
  }
};

}  // namespace

TERRA_REDUCE_KERNELS(CPU, CpuReduce);

}  // namespace terra::cpu
