#include "kernels/views.hpp"

#include <algorithm>
#include <numeric>

namespace terra::views {

std::optional<Strides> view_strides(const Shape& shape, const Strides& strides, const Shape& target) {
  // Walk the old dims from the innermost, grouping runs of dims that are contiguous with each
  // other; each run must be split exactly by the new dims.
  Strides out(target.size());
  if (shape_numel(shape) == 0) return contiguous_strides(target);
  int64_t view_d = static_cast<int64_t>(target.size()) - 1;
  int64_t chunk_base_stride = strides.empty() ? 1 : strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || target[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= target[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

Shape infer_size(const std::vector<int64_t>& requested, int64_t numel) {
  Shape out(requested.begin(), requested.end());
  int64_t known = 1, infer_at = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      TERRA_CHECK(infer_at < 0, Runtime, "only one dimension can be inferred");
      infer_at = static_cast<int64_t>(i);
    } else {
      TERRA_CHECK(out[i] >= 0, Runtime, "invalid shape dimension ", out[i]);
      known *= out[i];
    }
  }
  if (infer_at >= 0) {
    TERRA_CHECK(known != 0 && numel % known == 0, Runtime, "shape '", shape_str(requested),
                "' is invalid for input of size ", numel);
    out[infer_at] = numel / known;
  }
  TERRA_CHECK(shape_numel(out) == numel, Runtime, "shape '", shape_str(requested), "' is invalid for input of size ",
              numel);
  return out;
}

ViewSpec view(const Tensor& t, const Attrs& a) {
  Shape target = infer_size(a.get<std::vector<int64_t>>("size"), t.numel());
  auto st = view_strides(t.shape(), t.strides(), target);
  TERRA_CHECK(st, Runtime,
              "view size is not compatible with input tensor's size and stride (at least one dimension spans across "
              "two contiguous subspaces). Use .reshape(...) instead.");
  return {target, *st, t.offset()};
}

ViewSpec permute(const Tensor& t, const Attrs& a) {
  const auto& dims = a.get<std::vector<int64_t>>("dims");
  int64_t nd = t.dim();
  TERRA_CHECK(static_cast<int64_t>(dims.size()) == nd, Runtime,
              "number of dims don't match in permute: the tensor has ", nd, " dims but ", dims.size(), " were given");
  std::vector<bool> seen(nd, false);
  ViewSpec v{Shape(nd), Strides(nd), t.offset()};
  for (int64_t i = 0; i < nd; ++i) {
    int64_t d = normalize_dim(dims[i], nd);
    TERRA_CHECK(!seen[d], Runtime, "repeated dim ", dims[i]);
    seen[d] = true;
    v.shape[i] = t.shape()[d];
    v.strides[i] = t.strides()[d];
  }
  return v;
}

ViewSpec transpose(const Tensor& t, const Attrs& a) {
  ViewSpec v{t.shape(), t.strides(), t.offset()};
  if (t.dim() == 0) {
    normalize_dim(a.get<int64_t>("dim0"), 0);
    normalize_dim(a.get<int64_t>("dim1"), 0);
    return v;
  }
  int64_t d0 = normalize_dim(a.get<int64_t>("dim0"), t.dim()), d1 = normalize_dim(a.get<int64_t>("dim1"), t.dim());
  std::swap(v.shape[d0], v.shape[d1]);
  std::swap(v.strides[d0], v.strides[d1]);
  return v;
}

ViewSpec expand(const Tensor& t, const Attrs& a) {
  Shape target = a.get<std::vector<int64_t>>("size");
  TERRA_CHECK(target.size() >= t.shape().size(), Runtime, "expand: the number of sizes provided (", target.size(),
              ") must be greater or equal to the number of dimensions in the tensor (", t.dim(), ")");
  size_t off = target.size() - t.shape().size();
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == -1) {
      TERRA_CHECK(i >= off, Runtime, "expand: -1 is not allowed in a leading, non-existing dimension ", i);
      target[i] = t.shape()[i - off];
    }
  }
  shape_numel(target);  // a Runtime error when the element count overflows, as PyTorch raises
  return {target, broadcast_strides(t.shape(), t.strides(), target), t.offset()};
}

ViewSpec squeeze(const Tensor& t, const Attrs& a) {
  auto dims_opt = a.opt<std::vector<int64_t>>("dim");
  std::vector<bool> drop(t.dim(), false);
  if (!dims_opt) {
    for (int64_t d = 0; d < t.dim(); ++d) drop[d] = t.shape()[d] == 1;
  } else {
    for (int64_t d : *dims_opt) {
      int64_t nd = normalize_dim(d, t.dim());
      if (t.dim() > 0) drop[nd] = t.shape()[nd] == 1;
    }
  }
  ViewSpec v{{}, {}, t.offset()};
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (drop[d]) continue;
    v.shape.push_back(t.shape()[d]);
    v.strides.push_back(t.strides()[d]);
  }
  return v;
}

ViewSpec unsqueeze(const Tensor& t, const Attrs& a) {
  int64_t d = normalize_dim(a.get<int64_t>("dim"), t.dim() + 1);
  ViewSpec v{t.shape(), t.strides(), t.offset()};
  int64_t st = d < t.dim() ? t.shape()[d] * t.strides()[d] : 1;
  v.shape.insert(v.shape.begin() + d, 1);
  v.strides.insert(v.strides.begin() + d, st);
  return v;
}

ViewSpec flatten(const Tensor& t, const Attrs& a) {
  if (t.dim() == 0) return {{1}, {1}, t.offset()};
  int64_t s = normalize_dim(a.get<int64_t>("start_dim"), t.dim()), e = normalize_dim(a.get<int64_t>("end_dim"), t.dim());
  TERRA_CHECK(s <= e, Runtime, "flatten() has invalid args: start_dim cannot come after end_dim");
  Shape target;
  for (int64_t d = 0; d < s; ++d) target.push_back(t.shape()[d]);
  int64_t merged = 1;
  for (int64_t d = s; d <= e; ++d) merged *= t.shape()[d];
  target.push_back(merged);
  for (int64_t d = e + 1; d < t.dim(); ++d) target.push_back(t.shape()[d]);
  auto st = view_strides(t.shape(), t.strides(), target);
  // Not viewable: the kernel copies (strides left empty tells it so).
  return {target, st ? *st : Strides{}, t.offset()};
}

ViewSpec narrow(const Tensor& t, const Attrs& a) {
  TERRA_CHECK(t.dim() > 0, Runtime, "narrow() cannot be applied to a 0-dim tensor.");
  int64_t d = normalize_dim(a.get<int64_t>("dim"), t.dim());
  int64_t size = t.shape()[d], start = a.get<int64_t>("start"), length = a.get<int64_t>("length");
  TERRA_CHECK(start >= -size && start <= size, Index, "start out of range (expected to be in range of [", -size, ", ",
              size, "], but got ", start, ")");
  if (start < 0) start += size;
  TERRA_CHECK(length >= 0 && start + length <= size, Runtime, "start (", start, ") + length (", length,
              ") exceeds dimension size (", size, ").");
  ViewSpec v{t.shape(), t.strides(), t.offset() + start * t.strides()[d]};
  v.shape[d] = length;
  return v;
}

ViewSpec slice(const Tensor& t, const Attrs& a) {
  TERRA_CHECK(t.dim() > 0, Index, "slice() cannot be applied to a 0-dim tensor.");
  int64_t d = normalize_dim(a.get<int64_t>("dim"), t.dim());
  int64_t size = t.shape()[d], step = a.get<int64_t>("step");
  TERRA_CHECK(step > 0, Value, "slice step must be positive");
  int64_t start = a.opt<int64_t>("start").value_or(0), end = a.opt<int64_t>("end").value_or(size);
  // Python slice semantics: negative from the end, then clamped to [0, size].
  if (start < 0) start += size;
  if (end < 0) end += size;
  start = std::clamp<int64_t>(start, 0, size);
  end = std::clamp<int64_t>(end, start, size);
  ViewSpec v{t.shape(), t.strides(), t.offset() + start * t.strides()[d]};
  v.shape[d] = (end - start + step - 1) / step;
  v.strides[d] = t.strides()[d] * step;
  return v;
}

ViewSpec select(const Tensor& t, const Attrs& a) {
  TERRA_CHECK(t.dim() > 0, Index, "select() cannot be applied to a 0-dim tensor.");
  int64_t d = normalize_dim(a.get<int64_t>("dim"), t.dim());
  int64_t size = t.shape()[d], index = a.get<int64_t>("index");
  TERRA_CHECK(index >= -size && index < size, Index, "index ", index, " is out of bounds for dimension ", d,
              " with size ", size);
  if (index < 0) index += size;
  ViewSpec v{t.shape(), t.strides(), t.offset() + index * t.strides()[d]};
  v.shape.erase(v.shape.begin() + d);
  v.strides.erase(v.strides.begin() + d);
  return v;
}

ViewSpec as_strided(const Tensor& t, const Attrs& a) {
  const auto& size = a.get<std::vector<int64_t>>("size");
  const auto& stride = a.get<std::vector<int64_t>>("stride");
  TERRA_CHECK(size.size() == stride.size(), Runtime, "mismatch in length of strides and shape");
  int64_t offset = a.opt<int64_t>("storage_offset").value_or(t.offset());
  int64_t last = offset;
  for (size_t i = 0; i < size.size(); ++i) {
    TERRA_CHECK(size[i] >= 0 && stride[i] >= 0, Runtime, "as_strided: negative size or stride");
    if (size[i] > 0) last += (size[i] - 1) * stride[i];
  }
  int64_t capacity = static_cast<int64_t>(t.storage()->nbytes() / t.itemsize());
  TERRA_CHECK(shape_numel(size) == 0 || last < capacity, Runtime, "setStorage: sizes ", shape_str(size), ", strides ",
              shape_str(stride), ", storage offset ", offset, " require more than the storage's ", capacity,
              " elements");
  return {size, stride, offset};
}

ViewSpec alias(const Tensor& t, const Attrs&) { return {t.shape(), t.strides(), t.offset()}; }

namespace {

template <ViewSpec (*F)(const Tensor&, const Attrs&)>
void view_kernel(KernelCall& c) {
  ViewSpec v = F(c.inputs[0], c.attrs);
  c.outputs = {c.inputs[0].as_strided(v.shape, v.strides, v.offset)};
}

// flatten and reshape alias when the layout allows it and copy otherwise, as in PyTorch.
void copy_into_new(KernelCall& c, const Shape& shape) {
  const Tensor& x = c.inputs[0];
  KernelCall inner{"contiguous", {x}, {}, {}};
  find_kernel("contiguous", x.device().type)(inner);
  Tensor y = inner.outputs[0];
  c.outputs = {y.as_strided(shape, contiguous_strides(shape), y.offset())};
}

void flatten_kernel(KernelCall& c) {
  ViewSpec v = flatten(c.inputs[0], c.attrs);
  if (v.strides.size() == v.shape.size()) c.outputs = {c.inputs[0].as_strided(v.shape, v.strides, v.offset)};
  else copy_into_new(c, v.shape);
}

void reshape_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  Shape target = infer_size(c.attrs.get<std::vector<int64_t>>("shape"), x.numel());
  if (auto st = view_strides(x.shape(), x.strides(), target)) c.outputs = {x.as_strided(target, *st, x.offset())};
  else copy_into_new(c, target);
}

}  // namespace

#define TERRA_VIEW_KERNEL(name, fn)     \
  TERRA_KERNEL(name, CPU, fn);          \
  TERRA_KERNEL(name, CUDA, fn)

TERRA_VIEW_KERNEL(view, view_kernel<view>);
TERRA_VIEW_KERNEL(permute, view_kernel<permute>);
TERRA_VIEW_KERNEL(transpose, view_kernel<transpose>);
TERRA_VIEW_KERNEL(expand, view_kernel<expand>);
TERRA_VIEW_KERNEL(squeeze, view_kernel<squeeze>);
TERRA_VIEW_KERNEL(unsqueeze, view_kernel<unsqueeze>);
TERRA_VIEW_KERNEL(narrow, view_kernel<narrow>);
TERRA_VIEW_KERNEL(slice, view_kernel<slice>);
TERRA_VIEW_KERNEL(select, view_kernel<select>);
TERRA_VIEW_KERNEL(as_strided, view_kernel<as_strided>);
TERRA_VIEW_KERNEL(alias, view_kernel<alias>);
TERRA_VIEW_KERNEL(flatten, flatten_kernel);
TERRA_VIEW_KERNEL(reshape, reshape_kernel);

}  // namespace terra::views
