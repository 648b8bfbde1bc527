// Registry entries of the shape ops: cat (type promotion across inputs, PyTorch's legacy empty
// 1-D tensors skipped), stack, split and chunk (views of the input, like PyTorch), tril/triu,
// repeat, flip and roll. stack, split and chunk are composites: their kernels here call
// unsqueeze + cat and narrow through the dispatcher; the others have CPU kernels in
// kernels/cpu/shape_ops.cpp. Every gradient here only moves elements of the output gradient
// back: slices of it (cat, stack), a cat of the pieces' gradients (split, chunk), the same op
// again (tril, triu, flip, roll) or a sum over the repeated blocks (repeat).
#include <algorithm>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"

namespace terra {
namespace {

using IntList = std::vector<int64_t>;

Inferred single(const Shape& shape, const Tensor& like) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, like.dtype(), like.device()});
  return inf;
}

// torch.cat skips 1-D tensors with no elements whatever the other tensors' shapes (a leftover of
// PyTorch's old "empty" tensors); they still take part in type promotion.
bool is_legacy_empty(const Tensor& t) { return t.dim() == 1 && t.numel() == 0; }

Inferred cat_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  TERRA_CHECK(!in.empty(), Runtime, "torch.cat(): expected a non-empty list of Tensors");
  const Tensor* ref = nullptr;
  for (size_t i = 0; i < in.size(); ++i) {
    TERRA_CHECK(in[i].dim() > 0, Runtime, "zero-dimensional tensor (at position ", i, ") cannot be concatenated");
    if (!ref && !is_legacy_empty(in[i])) ref = &in[i];
  }
  const DType dtype = rules::result_type(in);
  Shape shape{0};
  if (ref) {
    const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), ref->dim());
    shape = ref->shape();
    shape[dim] = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const Tensor& t = in[i];
      if (is_legacy_empty(t)) continue;
      TERRA_CHECK(t.dim() == ref->dim(), Runtime, "Tensors must have same number of dimensions: got ", ref->dim(),
                  " and ", t.dim());
      for (int64_t d = 0; d < t.dim(); ++d)
        TERRA_CHECK(d == dim || t.shape()[d] == ref->shape()[d], Runtime,
                    "Sizes of tensors must match except in dimension ", dim, ". Expected size ", ref->shape()[d],
                    " but got size ", t.shape()[d], " for tensor number ", i, " in the list.");
      shape[dim] += t.shape()[dim];
    }
  }
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, dtype, rules::common_device(in)});
  inf.input_dtypes.assign(in.size(), dtype);
  return inf;
}

Inferred stack_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  TERRA_CHECK(!in.empty(), Runtime, "stack expects a non-empty TensorList");
  for (size_t i = 1; i < in.size(); ++i)
    TERRA_CHECK(in[i].shape() == in[0].shape(), Runtime, "stack expects each tensor to be equal size, but got ",
                shape_str(in[0].shape()), " at entry 0 and ", shape_str(in[i].shape()), " at entry ", i);
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), in[0].dim() + 1);
  Shape shape = in[0].shape();
  shape.insert(shape.begin() + dim, static_cast<int64_t>(in.size()));
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, rules::result_type(in), rules::common_device(in)});
  return inf;
}

void stack_kernel(KernelCall& c) {
  const int64_t dim = c.attrs.get<int64_t>("dim");
  std::vector<Tensor> parts;
  for (const Tensor& t : c.inputs) parts.push_back(call1("unsqueeze", {t}, {{"dim", dim}}));
  c.outputs = {call1("cat", parts, {{"dim", dim}})};
}

// The piece sizes of split: one number is a piece size (the last piece may be smaller), a list
// gives every size. A one-element list therefore reads as a piece size, where PyTorch's
// split_with_sizes would require it to equal the dim's size.
IntList split_sizes(const Tensor& self, int64_t dim, const IntList& split_size) {
  TERRA_CHECK(self.dim() > 0, Runtime, "split expects at least a 1-dimensional tensor");
  const int64_t size = self.shape()[dim];
  if (split_size.size() == 1) {
    const int64_t s = split_size[0];
    TERRA_CHECK(s >= 0, Runtime, "split expects split_size be non-negative, but got split_size=", s);
    TERRA_CHECK(s > 0 || size == 0, Runtime,
                "split_size can only be 0 if dimension size is 0, but got dimension size of ", size);
    const int64_t pieces = s == 0 ? 1 : std::max<int64_t>((size + s - 1) / s, 1);
    IntList sizes(pieces, s);
    sizes.back() = size - s * (pieces - 1);
    return sizes;
  }
  int64_t sum = 0;
  for (int64_t s : split_size) {
    TERRA_CHECK(s >= 0, Runtime,
                "split_with_sizes expects split_sizes have only non-negative entries, but got split_sizes=",
                shape_str(split_size));
    sum += s;
  }
  TERRA_CHECK(sum == size, Runtime, "split_with_sizes expects split_sizes to sum exactly to ", size,
              " (input tensor's size at dimension ", dim, "), but got split_sizes=", shape_str(split_size));
  return split_size;
}

// PyTorch's chunk: pieces of ceil(size / chunks), so there may be fewer than `chunks` pieces.
IntList chunk_sizes(const Tensor& self, int64_t dim, int64_t chunks) {
  TERRA_CHECK(self.dim() > 0, Runtime, "chunk expects at least a 1-dimensional tensor");
  TERRA_CHECK(chunks > 0, Runtime, "chunk expects `chunks` to be greater than 0, got: ", chunks);
  const int64_t size = self.shape()[dim], piece = (size + chunks - 1) / chunks;
  // An empty dim still gives `chunks` empty pieces.
  if (piece == 0) return IntList(chunks, 0);
  return split_sizes(self, dim, {piece});
}

Inferred pieces_rule(const Tensor& self, int64_t dim, const IntList& sizes) {
  Inferred inf;
  inf.outputs.reserve(sizes.size());
  for (int64_t s : sizes) {
    Shape shape = self.shape();
    shape[dim] = s;
    inf.outputs.push_back(TensorMeta{std::move(shape), self.dtype(), self.device()});
  }
  return inf;
}

Inferred split_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), in[0].dim());
  return pieces_rule(in[0], dim, split_sizes(in[0], dim, attrs.get<IntList>("split_size")));
}

Inferred chunk_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const int64_t dim = normalize_dim(attrs.get<int64_t>("dim"), in[0].dim());
  return pieces_rule(in[0], dim, chunk_sizes(in[0], dim, attrs.get<int64_t>("chunks")));
}

void split_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  int64_t start = 0;
  for (int64_t s : split_sizes(self, dim, c.attrs.get<IntList>("split_size"))) {
    c.outputs.push_back(call1("narrow", {self}, {{"dim", dim}, {"start", start}, {"length", s}}));
    start += s;
  }
}

void chunk_kernel(KernelCall& c) {
  const Tensor& self = c.inputs[0];
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), self.dim());
  const IntList sizes = chunk_sizes(self, dim, c.attrs.get<int64_t>("chunks"));
  c.outputs = call("split", {self}, {{"split_size", sizes}, {"dim", dim}});
}

Inferred triangle_rule(const std::vector<Tensor>& in, const Attrs&) {
  normalize_dim(-2, in[0].dim());  // a matrix or a batch of them: PyTorch's own error otherwise
  return single(in[0].shape(), in[0]);
}

Inferred repeat_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const IntList& repeats = attrs.get<IntList>("repeats");
  TERRA_CHECK(static_cast<int64_t>(repeats.size()) >= self.dim(), Runtime,
              "Number of dimensions of repeat dims can not be smaller than number of dimensions of tensor");
  const int64_t pad = static_cast<int64_t>(repeats.size()) - self.dim();
  Shape shape(repeats.size());
  for (int64_t d = 0; d < static_cast<int64_t>(repeats.size()); ++d)
    shape[d] = repeats[d] * (d < pad ? 1 : self.shape()[d - pad]);
  for (int64_t s : shape)
    TERRA_CHECK(s >= 0, Runtime, "Trying to create tensor with negative dimension ", s, ": ", shape_str(shape));
  return single(shape, self);
}

Inferred flip_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const IntList& dims = attrs.get<IntList>("dims");
  if (!dims.empty()) normalize_dims(dims, in[0].dim());  // an empty list flips nothing
  return single(in[0].shape(), in[0]);
}

Inferred roll_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& self = in[0];
  const IntList& shifts = attrs.get<IntList>("shifts");
  const IntList& dims = attrs.get<IntList>("dims");
  TERRA_CHECK(!shifts.empty(), Runtime, "`shifts` required");
  TERRA_CHECK(shifts.size() == (dims.empty() ? 1 : dims.size()), Runtime, "shifts and dimensions must align. shifts: ",
              shifts.size(), ", dims:", dims.size());
  if (!dims.empty()) {
    TERRA_CHECK(self.dim() > 0, Index, "Dimension specified as ", dims[0], " but tensor has no dimensions");
    for (int64_t d : dims) normalize_dim(d, self.dim());
  }
  return single(self.shape(), self);
}

// ---- gradients ----

// Each input's part of the output gradient: a slice along `dim` (the inputs were converted to
// the common dtype before the call, so the engine casts back through to_dtype's own node).
TensorList cat_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  TensorList r(c.num_inputs());
  int64_t start = 0;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    const Shape& s = c.input_shape(i);
    if (s.size() == 1 && s[0] == 0) {  // a legacy empty input (or an empty piece of a 1-D cat)
      if (c.needs(i)) r[i] = grad::zeros(s, g);
      continue;
    }
    const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), g.dim());
    if (c.needs(i)) r[i] = call1("narrow", {g}, {{"dim", dim}, {"start", start}, {"length", s[dim]}});
    start += s[dim];
  }
  return r;
}

TensorList stack_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), g.dim());
  TensorList r(c.num_inputs());
  for (size_t i = 0; i < c.num_inputs(); ++i)
    if (c.needs(i)) r[i] = call1("select", {g}, {{"dim", dim}, {"index", static_cast<int64_t>(i)}});
  return r;
}

// split and chunk: the pieces' gradients side by side (the engine gives zeros to pieces that
// received none).
TensorList pieces_grad(const GradContext& c) {
  const int64_t dim = normalize_dim(c.attrs.get<int64_t>("dim"), static_cast<int64_t>(c.input_shape(0).size()));
  return {call1("cat", c.grads, {{"dim", dim}})};
}

// The output splits into blocks shaped like the (left-padded) input: reshape each dim d to
// [repeats[d], size[d]] and sum over the repeat dims.
TensorList repeat_grad(const GradContext& c) {
  const IntList& repeats = c.attrs.get<IntList>("repeats");
  const Shape& in = c.input_shape(0);
  const size_t pad = repeats.size() - in.size();
  IntList blocks, sum_dims;
  for (size_t d = 0; d < repeats.size(); ++d) {
    if (repeats[d] != 1) {
      sum_dims.push_back(static_cast<int64_t>(blocks.size()));
      blocks.push_back(repeats[d]);
    }
    blocks.push_back(d < pad ? 1 : in[d - pad]);
  }
  Tensor g = c.grad();
  if (!sum_dims.empty())
    g = call1("sum", {call1("reshape", {g}, {{"shape", blocks}})}, {{"dim", sum_dims}, {"keepdim", false}});
  return {call1("reshape", {g}, {{"shape", grad::dims_of(in)}})};
}

TensorList roll_grad(const GradContext& c) {
  IntList shifts = c.attrs.get<IntList>("shifts");
  for (int64_t& s : shifts) s = -s;
  return {call1("roll", {c.grad()}, {{"shifts", shifts}, {"dims", c.attrs["dims"]}})};
}

// tril, triu and flip: the gradient goes through the same op.
GradFn same_op_grad(const char* op, const char* attr) {
  return [op, attr](const GradContext& c) -> TensorList { return {call1(op, {c.grad()}, {{attr, c.attrs[attr]}})}; };
}

}  // namespace

TERRA_OP("cat(Tensor[] tensors, int dim=0) -> Tensor").infer(cat_rule).grad(cat_grad, SaveSet::none());
TERRA_OP("stack(Tensor[] tensors, int dim=0) -> Tensor")
    .infer(stack_rule)
    .makes_outputs()
    .grad(stack_grad, SaveSet::none());
TERRA_COMPOSITE_KERNEL(stack, stack_kernel);
// split(x, 2) cuts pieces of 2; split(x, [1, 4]) pieces of 1 and 4 (PyTorch's split_with_sizes).
TERRA_OP("split(Tensor self, int[] split_size, int dim=0) -> Tensor[]")
    .infer(split_rule)
    .effect(Effect::View)
    .makes_outputs()
    .grad(pieces_grad, SaveSet::none());
TERRA_COMPOSITE_KERNEL(split, split_kernel);
TERRA_OP("chunk(Tensor self, int chunks, int dim=0) -> Tensor[]")
    .infer(chunk_rule)
    .effect(Effect::View)
    .makes_outputs()
    .grad(pieces_grad, SaveSet::none());
TERRA_COMPOSITE_KERNEL(chunk, chunk_kernel);
TERRA_OP("tril(Tensor self, int diagonal=0) -> Tensor")
    .infer(triangle_rule)
    .grad(same_op_grad("tril", "diagonal"), SaveSet::none());
TERRA_OP("triu(Tensor self, int diagonal=0) -> Tensor")
    .infer(triangle_rule)
    .grad(same_op_grad("triu", "diagonal"), SaveSet::none());
TERRA_OP("repeat(Tensor self, int[] repeats) -> Tensor").infer(repeat_rule).grad(repeat_grad, SaveSet::none());
TERRA_OP("flip(Tensor self, int[] dims) -> Tensor").infer(flip_rule).grad(same_op_grad("flip", "dims"), SaveSet::none());
// dims=[] rolls the flattened tensor and restores its shape.
TERRA_OP("roll(Tensor self, int[] shifts, int[] dims=[]) -> Tensor").infer(roll_rule).grad(roll_grad, SaveSet::none());

}  // namespace terra
