// Registry entries of embedding and its backward. embedding: rows of a 2-D weight gathered by an
// int64 or int32 index tensor of any shape, giving indices.shape + [embedding_dim]. padding_idx,
// scale_grad_by_freq and sparse only shape the gradient, so the forward pass ignores them (as
// PyTorch's does). The weight's gradient is embedding_backward, a dedicated op because it runs
// every step of a language model: the gradient rows summed per weight row in one pass, the
// padding row left at zero, each row divided by its index's count with scale_grad_by_freq. The
// gradient is always dense (sparse=True is accepted and ignored).
#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"
#include "kernels/common/embedding_rows.hpp"

namespace terra {
namespace {

void check_indices(const Tensor& indices, const char* op) {
  TERRA_CHECK(indices.dtype() == DType::Int64 || indices.dtype() == DType::Int32, Runtime,
              "Expected tensor for argument #1 'indices' to have one of the following scalar types: int64, int32; "
              "but got ",
              dtype_name(indices.dtype()), " instead (while checking arguments for ", op, ")");
}

Inferred embedding_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &weight = in[0], &indices = in[1];
  TERRA_CHECK(weight.dim() == 2, Runtime, "'weight' must be 2-D");
  check_indices(indices, "embedding");
  Shape shape = indices.shape();
  shape.push_back(weight.shape()[1]);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, weight.dtype(), weight.device()});
  return inf;
}

Inferred embedding_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor &grad = in[0], &indices = in[1];
  check_indices(indices, "embedding_backward");
  TERRA_CHECK(is_floating(grad.dtype()), Runtime, "embedding_backward: expected a floating point grad, but got ",
              dtype_name(grad.dtype()));
  Shape rows = grad.shape();
  TERRA_CHECK(!rows.empty(), Runtime, "embedding_backward: grad must have at least one dim");
  const int64_t dim = rows.back();
  rows.pop_back();
  TERRA_CHECK(rows == indices.shape(), Runtime, "embedding_backward: grad of shape ", shape_str(grad.shape()),
              " does not match indices of shape ", shape_str(indices.shape()), " (expected indices.shape + [dim])");
  const int64_t num_weights = attrs.get<int64_t>("num_weights");
  TERRA_CHECK(num_weights >= 0, Runtime, "embedding_backward: num_weights must be non-negative, got ", num_weights);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{{num_weights, dim}, grad.dtype(), grad.device()});
  return inf;
}

TensorList embedding_grad(const GradContext& c) {
  return {call1("embedding_backward", {c.grad(), c.input(1)},
                {{"num_weights", c.input_shape(0)[0]},
                 {"padding_idx", c.attrs["padding_idx"]},
                 {"scale_grad_by_freq", c.attrs["scale_grad_by_freq"]}}),
          Tensor()};
}

// embedding_backward is linear in grad: its gradient gathers the rows back, zero for the padding
// row and divided by the index's count where the forward divided.
TensorList embedding_backward_grad(const GradContext& c) {
  const Tensor& gg = c.grad();
  const Tensor& indices = c.input(1);
  Tensor r = call1("embedding", {gg, indices});
  if (c.attrs.get<bool>("scale_grad_by_freq")) {
    Shape ones_shape = indices.shape();
    ones_shape.push_back(1);
    Tensor ones = grad::ones(ones_shape, gg);
    Tensor counts = call1("embedding_backward", {ones, indices}, {{"num_weights", c.attrs["num_weights"]}});
    r = call1("div", {r, call1("embedding", {counts, indices})});
  }
  const int64_t padding_idx = c.attrs.get<int64_t>("padding_idx");
  if (padding_idx >= 0 && padding_idx < c.attrs.get<int64_t>("num_weights")) {
    Tensor pad = call1("eq", {indices, Tensor::wrap_scalar(static_cast<double>(padding_idx), DType::Int64)});
    r = call1("masked_fill", {r, call1("unsqueeze", {pad}, {{"dim", -1}})}, {{"value", Scalar(0.0)}});
  }
  return {r, Tensor()};
}

// The kernels' index check, run early by deferred execution.
void check_embedding_indices(const std::vector<Tensor>& in, const Attrs&) {
  if (const int64_t* indices = rules::int64s_at_hand(in[1]))
    embedding_rows::check_indices(indices, in[1].numel(), in[0].shape().at(0));
}

TERRA_OP("embedding(Tensor weight, Tensor indices, int padding_idx=-1, bool scale_grad_by_freq=False, "
         "bool sparse=False) -> Tensor")
    .infer(embedding_rule)
    .check_data(check_embedding_indices)
    .grad(embedding_grad, SaveSet::only_inputs({1}));
// The weight's gradient, [num_weights, grad.shape[-1]]: row w sums the grad rows whose index is w
// (scaled by 1 / count of w with scale_grad_by_freq); no row gets anything from padding_idx.
TERRA_OP("embedding_backward(Tensor grad, Tensor indices, int num_weights, int padding_idx=-1, "
         "bool scale_grad_by_freq=False) -> Tensor")
    .infer(embedding_backward_rule)
    .grad(embedding_backward_grad, SaveSet::only_inputs({1}));

}  // namespace
}  // namespace terra
