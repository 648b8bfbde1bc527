#include "tensor/shape.hpp"

#include <algorithm>
#include <limits>
#include <sstream>

#include "tensor/error.hpp"

namespace terra {

int64_t shape_numel(const Shape& shape) {
  int64_t n = 1;
  for (int64_t s : shape)
    if (__builtin_mul_overflow(n, s, &n))
      throw Error(ErrorKind::Runtime, "numel: integer multiplication overflow for sizes=" + shape_str(shape));
  return n;
}

size_t storage_bytes(const Shape& shape, size_t itemsize) {
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(shape_numel(shape)), itemsize, &bytes) ||
      bytes > static_cast<size_t>(std::numeric_limits<int64_t>::max()))
    throw Error(ErrorKind::Runtime, "Storage size calculation overflowed with sizes=" + shape_str(shape));
  return bytes;
}

Strides contiguous_strides(const Shape& shape) {
  Strides st(shape.size());
  int64_t acc = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(shape[i], 1);
  }
  return st;
}

std::string shape_str(const Shape& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

int64_t normalize_dim(int64_t dim, int64_t ndim) {
  int64_t n = std::max<int64_t>(ndim, 1);
  TERRA_CHECK(dim >= -n && dim < n, Index, "Dimension out of range (expected to be in range of [", -n,
              ", ", n - 1, "], but got ", dim, ")");
  return dim < 0 ? dim + n : dim;
}

std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim) {
  std::vector<int64_t> out;
  if (dims.empty()) {
    for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
    return out;
  }
  for (int64_t d : dims) {
    int64_t nd = normalize_dim(d, ndim);
    TERRA_CHECK(std::find(out.begin(), out.end(), nd) == out.end(), Runtime, "dim ", nd,
                " appears multiple times in the list of dims");
    out.push_back(nd);
  }
  std::sort(out.begin(), out.end());
  if (ndim == 0) out.clear();
  return out;
}

Shape broadcast_shapes(const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    TERRA_CHECK(da == db || da == 1 || db == 1, Runtime, "shapes ", shape_str(a), " and ", shape_str(b),
                " are not broadcastable: the size of tensor a (", da, ") must match the size of tensor b (",
                db, ") at non-singleton dimension ", i);
    out[i] = da == 1 ? db : da;
  }
  return out;
}

void broadcast_strides_into(const Shape& shape, const Strides& strides, const Shape& target, int64_t* out) {
  TERRA_ASSERT(shape.size() <= target.size());
  const size_t off = target.size() - shape.size();
  std::fill(out, out + off, 0);
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == target[i + off]) {
      out[i + off] = strides[i];
    } else {
      TERRA_CHECK(shape[i] == 1, Runtime, "The expanded size of the tensor (", target[i + off],
                  ") must match the existing size (", shape[i], ") at non-singleton dimension ", i + off,
                  ".  Target sizes: ", shape_str(target), ".  Tensor sizes: ", shape_str(shape));
      out[i + off] = 0;
    }
  }
}

Strides broadcast_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  Strides out(target.size());
  broadcast_strides_into(shape, strides, target, out.data());
  return out;
}

bool is_contiguous(const Shape& shape, const Strides& strides) {
  int64_t expected = 1;
  for (size_t i = shape.size(); i-- > 0;) {
    if (shape[i] == 1) continue;
    if (shape[i] == 0) return true;
    if (strides[i] != expected) return false;
    expected *= shape[i];
  }
  return true;
}

}  // namespace terra
