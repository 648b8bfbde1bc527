// Where advanced indexing (x[i0, i1, ...] with index tensors, PyTorch/numpy rules) puts things:
// which dims of self the index tensors address, the shape they broadcast to, and where those dims
// land in the result. Shared by the index/index_put shape rules (which know only metadata, so a
// bool mask contributes an unknown size, -1) and their kernels on every device (which expand
// masks into their nonzero positions first and then see real sizes).
#pragma once
#include <functional>
#include <optional>

#include "tensor/tensor.hpp"

namespace terra::advanced_index {

// One entry per dim of self that the index list covers, after bool masks are expanded (a k-dim
// mask becomes k entries); an empty entry means "no index on this dim" (a `:` in Python).
using Entries = std::vector<std::optional<Shape>>;

// Checks an index list against self (dtypes, mask shapes, too many indices) with PyTorch's
// wording, and returns its entries with every mask's count of true elements unknown (-1).
Entries entries_from_meta(const Shape& self, const std::vector<Tensor>& indices);

struct Geometry {
  Shape result;      // the indexing result's shape (-1 where it depends on mask data)
  Shape index;       // the index tensors broadcast together
  int64_t index_at;  // first dim of `result` that walks the broadcast index
  // For every other result dim in order, the self dim it walks.
  std::vector<int64_t> self_dims;
  // The self dims the index tensors address, in order.
  std::vector<int64_t> indexed_dims;
};

// Index dims stay in place when the indexed dims are adjacent (x[:, i, j]) and move to the front
// otherwise (x[i, :, j]), as in numpy. Throws PyTorch's "shape mismatch" IndexError when the index
// shapes do not broadcast.
Geometry geometry(const Shape& self, const Entries& entries);

// An index list with its bool masks replaced by their nonzero coordinates (one index tensor per
// mask dim), which is what a mask means in advanced indexing. `nonzero` is the device's: an int64
// [count, mask.dim()] tensor of the mask's true positions in row-major order.
struct ExpandedIndices {
  Entries entries;
  std::vector<Tensor> tensors;  // the defined index tensors, in order
};
ExpandedIndices expand_masks(const std::vector<Tensor>& indices, const std::function<Tensor(const Tensor&)>& nonzero);

// `t` viewed with the indexing result's shape: its own strides on the dims it walks, 0 on the
// index dims (the offsets supply those).
Tensor over_result(const Tensor& t, const Geometry& g);
// The offsets (shaped like the broadcast index) viewed with the result's shape.
Tensor offsets_over_result(const Tensor& off, const Geometry& g);

// A 0-d tensor as the 1-element 1-d tensor index_select and index_add take it for.
inline Tensor at_least_1d(const Tensor& t) { return t.dim() == 0 ? t.as_strided({1}, {0}, t.offset()) : t; }

// index_put's values must expand to the indexing result's shape; PyTorch's RuntimeError if not.
void check_values_fit(const Shape& values, const Shape& result);

}  // namespace terra::advanced_index
