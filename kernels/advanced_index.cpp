#include "kernels/advanced_index.hpp"

#include <algorithm>
#include <sstream>

namespace terra::advanced_index {

Entries entries_from_meta(const Shape& self, const std::vector<Tensor>& indices) {
  const int64_t nd = static_cast<int64_t>(self.size());
  int64_t consumed = 0;
  for (const Tensor& t : indices) {
    if (!t.defined()) {
      consumed++;
      continue;
    }
    TERRA_CHECK(t.dtype() == DType::Int64 || t.dtype() == DType::Bool, Index,
                "tensors used as indices must be long, byte or bool tensors");
    // PyTorch's Python layer turns a 0-d bool index into a new dim before ATen sees it.
    TERRA_CHECK(t.dtype() != DType::Bool || t.dim() > 0, Index,
                "a 0-dim bool index is not supported here: unsqueeze the tensor and use a 1-element mask");
    consumed += t.dtype() == DType::Bool ? t.dim() : 1;
  }
  TERRA_CHECK(consumed <= nd, Index, "too many indices for tensor of dimension ", nd, " (got ", consumed, ")");
  Entries out;
  for (const Tensor& t : indices) {
    if (!t.defined()) {
      out.emplace_back();
    } else if (t.dtype() == DType::Bool) {
      const int64_t start = static_cast<int64_t>(out.size());
      for (int64_t j = 0; j < t.dim(); ++j) {
        TERRA_CHECK(t.shape()[j] == self[start + j], Index, "The shape of the mask ", shape_str(t.shape()),
                    " at index ", j, " does not match the shape of the indexed tensor ", shape_str(self), " at index ",
                    start + j);
        out.emplace_back(Shape{-1});
      }
    } else {
      out.emplace_back(t.shape());
    }
  }
  return out;
}

namespace {

// Broadcasting where -1 is a mask's unknown count: it must equal the other size or be 1, so the
// other size wins unless that is 1 too.
int64_t broadcast_dim(int64_t a, int64_t b, bool& ok) {
  if (a == b || b == 1) return a;
  if (a == 1) return b;
  if (a == -1) return b;
  if (b == -1) return a;
  ok = false;
  return a;
}

}  // namespace

Geometry geometry(const Shape& self, const Entries& entries) {
  Geometry g;
  std::vector<Shape> shapes;
  for (size_t d = 0; d < entries.size(); ++d) {
    if (!entries[d]) continue;
    g.indexed_dims.push_back(static_cast<int64_t>(d));
    shapes.push_back(*entries[d]);
  }
  bool ok = true;
  for (const Shape& s : shapes) {
    if (s.size() > g.index.size()) g.index.insert(g.index.begin(), s.size() - g.index.size(), 1);
    const size_t off = g.index.size() - s.size();
    for (size_t i = 0; i < s.size(); ++i) g.index[off + i] = broadcast_dim(g.index[off + i], s[i], ok);
  }
  if (!ok) {
    std::ostringstream os;
    for (size_t i = 0; i < shapes.size(); ++i) os << (i ? ", " : "") << shape_str(shapes[i]);
    fail(ErrorKind::Index, "shape mismatch: indexing tensors could not be broadcast together with shapes ", os.str());
  }
  const auto& ix = g.indexed_dims;
  const bool adjacent = ix.empty() || ix.back() - ix.front() + 1 == static_cast<int64_t>(ix.size());
  g.index_at = 0;
  for (int64_t d = 0; d < static_cast<int64_t>(self.size()); ++d) {
    if (std::find(ix.begin(), ix.end(), d) != ix.end()) continue;
    if (adjacent && !ix.empty() && d < ix.front()) g.index_at++;
    g.self_dims.push_back(d);
  }
  for (int64_t i = 0; i < static_cast<int64_t>(g.self_dims.size()); ++i) {
    if (i == g.index_at) g.result.insert(g.result.end(), g.index.begin(), g.index.end());
    g.result.push_back(self[g.self_dims[i]]);
  }
  if (g.index_at == static_cast<int64_t>(g.self_dims.size()))
    g.result.insert(g.result.end(), g.index.begin(), g.index.end());
  return g;
}

ExpandedIndices expand_masks(const std::vector<Tensor>& indices, const std::function<Tensor(const Tensor&)>& nonzero) {
  ExpandedIndices x;
  for (const Tensor& t : indices) {
    if (!t.defined()) {
      x.entries.emplace_back();
    } else if (t.dtype() == DType::Bool) {
      Tensor nz = nonzero(t);
      const int64_t n = nz.shape()[0], k = nz.shape()[1];
      for (int64_t j = 0; j < k; ++j) {
        x.entries.emplace_back(Shape{n});
        x.tensors.push_back(nz.as_strided({n}, {k}, nz.offset() + j));
      }
    } else {
      x.entries.emplace_back(t.shape());
      x.tensors.push_back(t);
    }
  }
  return x;
}

Tensor over_result(const Tensor& t, const Geometry& g) {
  Strides st(g.result.size(), 0);
  const int64_t nb = static_cast<int64_t>(g.index.size());
  for (size_t i = 0; i < g.self_dims.size(); ++i) {
    const int64_t r = static_cast<int64_t>(i) < g.index_at ? static_cast<int64_t>(i) : static_cast<int64_t>(i) + nb;
    st[r] = t.strides()[g.self_dims[i]];
  }
  return t.as_strided(g.result, st, t.offset());
}

Tensor offsets_over_result(const Tensor& off, const Geometry& g) {
  Strides st(g.result.size(), 0);
  for (size_t i = 0; i < g.index.size(); ++i) st[g.index_at + i] = off.strides()[i];
  return off.as_strided(g.result, st, off.offset());
}

void check_values_fit(const Shape& values, const Shape& result) {
  bool fits = values.size() <= result.size();
  for (size_t i = 1; fits && i <= values.size(); ++i) {
    const int64_t v = values[values.size() - i], r = result[result.size() - i];
    fits = v == r || v == 1;
  }
  TERRA_CHECK(fits, Runtime, "shape mismatch: value tensor of shape ", shape_str(values),
              " cannot be broadcast to indexing result of shape ", shape_str(result));
}

}  // namespace terra::advanced_index
