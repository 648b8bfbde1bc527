// CUDA kernels of the indexing ops: gather, scatter_value, masked_fill, masked_select and one_hot,
// and the primitives of index / index_put (advanced indexing), index_select, index_add, scatter,
// scatter_add and nonzero, whose kernels are the CPU's (kernels/common/index_kernels.hpp). Index
// values are checked on the device and an invalid one raises the CPU's error through a host read (Note [Data
// checks on CUDA] in device_check.cuh). Where indices repeat, accumulating ops add atomically
// (float sums in an unspecified order) and overwriting ops (index_put without accumulate, scatter)
// keep one of the duplicates' values, not necessarily the last as the CPU does; PyTorch's CUDA
// kernels behave the same. nonzero, masked_select and bool-mask indices count their selections
// with a prefix sum on the device and read the count back: the output's shape depends on it.
#include <cub/device/device_scan.cuh>

#include <limits>

#include "kernels/common/index_kernels.hpp"
#include "kernels/cuda/device_check.cuh"
#include "kernels/cuda/movement.cuh"
#include "kernels/kernel.hpp"
#include "tensor/cuda/cuda_device.hpp"

namespace terra::cuda {
namespace {

using advanced_index::at_least_1d;
using advanced_index::offsets_over_result;

// PyTorch raises IndexError for advanced indexing and index_add, RuntimeError for gather and the
// scatters: `kind` says which.
[[noreturn]] void out_of_bounds(int64_t index, int64_t dim, int64_t size, ErrorKind kind = ErrorKind::Index) {
  fail(kind, "index ", index, " is out of bounds for dimension ", dim, " with size ", size);
}

// ---- compaction: the row-major positions where a mask holds ----

// flags[i] = 1 where element i (row-major) of the mask is nonzero.
template <class M>
struct MaskFlags {
  const M* mask;
  Layout layout;
  int64_t* flags;
  __device__ void operator()(int64_t i) const { flags[i] = mask[layout.offset(i)] != M(0); }
};

// The selections of a mask (any dtype, any strides): ends[i] is the number of selected elements
// among 0..i, so a selected element i goes to output position ends[i] - 1.
struct Selection {
  Tensor ends;
  int64_t count = 0;
};

Selection select(const Tensor& mask) {
  const int64_t n = mask.numel();
  Selection s{Tensor::empty({n}, DType::Int64, mask.device())};
  if (n == 0) return s;
  Tensor flags = Tensor::empty({n}, DType::Int64, mask.device());
  dispatch_dtype(mask.dtype(), [&](auto tag) {
    using M = decltype(tag);
    for_each_index(n, MaskFlags<M>{mask.data<M>(), layout_of(mask), flags.data<int64_t>()});
  });
  size_t bytes = 0;
  const int64_t* in = flags.data<int64_t>();
  int64_t* out = s.ends.data<int64_t>();
  TERRA_CUDA_CHECK(cub::DeviceScan::InclusiveSum(nullptr, bytes, in, out, n, current_stream()));
  Tensor scratch = Tensor::empty({static_cast<int64_t>(bytes / sizeof(int64_t)) + 1}, DType::Int64, mask.device());
  TERRA_CUDA_CHECK(cub::DeviceScan::InclusiveSum(scratch.raw_data(), bytes, in, out, n, current_stream()));
  read_back(&s.count, out + n - 1, 1);
  return s;
}

// True when element i is selected (its running count grew there).
__device__ __forceinline__ bool selected(const int64_t* ends, int64_t i) { return ends[i] != (i ? ends[i - 1] : 0); }

struct NonzeroCoords {
  const int64_t* ends;
  Layout shape;  // the mask's shape (strides unused)
  int64_t* out;
  __device__ void operator()(int64_t i) const {
    if (!selected(ends, i)) return;
    int64_t* row = out + (ends[i] - 1) * shape.ndim;
    int64_t rem = i;
    for (int d = shape.ndim - 1; d >= 0; --d) {
      row[d] = rem % shape.shape[d];
      rem /= shape.shape[d];
    }
  }
};

// The coordinates of the nonzero elements of x, as an int64 [n, x.dim()] tensor.
Tensor nonzero_of(const Tensor& x) {
  const Selection s = select(x);
  Tensor out = Tensor::empty({s.count, x.dim()}, DType::Int64, x.device());
  if (s.count > 0) for_each_index(x.numel(), NonzeroCoords{s.ends.data<int64_t>(), layout_of(x), out.data<int64_t>()});
  return out;
}

template <class U>
struct SelectValues {
  const int64_t* ends;
  const U* self;
  Layout self_layout;
  U* out;
  __device__ void operator()(int64_t i) const {
    if (selected(ends, i)) out[ends[i] - 1] = self[self_layout.offset(i)];
  }
};

// ---- advanced indexing: element offsets chosen by index tensors ----

// off = idx * stride (+ off), with idx checked against the dim's size.
template <class I>
struct IndexOffset {
  int64_t size, stride;
  bool allow_negative;
  DeviceCheck::Slot bad;
  __device__ int64_t offset(I i) const {
    const int64_t v = math::normalize_index(i, size, allow_negative);
    if (math::index_in_range(v, size)) return v * stride;
    bad.record(i);
    return 0;
  }
  __device__ int64_t operator()(I i) const { return offset(i); }
  __device__ int64_t operator()(int64_t o, I i) const { return o + offset(i); }
};

// The CPU's index_offsets (kernels/cpu/indexing.cpp): element offsets into `t` selected by index
// tensors broadcast to `shape`; raises IndexError for an index out of range (a host read).
Tensor index_offsets(const Shape& shape, const std::vector<Tensor>& idx, const std::vector<int64_t>& dims,
                     const Tensor& t, bool allow_negative) {
  Tensor off = Tensor::empty(shape, DType::Int64, t.device());
  if (idx.empty()) {
    if (off.numel() > 0)
      TERRA_CUDA_CHECK(cudaMemsetAsync(off.raw_data(), 0, off.numel() * sizeof(int64_t), current_stream()));
    return off;
  }
  std::vector<DeviceCheck> checks;
  for (size_t k = 0; k < idx.size(); ++k) {
    checks.emplace_back(t.device());
    const int64_t dim = dims[k], size = t.shape()[dim], stride = t.strides()[dim];
    dispatch_index(idx[k].dtype(), [&](auto tag) {
      using I = decltype(tag);
      const IndexOffset<I> f{size, stride, allow_negative, checks.back().slot()};
      if (k == 0) elementwise<int64_t, I>(off, {idx[k]}, f);
      else elementwise<int64_t, int64_t, I>(off, {off, idx[k]}, f);
    });
  }
  for (size_t k = 0; k < idx.size(); ++k)
    if (auto v = checks[k].read()) out_of_bounds(*v, dims[k], t.shape()[dims[k]]);
  return off;
}

// out[r] = src[r shifted by off[r] elements], for views all shaped like out.
template <class U>
struct GatherByOffsets {
  U* out;
  Layout out_layout;
  const U* src;
  Layout src_layout;
  const int64_t* off;
  Layout off_layout;
  __device__ void operator()(int64_t i) const {
    out[out_layout.offset(i)] = src[src_layout.offset(i) + off[off_layout.offset(i)]];
  }
};

void gather_by_offsets(const Tensor& out, const Tensor& src, const Tensor& off) {
  cpu::dispatch_bits(out.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    for_each_index(out.numel(), GatherByOffsets<U>{static_cast<U*>(out.raw_data()), layout_of(out),
                                                   static_cast<const U*>(src.raw_data()), layout_of(src),
                                                   off.data<int64_t>(), layout_of(off)});
  });
}

// dst[r shifted by off[r]] = (or +=) values[r].
template <class T>
struct PutByOffsets {
  T* dst;
  Layout dst_layout;
  const T* values;
  Layout values_layout;
  const int64_t* off;
  Layout off_layout;
  bool accumulate;
  __device__ void operator()(int64_t i) const {
    T* d = dst + dst_layout.offset(i) + off[off_layout.offset(i)];
    const T v = values[values_layout.offset(i)];
    if (accumulate) atomic_add(d, v);
    else *d = v;
  }
};

// ---- the ops along one dim: gather, scatter*, index_add ----

// For every element i of `index` (row-major), the element of a target tensor its value picks along
// `dim`: target_layout (the target's strides over the index's shape, 0 along dim) gives the other
// coordinates, the value times target_step the one along dim. Invalid values are recorded and skipped.
template <class I, class Op>
struct AlongIndex {
  const I* index;
  Layout index_layout;
  Layout target_layout;
  int64_t target_step, size;
  DeviceCheck::Slot bad;
  Op op;
  __device__ void operator()(int64_t i) const {
    const int64_t v = index[index_layout.offset(i)];
    if (!math::index_in_range(v, size)) {
      bad.record(v);
      return;
    }
    op(i, target_layout.offset(i) + v * target_step);
  }
};

// A tensor's strides over the index's shape (its leading part along every dim but the target's).
Layout over_index(const Tensor& t, const Tensor& index) { return layout_of(index.shape(), t.strides()); }

// Runs op(i, target element offset) for every element i of index (all operands at least 1-d);
// raises the CPU's error (of kind `out_of_range`) for an index value out of range.
template <class I, class Op>
void along_index(const Tensor& index, const Tensor& target, int64_t dim, ErrorKind out_of_range, const Op& op) {
  DeviceCheck check(index.device());
  Layout target_layout = over_index(target, index);
  target_layout.stride[dim] = 0;  // the index value supplies the coordinate along dim
  for_each_index(index.numel(), AlongIndex<I, Op>{index.data<I>(), layout_of(index), target_layout, target.stride(dim),
                                                  target.size(dim), check.slot(), op});
  if (auto v = check.read()) out_of_bounds(*v, dim, target.size(dim), out_of_range);
}

template <class U>
struct GatherOp {
  U* out;
  Layout out_layout;
  const U* self;
  __device__ void operator()(int64_t i, int64_t t) const { out[out_layout.offset(i)] = self[t]; }
};

template <class T, bool Add>
struct ScatterOp {
  T* out;
  const T* src;
  Layout src_layout;
  T alpha;
  __device__ void operator()(int64_t i, int64_t t) const {
    const T v = src[src_layout.offset(i)];
    if constexpr (Add) atomic_add(out + t, static_cast<T>(alpha * v));
    else out[t] = v;
  }
};

template <class T>
struct FillOp {
  T* out;
  T value;
  __device__ void operator()(int64_t, int64_t t) const { out[t] = value; }
};

// out[.., index[..], ..] = src (Add false) or += alpha * src (Add true) along dim, for an index
// shaped like the part of src it covers; out already holds self. All at least 1-d.
template <bool Add>
void scatter_src_into(const Tensor& out, const Tensor& index, const Tensor& src, int64_t dim, const Scalar& alpha,
                      ErrorKind out_of_range) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const ScatterOp<T, Add> op{out.data<T>(), src.data<T>(), over_index(src, index), cpu::scalar_to<T>(alpha)};
    dispatch_index(index.dtype(), [&](auto itag) { along_index<decltype(itag)>(index, out, dim, out_of_range, op); });
  });
}

void gather_kernel(KernelCall& c) {
  const Tensor self = at_least_1d(c.inputs[0]);
  const Tensor index = at_least_1d(c.inputs[1]);
  const Tensor out = at_least_1d(c.outputs[0]);
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), c.inputs[0].dim());
  cpu::dispatch_bits(self.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    along_index<int64_t>(index, self, dim, ErrorKind::Runtime,
                         GatherOp<U>{static_cast<U*>(out.raw_data()), over_index(out, index),
                                     static_cast<const U*>(self.raw_data())});
  });
}

void scatter_value_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  copy_elements(out, c.inputs[0]);
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), c.inputs[0].dim());
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const Tensor o = at_least_1d(out);
    along_index<int64_t>(at_least_1d(c.inputs[1]), o, dim, ErrorKind::Runtime,
                         FillOp<T>{o.data<T>(), cpu::scalar_to<T>(c.attrs.get<Scalar>("value"))});
  });
}

void masked_fill_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = cpu::scalar_to<T>(c.attrs.get<Scalar>("value"));
    elementwise<T, T, bool>(out, {c.inputs[0], c.inputs[1]}, math::MaskedFill<T>{v});
  });
}

void masked_select_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const Tensor& mask = c.inputs[1];
  const Shape shape = broadcast_shapes(self.shape(), mask.shape());
  Tensor m = mask.as_strided(shape, broadcast_strides(mask.shape(), mask.strides(), shape), mask.offset());
  Tensor s = self.as_strided(shape, broadcast_strides(self.shape(), self.strides(), shape), self.offset());
  const Selection sel = select(m);
  Tensor out = Tensor::empty({sel.count}, self.dtype(), self.device());
  if (sel.count > 0) {
    cpu::dispatch_bits(self.itemsize(), [&](auto tag) {
      using U = decltype(tag);
      for_each_index(m.numel(), SelectValues<U>{sel.ends.data<int64_t>(), static_cast<const U*>(s.raw_data()),
                                                layout_of(s), static_cast<U*>(out.raw_data())});
    });
  }
  c.outputs = {out};
}

// extremes[0] = min, extremes[1] = max of the class labels.
struct LabelRange {
  const int64_t* x;
  Layout layout;
  long long* extremes;
  __device__ void operator()(int64_t i) const {
    const long long v = x[layout.offset(i)];
    atomicMin(extremes, v);
    atomicMax(extremes + 1, v);
  }
};

struct OneHot {
  const int64_t* x;
  Layout layout;
  int64_t classes;
  int64_t* out;
  __device__ void operator()(int64_t i) const { out[i * classes + x[layout.offset(i)]] = 1; }
};

// The labels' range decides the output's shape (num_classes=-1) or an error, so it is read back.
void one_hot_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  const int64_t n = x.numel();
  int64_t classes = c.attrs.get<int64_t>("num_classes");
  if (n > 0) {
    Tensor range = Tensor::empty({2}, DType::Int64, x.device());
    const int64_t init[2] = {std::numeric_limits<int64_t>::max(), std::numeric_limits<int64_t>::min()};
    copy_bytes(range.raw_data(), x.device(), init, Device{}, sizeof(init), false);
    for_each_index(n, LabelRange{x.data<int64_t>(), layout_of(x), static_cast<long long*>(range.raw_data())});
    int64_t extremes[2];
    TERRA_CUDA_CHECK(cudaMemcpyAsync(extremes, range.raw_data(), sizeof(extremes), cudaMemcpyDeviceToHost, current_stream()));
    TERRA_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
    TERRA_CHECK(extremes[0] >= 0, Runtime, "Class values must be non-negative.");
    if (classes == -1) classes = extremes[1] + 1;
    TERRA_CHECK(extremes[1] < classes, Runtime, "Class values must be smaller than num_classes.");
  }
  Shape shape = x.shape();
  shape.push_back(classes);
  Tensor out = Tensor::empty(shape, DType::Int64, x.device());
  if (out.numel() > 0) {
    TERRA_CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.numel() * sizeof(int64_t), current_stream()));
    for_each_index(n, OneHot{x.data<int64_t>(), layout_of(x), classes, out.data<int64_t>()});
  }
  c.outputs = {out};
}

// The primitives of the shared indexing kernels (kernels/common/index_kernels.hpp).
struct CudaIndex {
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
  static Tensor nonzero(const Tensor& t) { return nonzero_of(t); }
  static Tensor index_offsets(const Shape& shape, const std::vector<Tensor>& idx, const std::vector<int64_t>& dims,
                              const Tensor& t, bool allow_negative) {
    return cuda::index_offsets(shape, idx, dims, t, allow_negative);
  }
  static void gather_by_offsets(const Tensor& out, const Tensor& src, const Tensor& off) {
    cuda::gather_by_offsets(out, src, off);
  }
  static void put_by_offsets(const Tensor& dst, const Tensor& values, const Tensor& off,
                             const advanced_index::Geometry& g, bool accumulate) {
    const Tensor offsets = offsets_over_result(off, g);
    dispatch_dtype(dst.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for_each_index(dst.numel(), PutByOffsets<T>{dst.data<T>(), layout_of(dst), values.data<T>(), layout_of(values),
                                                  offsets.data<int64_t>(), layout_of(offsets), accumulate});
    });
  }
  template <bool Add>
  static void scatter_src_into(const Tensor& out, const Tensor& index, const Tensor& src, int64_t dim,
                               const Scalar& alpha, ErrorKind out_of_range) {
    cuda::scatter_src_into<Add>(out, index, src, dim, alpha, out_of_range);
  }
};

}  // namespace

TERRA_INDEX_KERNELS(CUDA, CudaIndex);
TERRA_KERNEL(gather, CUDA, gather_kernel);
TERRA_KERNEL(scatter_value, CUDA, scatter_value_kernel);
TERRA_KERNEL(masked_fill, CUDA, masked_fill_kernel);
TERRA_KERNEL(masked_select, CUDA, masked_select_kernel);
TERRA_KERNEL(one_hot, CUDA, one_hot_kernel);

}  // namespace terra::cuda
