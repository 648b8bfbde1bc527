// The per-element arithmetic of the kernels that move elements (indexing, triangles, padding,
// upsampling), shared by the CPU and CUDA kernels (TERRA_HD): which source position an output
// position reads, which indices are valid, how duplicates combine.
#pragma once
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "tensor/macros.hpp"

namespace terra::math {

// An index value as a position along a dim of `size`: negative values count from the end where
// the op allows it (index, index_put), and the result is valid only if in [0, size).
TERRA_HD int64_t normalize_index(int64_t v, int64_t size, bool allow_negative) {
  return v < 0 && allow_negative ? v + size : v;
}
TERRA_HD bool index_in_range(int64_t v, int64_t size) { return v >= 0 && v < size; }

// How accumulating ops (index_put with accumulate, index_add, scatter_add) combine a duplicate:
// a sum, and logical or for bool.
template <class T>
TERRA_HD T add_values(T a, T b) {
  if constexpr (std::is_same_v<T, bool>) return a || b;
  else return static_cast<T>(a + b);
}

template <class T>
struct MaskedFill {
  T value;
  TERRA_HD T operator()(T x, bool mask) const { return mask ? value : x; }
};

// tril keeps the elements with col - row <= diagonal, triu those with col - row >= diagonal.
TERRA_HD bool triangle_keeps(bool lower, int64_t row, int64_t col, int64_t diagonal) {
  return lower ? col - row <= diagonal : col - row >= diagonal;
}

// aten's reflection index for output position j of a dim of `in` elements padded by `left` on
// the left (negative pads crop): inside the input it is the identity, outside it mirrors about
// the edge element.
TERRA_HD int64_t reflect_source(int64_t j, int64_t in, int64_t left) {
  const int64_t in_start = left < 0 ? -left : 0, out_start = left > 0 ? left : 0;
  const int64_t i = j < left ? 2 * left - j : (j < in + left ? j : 2 * (in + left - 1) - j);
  return i - out_start + in_start;
}

// aten's replication index (negative pads crop): the nearest element of the input.
TERRA_HD int64_t replicate_source(int64_t j, int64_t in, int64_t left) {
  const int64_t i = j - left;
  return i < 0 ? 0 : (i < in ? i : in - 1);
}

// The circular index of PyTorch 1.13's _pad_circular, for output position j of `out` = in + left
// + right positions: negative pads crop first, then positive pads wrap around the elements kept
// (the shape rule has checked that they wrap at most once, so there is at least one).
TERRA_HD int64_t circular_source(int64_t j, int64_t in, int64_t left, int64_t out) {
  const int64_t right = out - in - left;
  const int64_t start = left < 0 ? -left : 0, kept = in - start - (right < 0 ? -right : 0);
  const int64_t k = (j - (left > 0 ? left : 0)) % kept;
  return start + (k < 0 ? k + kept : k);
}

// F.pad's modes other than "constant", as the kernels see them.
enum class PadMode : int { Reflect, Replicate, Circular };

inline PadMode pad_mode(const std::string& name) {
  return name == "reflect" ? PadMode::Reflect : name == "replicate" ? PadMode::Replicate : PadMode::Circular;
}

// The input position output position j of a padded dim reads (`in` positions padded by `left`
// on the left to `out`).
TERRA_HD int64_t pad_source(PadMode mode, int64_t j, int64_t in, int64_t left, int64_t out) {
  switch (mode) {
    case PadMode::Reflect: return reflect_source(j, in, left);
    case PadMode::Replicate: return replicate_source(j, in, left);
    default: return circular_source(j, in, left, out);
  }
}

// aten's nearest_idx: exact for equal sizes and for doubling, otherwise floor(o * scale) with the
// scale in float32, as PyTorch computes it (so indices match PyTorch's, rounding included).
TERRA_HD int64_t nearest_source(int64_t o, int64_t in, int64_t out) {
  if (out == in) return o;
  if (out == 2 * in) return o >> 1;
  const float scale = static_cast<float>(in) / static_cast<float>(out);
  const int64_t i = static_cast<int64_t>(std::floor(static_cast<float>(o) * scale));
  return i < in - 1 ? i : in - 1;
}

}  // namespace terra::math
