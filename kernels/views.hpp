// View ops compute a new (shape, strides, offset) over the same storage; no data moves, so one
// implementation serves every device. Each *_view function is both the op's shape rule (the
// engine reads .shape, and every error is raised here, before anything runs) and its kernel.
#pragma once
#include "kernels/kernel.hpp"

namespace terra::views {

struct ViewSpec {
  Shape shape;
  Strides strides;
  int64_t offset;
};

// Strides that let a tensor of (shape, strides) be viewed as `target` without copying, or
// nothing when the memory layout does not allow it (PyTorch's computeStride).
std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& target);
// Resolves one -1 in a requested shape against numel; throws on a mismatch.
Shape infer_size(const std::vector<int64_t>& requested, int64_t numel);

ViewSpec view(const Tensor& t, const Attrs& a);        // view(int[] size)
ViewSpec permute(const Tensor& t, const Attrs& a);     // permute(int[] dims)
ViewSpec transpose(const Tensor& t, const Attrs& a);   // transpose(int dim0, int dim1)
ViewSpec expand(const Tensor& t, const Attrs& a);      // expand(int[] size)
ViewSpec squeeze(const Tensor& t, const Attrs& a);     // squeeze(int[]? dim)
ViewSpec unsqueeze(const Tensor& t, const Attrs& a);   // unsqueeze(int dim)
ViewSpec flatten(const Tensor& t, const Attrs& a);     // flatten(int start_dim, int end_dim); may need a copy
ViewSpec narrow(const Tensor& t, const Attrs& a);      // narrow(int dim, int start, int length)
ViewSpec slice(const Tensor& t, const Attrs& a);       // slice(int dim, int? start, int? end, int step)
ViewSpec select(const Tensor& t, const Attrs& a);      // select(int dim, int index)
ViewSpec as_strided(const Tensor& t, const Attrs& a);  // as_strided(int[] size, int[] stride, int? storage_offset)
ViewSpec alias(const Tensor& t, const Attrs& a);       // the same view, a new tensor (detach)

}  // namespace terra::views
