// Where advanced indexing (x[i0, i1, ...] with index tensors, PyTorch/numpy rules) puts things:
// which dims of self the index tensors address, the shape they broadcast to, and where those dims
// land in the result. Shared by the index/index_put shape rules (which know only metadata, so a
// bool mask contributes an unknown size, -1) and their kernels on every device (which expand
// masks into their nonzero positions first and then see real sizes).
#pragma once
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

// index_put's values must expand to the indexing result's shape; PyTorch's RuntimeError if not.
void check_values_fit(const Shape& values, const Shape& result);

}  // namespace terra::advanced_index
