// CPU kernels of the indexing ops: gather, scatter_value, masked_fill, masked_select and one_hot,
// and the primitives of index / index_put (advanced indexing), index_select, index_add, scatter,
// scatter_add and nonzero (kernels/common/index_kernels.hpp). Index values are data, so these
// kernels check each one as they read it and raise PyTorch's error (IndexError; RuntimeError for
// gather and the scatters); nothing is ever read or written outside a tensor.
#include <algorithm>
#include <limits>

#include "kernels/common/index_kernels.hpp"
#include "kernels/common/index_math.hpp"
#include "kernels/cpu/movement.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

using advanced_index::at_least_1d;
using advanced_index::offsets_over_result;
using math::add_values;

// PyTorch raises IndexError for advanced indexing and index_add, RuntimeError for gather and the
// scatters: `kind` says which.
[[noreturn]] void out_of_bounds(int64_t index, int64_t dim, int64_t size, ErrorKind kind = ErrorKind::Index) {
  fail(kind, "index ", index, " is out of bounds for dimension ", dim, " with size ", size);
}

// Note [Parallel compaction]
// nonzero, masked_select and bool-mask indices keep the elements where a mask holds, in row-major
// order. The linear range is cut into fixed chunks; each chunk counts its selections, a prefix sum
// tells each chunk where its output starts, and each chunk then writes in order. The result does
// not depend on the number of threads.
template <class M, size_t N>
class Compaction {
 public:
  // ops[0] is the mask (element type M, true where nonzero); all operands share its shape.
  explicit Compaction(const std::array<const Tensor*, N>& ops) : plan_(make_loop_plan(ops)) {
    const int64_t n = plan_.numel;
    chunks_ = std::min<int64_t>((n + kElementwiseGrain - 1) / kElementwiseGrain, 4 * num_threads());
    chunk_ = chunks_ > 0 ? (n + chunks_ - 1) / chunks_ : 0;
    starts_.assign(chunks_ + 1, 0);
    parallel_for(0, chunks_, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        int64_t count = 0;
        for_each_run(plan_, c * chunk_, std::min(n, (c + 1) * chunk_),
                     [&](const std::array<char*, N>& ptr, const std::array<int64_t, N>& st, int64_t len) {
                       for (int64_t i = 0; i < len; ++i)
                         count += *reinterpret_cast<const M*>(ptr[0] + i * st[0]) != M(0);
                     });
        starts_[c + 1] = count;
      }
    });
    for (int64_t c = 0; c < chunks_; ++c) starts_[c + 1] += starts_[c];
  }

  int64_t count() const { return starts_.back(); }

  // Calls f(position in the output, row-major index, operand pointers) for each selection.
  template <class F>
  void emit(const F& f) const {
    const int64_t n = plan_.numel;
    parallel_for(0, chunks_, 1, [&](int64_t b, int64_t e) {
      for (int64_t c = b; c < e; ++c) {
        int64_t pos = starts_[c], linear = c * chunk_;
        for_each_run(plan_, linear, std::min(n, (c + 1) * chunk_),
                     [&](const std::array<char*, N>& ptr, const std::array<int64_t, N>& st, int64_t len) {
                       for (int64_t i = 0; i < len; ++i, ++linear) {
                         if (*reinterpret_cast<const M*>(ptr[0] + i * st[0]) == M(0)) continue;
                         std::array<char*, N> p;
                         for (size_t k = 0; k < N; ++k) p[k] = ptr[k] + i * st[k];
                         f(pos++, linear, p);
                       }
                     });
      }
    });
  }

 private:
  LoopPlan<N> plan_;
  int64_t chunks_ = 0, chunk_ = 0;
  std::vector<int64_t> starts_;
};

// The coordinates of the nonzero elements of x, as an int64 [n, x.dim()] tensor.
Tensor nonzero_of(const Tensor& x) {
  return dispatch_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Compaction<T, 1> sel({&x});
    const int64_t nd = x.dim();
    const Shape& shape = x.shape();
    Tensor out = Tensor::empty({sel.count(), nd}, DType::Int64, x.device());
    int64_t* o = out.data<int64_t>();
    sel.emit([&](int64_t pos, int64_t linear, const std::array<char*, 1>&) {
      for (int64_t d = nd - 1; d >= 0; --d) {
        o[pos * nd + d] = linear % shape[d];
        linear /= shape[d];
      }
    });
    return out;
  });
}

// ---- advanced indexing: element offsets chosen by index tensors ----

// Element offsets into `t` selected by index tensors (int32 or int64, broadcast together to
// `shape`): the sum over k of idx_k * t.stride(dims[k]), each index checked against its dim's
// size. Negative indices count from the end where allowed (index, index_put; not index_select).
Tensor index_offsets(const Shape& shape, const std::vector<Tensor>& idx, const std::vector<int64_t>& dims,
                     const Tensor& t, bool allow_negative) {
  Tensor off = Tensor::empty(shape, DType::Int64, t.device());
  if (idx.empty()) {
    std::fill_n(off.data<int64_t>(), off.numel(), 0);
    return off;
  }
  for (size_t k = 0; k < idx.size(); ++k) {
    const int64_t dim = dims[k], size = t.shape()[dim], stride = t.strides()[dim];
    dispatch_index(idx[k].dtype(), [&](auto tag) {
      using I = decltype(tag);
      auto offset_of = [=](I i) {
        const int64_t v = math::normalize_index(i, size, allow_negative);
        if (!math::index_in_range(v, size)) out_of_bounds(i, dim, size);
        return v * stride;
      };
      if (k == 0) elementwise<int64_t, I>(off, {idx[k]}, offset_of);
      else elementwise<int64_t, int64_t, I>(off, {off, idx[k]}, [&](int64_t o, I i) { return o + offset_of(i); });
    });
  }
  return off;
}

// out[r] = src[r shifted by off[r] elements], for views all shaped like out.
void gather_by_offsets(const Tensor& out, const Tensor& src, const Tensor& off) {
  dispatch_bits(out.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    LoopPlan<3> plan = make_loop_plan<3>({&out, &src, &off});
    if (plan.numel == 0) return;
    parallel_for(0, plan.numel, kElementwiseGrain, [&](int64_t b, int64_t e) {
      for_each_run(plan, b, e, [](const std::array<char*, 3>& p, const std::array<int64_t, 3>& st, int64_t n) {
        constexpr int64_t size = sizeof(U);
        // A run inside one selected slab of contiguous rows (a row gather, an embedding lookup) is
        // one block copy.
        if (st[2] == 0 && st[0] == size && st[1] == size) {
          std::memcpy(p[0], p[1] + *reinterpret_cast<const int64_t*>(p[2]) * size, n * size);
          return;
        }
        for (int64_t i = 0; i < n; ++i) {
          const int64_t o = *reinterpret_cast<const int64_t*>(p[2] + i * st[2]);
          *reinterpret_cast<U*>(p[0] + i * st[0]) =
              *reinterpret_cast<const U*>(p[1] + i * st[1] + o * size);
        }
      });
    });
  });
}

// dst[r shifted by off[r]] = (or +=) values[r]. Threads may only split the work when no two
// index positions select the same element; otherwise one thread walks it in order, so the last
// duplicate wins (accumulate=False) and sums are exact and deterministic (accumulate=True).
template <class T>
void put_by_offsets(const Tensor& dst, const Tensor& values, const Tensor& off, bool accumulate, bool parallel) {
  LoopPlan<3> plan = make_loop_plan<3>({&dst, &values, &off});
  if (plan.numel == 0) return;
  auto body = [&](int64_t b, int64_t e) {
    for_each_run(plan, b, e, [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& st, int64_t n) {
      for (int64_t i = 0; i < n; ++i) {
        const int64_t o = *reinterpret_cast<const int64_t*>(p[2] + i * st[2]);
        T& d = *reinterpret_cast<T*>(p[0] + i * st[0] + o * int64_t{sizeof(T)});
        const T v = *reinterpret_cast<const T*>(p[1] + i * st[1]);
        d = accumulate ? add_values(d, v) : v;
      }
    });
  };
  if (parallel) parallel_for(0, plan.numel, kElementwiseGrain, body);
  else body(0, plan.numel);
}

bool has_duplicates(const Tensor& off) {
  std::vector<int64_t> v(off.data<int64_t>(), off.data<int64_t>() + off.numel());
  std::sort(v.begin(), v.end());
  return std::adjacent_find(v.begin(), v.end()) != v.end();
}

// Walks the elements of ts[0] (the index, of element type I) slice by slice along `dim` and calls
// f(selected, j, slice pointers), with `selected` the element of ts[target] that index value
// picks along `dim`. Slices run in parallel and each in order (see for_each_slice), so scatter's
// writes never race, the last of duplicate indices wins, as on PyTorch's CPU, and sums over
// duplicates are deterministic.
template <size_t N, class I = int64_t, class F>
void along_index(const std::array<Tensor, N>& ts, int64_t dim, size_t target, ErrorKind out_of_range, const F& f) {
  const Tensor& index = ts[0];
  const Tensor& t = ts[target];
  const int64_t len = index.dim() == 0 ? 1 : index.size(dim), size = t.dim() == 0 ? 1 : t.size(dim);
  const int64_t istep = dim_step(index, dim), tstep = dim_step(t, dim);
  for_each_slice(ts, dim, len, [&](int64_t, const std::array<char*, N>& p) {
    for (int64_t j = 0; j < len; ++j) {
      const int64_t v = *reinterpret_cast<const I*>(p[0] + j * istep);
      if (!math::index_in_range(v, size)) out_of_bounds(v, dim, size, out_of_range);
      f(p[target] + v * tstep, j, p);
    }
  });
}

void gather_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const Tensor& index = c.inputs[1];
  const Tensor& out = c.outputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  const int64_t ostep = dim_step(out, dim);
  dispatch_bits(self.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    along_index<3>({index, out, self}, dim, 2, ErrorKind::Runtime, [&](const char* src, int64_t j, const std::array<char*, 3>& p) {
      *reinterpret_cast<U*>(p[1] + j * ostep) = *reinterpret_cast<const U*>(src);
    });
  });
}

// out[.., index[..], ..] = src (Add false) or += alpha * src (Add true) along dim, for an index
// shaped like the part of src it covers; out already holds self.
template <bool Add>
void scatter_src_into(const Tensor& out, const Tensor& index, const Tensor& src, int64_t dim, const Scalar& alpha,
                      ErrorKind out_of_range) {
  const int64_t sstep = dim_step(src, dim);
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T a = scalar_to<T>(alpha);
    dispatch_index(index.dtype(), [&](auto itag) {
      along_index<3, decltype(itag)>({index, out, src}, dim, 1, out_of_range, [&](char* dst, int64_t j, const std::array<char*, 3>& p) {
        const T v = *reinterpret_cast<const T*>(p[2] + j * sstep);
        T& d = *reinterpret_cast<T*>(dst);
        d = Add ? add_values(d, static_cast<T>(a * v)) : v;
      });
    });
  });
}

void scatter_value_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const Tensor& index = c.inputs[1];
  const Tensor& out = c.outputs[0];
  copy_elements(out, self);
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  dispatch_dtype(self.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = scalar_to<T>(c.attrs.get<Scalar>("value"));
    along_index<2>({index, out}, dim, 1, ErrorKind::Runtime,
                   [v](char* dst, int64_t, const std::array<char*, 2>&) { *reinterpret_cast<T*>(dst) = v; });
  });
}

void masked_fill_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = scalar_to<T>(c.attrs.get<Scalar>("value"));
    elementwise<T, T, bool>(out, {c.inputs[0], c.inputs[1]}, math::MaskedFill<T>{v});
  });
}

void masked_select_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const Tensor& mask = c.inputs[1];
  const Shape shape = broadcast_shapes(self.shape(), mask.shape());
  Tensor m = mask.as_strided(shape, broadcast_strides(mask.shape(), mask.strides(), shape), mask.offset());
  Tensor s = self.as_strided(shape, broadcast_strides(self.shape(), self.strides(), shape), self.offset());
  Compaction<bool, 2> sel({&m, &s});
  Tensor out = Tensor::empty({sel.count()}, self.dtype(), self.device());
  dispatch_bits(self.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    U* o = static_cast<U*>(out.raw_data());
    sel.emit([o](int64_t pos, int64_t, const std::array<char*, 2>& p) { o[pos] = *reinterpret_cast<const U*>(p[1]); });
  });
  c.outputs = {out};
}

void one_hot_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  Tensor xc = x;
  if (!x.is_contiguous()) {
    xc = Tensor::empty(x.shape(), x.dtype(), x.device());
    copy_elements(xc, x);
  }
  const int64_t* v = xc.data<int64_t>();
  const int64_t n = xc.numel();
  int64_t classes = c.attrs.get<int64_t>("num_classes");
  if (n > 0) {
    const auto [lo, hi] = std::minmax_element(v, v + n);
    TERRA_CHECK(*lo >= 0, Runtime, "Class values must be non-negative.");
    if (classes == -1) classes = *hi + 1;
    TERRA_CHECK(*hi < classes, Runtime, "Class values must be smaller than num_classes.");
  }
  Shape shape = x.shape();
  shape.push_back(classes);
  Tensor out = Tensor::empty(shape, DType::Int64, x.device());
  int64_t* o = out.data<int64_t>();
  parallel_for(0, n, grain_for(classes),
               [&](int64_t b, int64_t e) {
                 std::fill(o + b * classes, o + e * classes, 0);
                 for (int64_t i = b; i < e; ++i) o[i * classes + v[i]] = 1;
               });
  c.outputs = {out};
}

// The primitives of the shared indexing kernels (kernels/common/index_kernels.hpp).
struct CpuIndex {
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
  static Tensor nonzero(const Tensor& t) { return nonzero_of(t); }
  static Tensor index_offsets(const Shape& shape, const std::vector<Tensor>& idx, const std::vector<int64_t>& dims,
                              const Tensor& t, bool allow_negative) {
    return cpu::index_offsets(shape, idx, dims, t, allow_negative);
  }
  static void gather_by_offsets(const Tensor& out, const Tensor& src, const Tensor& off) {
    cpu::gather_by_offsets(out, src, off);
  }
  static void put_by_offsets(const Tensor& dst, const Tensor& values, const Tensor& off,
                             const advanced_index::Geometry& g, bool accumulate) {
    const bool parallel = !has_duplicates(off);
    dispatch_dtype(dst.dtype(), [&](auto tag) {
      cpu::put_by_offsets<decltype(tag)>(dst, values, offsets_over_result(off, g), accumulate, parallel);
    });
  }
  template <bool Add>
  static void scatter_src_into(const Tensor& out, const Tensor& index, const Tensor& src, int64_t dim,
                               const Scalar& alpha, ErrorKind out_of_range) {
    cpu::scatter_src_into<Add>(out, index, src, dim, alpha, out_of_range);
  }
};

}  // namespace

TERRA_INDEX_KERNELS(CPU, CpuIndex);
TERRA_KERNEL(gather, CPU, gather_kernel);
TERRA_KERNEL(scatter_value, CPU, scatter_value_kernel);
TERRA_KERNEL(masked_fill, CPU, masked_fill_kernel);
TERRA_KERNEL(masked_select, CPU, masked_select_kernel);
TERRA_KERNEL(one_hot, CPU, one_hot_kernel);

}  // namespace terra::cpu
