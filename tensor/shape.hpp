// Shapes and strides (in elements) and the rules that relate them: contiguity, broadcasting, dim
// normalisation. Errors use PyTorch's wording so messages read the same to users.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace terra {

using Shape = std::vector<int64_t>;
using Strides = std::vector<int64_t>;

int64_t shape_numel(const Shape& shape);  // a Runtime error when the product overflows int64
// numel * itemsize, the bytes a contiguous tensor of `shape` needs; a Runtime error past int64.
size_t storage_bytes(const Shape& shape, size_t itemsize);
Strides contiguous_strides(const Shape& shape);
std::string shape_str(const Shape& shape);  // "[2, 3]"

// Wraps a possibly negative dim into [0, ndim); a 0-d tensor accepts dims -1 and 0.
int64_t normalize_dim(int64_t dim, int64_t ndim);
// A dim list (empty means all dims) as a sorted, de-duplicated bitmask-checked vector.
std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim);

// numpy/PyTorch broadcasting; throws a Runtime error naming both shapes.
Shape broadcast_shapes(const Shape& a, const Shape& b);
// Strides for viewing a tensor of `shape`/`strides` as `target` (stride 0 on broadcast dims).
Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target);
// The same into out[0 .. target.size()), for callers that keep strides in a fixed array.
void broadcast_strides_into(const Shape& shape, const Strides& strides, const Shape& target, int64_t* out);

bool is_contiguous(const Shape& shape, const Strides& strides);

}  // namespace terra
