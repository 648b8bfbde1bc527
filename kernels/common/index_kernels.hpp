// The indexing kernels whose work is placing views and offsets (index, index_put, index_select,
// index_add, scatter, scatter_add, nonzero), written once over a device's primitives and
// registered for each device:
//   Impl::copy(dst, src)                        -- dst = src, one dtype, any strides
//   Impl::nonzero(t)                            -- int64 [count, t.dim()] coordinates of t's nonzeros
//   Impl::index_offsets(shape, idx, dims, t, allow_negative)
//                                               -- int64 `shape`: sum over k of idx_k * t.stride(dims[k]),
//                                                  each index checked (IndexError) against its dim
//   Impl::gather_by_offsets(out, src, off)      -- out[r] = src[r shifted by off[r]], views shaped like out
//   Impl::put_by_offsets(dst, values, off, g, accumulate)
//                                               -- dst[r shifted by off[r]] = (or +=) values[r], dst and
//                                                  values over the result, off shaped like g.index
//   Impl::scatter_src_into<Add>(out, index, src, dim, alpha, out_of_range)
//                                               -- out[.., index[..], ..] = src (or += alpha * src) along
//                                                  dim, all at least 1-d, index values checked
#pragma once
#include "kernels/advanced_index.hpp"
#include "kernels/kernel.hpp"

namespace terra::index_kernels {

template <class Impl>
struct Kernels {
  static void index(KernelCall& c) {
    const Tensor& self = c.inputs[0];
    auto ix = advanced_index::expand_masks({c.inputs.begin() + 1, c.inputs.end()}, Impl::nonzero);
    const auto g = advanced_index::geometry(self.shape(), ix.entries);
    Tensor off = Impl::index_offsets(g.index, ix.tensors, g.indexed_dims, self, true);
    Tensor out = Tensor::empty(g.result, self.dtype(), self.device());
    Impl::gather_by_offsets(out, advanced_index::over_result(self, g), advanced_index::offsets_over_result(off, g));
    c.outputs = {out};
  }

  // tensors = [self, values, index_0, ...]; see the registry entry.
  static void index_put(KernelCall& c) {
    const Tensor& self = c.inputs[0];
    const Tensor& values = c.inputs[1];
    const Tensor& out = c.outputs[0];
    Impl::copy(out, self);
    auto ix = advanced_index::expand_masks({c.inputs.begin() + 2, c.inputs.end()}, Impl::nonzero);
    const auto g = advanced_index::geometry(self.shape(), ix.entries);
    advanced_index::check_values_fit(values.shape(), g.result);  // with a mask, known only now
    Tensor off = Impl::index_offsets(g.index, ix.tensors, g.indexed_dims, out, true);
    Tensor vals =
        values.as_strided(g.result, broadcast_strides(values.shape(), values.strides(), g.result), values.offset());
    Impl::put_by_offsets(advanced_index::over_result(out, g), vals, off, g, c.attrs.get<bool>("accumulate"));
  }

  static void index_select(KernelCall& c) {
    const Tensor& self = c.inputs[0];
    const Tensor& out = c.outputs[0];
    const Tensor index = advanced_index::at_least_1d(c.inputs[1]);
    const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
    if (self.dim() == 0) {  // every index must be 0; the result is self
      Impl::index_offsets(index.shape(), {index}, {0}, advanced_index::at_least_1d(self), false);
      Impl::copy(out, self);
      return;
    }
    advanced_index::Entries entries(self.dim());
    entries[dim] = index.shape();
    const auto g = advanced_index::geometry(self.shape(), entries);
    Tensor off = Impl::index_offsets(g.index, {index}, g.indexed_dims, self, false);
    Impl::gather_by_offsets(out, advanced_index::over_result(self, g), advanced_index::offsets_over_result(off, g));
  }

  // scatter and scatter_add with a tensor source: out = self, then out[.., index[..], ..] = or += src.
  template <bool Add>
  static void scatter(KernelCall& c) {
    Impl::copy(c.outputs[0], c.inputs[0]);
    Impl::template scatter_src_into<Add>(
        advanced_index::at_least_1d(c.outputs[0]), advanced_index::at_least_1d(c.inputs[1]),
        advanced_index::at_least_1d(c.inputs[2]), normalize_dim(c.attrs.get<int64_t>("dim"), c.inputs[0].dim()),
        Scalar(1), ErrorKind::Runtime);  // PyTorch's error for a scatter's index out of range
  }

  // index_add is scatter_add with the index vector laid along dim and broadcast over source's other
  // dims (the shape rule made source self's shape but along dim, 0-d counted as 1-d).
  static void index_add(KernelCall& c) {
    const Tensor& self = c.inputs[0];
    const Tensor& out = c.outputs[0];
    Impl::copy(out, self);
    const Tensor index = advanced_index::at_least_1d(c.inputs[1]);
    const Tensor source = advanced_index::at_least_1d(c.inputs[2]);
    const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
    Strides along(source.dim(), 0);
    along[dim] = index.stride(0);
    Impl::template scatter_src_into<true>(advanced_index::at_least_1d(out),
                                          index.as_strided(source.shape(), along, index.offset()), source, dim,
                                          c.attrs.get<Scalar>("alpha"), ErrorKind::Index);
  }

  static void nonzero(KernelCall& c) { c.outputs = {Impl::nonzero(c.inputs[0])}; }
};

}  // namespace terra::index_kernels

#define TERRA_INDEX_KERNELS(DEVICE, Impl)                                                       \
  TERRA_KERNEL(index, DEVICE, ::terra::index_kernels::Kernels<Impl>::index);                   \
  TERRA_KERNEL(index_put, DEVICE, ::terra::index_kernels::Kernels<Impl>::index_put);           \
  TERRA_KERNEL(index_select, DEVICE, ::terra::index_kernels::Kernels<Impl>::index_select);     \
  TERRA_KERNEL(index_add, DEVICE, ::terra::index_kernels::Kernels<Impl>::index_add);           \
  TERRA_KERNEL(scatter, DEVICE, ::terra::index_kernels::Kernels<Impl>::scatter<false>);        \
  TERRA_KERNEL(scatter_add, DEVICE, ::terra::index_kernels::Kernels<Impl>::scatter<true>);     \
  TERRA_KERNEL(nonzero, DEVICE, ::terra::index_kernels::Kernels<Impl>::nonzero)
