// Whether a tensor's elements share memory with each other or with another tensor's: the rules
// PyTorch's ops that write elementwise obey (its MemOverlap), so that a write that would read
// bytes it already overwrote is refused instead of giving an order-dependent result.
#pragma once
#include "tensor/tensor.hpp"

namespace terra {

// Strides that visit each byte of one dense block exactly once, in some dim order (a transpose
// of a contiguous tensor, not a slice with a step or a broadcast).
bool is_non_overlapping_and_dense(const Shape& shape, const Strides& strides);

// Two elements of `t` at one address: a dim of size > 1 with stride 0 (an expanded tensor).
bool has_internal_overlap(const Tensor& t);

enum class Overlap {
  None,     // different memory
  Full,     // the same elements in the same order: reading and writing it is fine (x.add_(x))
  Partial,  // some elements shared, at other positions
  TooHard,  // not told apart cheaply (a tensor with gaps or repeats): let through, as PyTorch does
};
Overlap overlap_between(const Tensor& a, const Tensor& b);

}  // namespace terra
