// Registry entry of embedding: rows of a 2-D weight gathered by an int64 or int32 index tensor
// of any shape, giving indices.shape + [embedding_dim]. padding_idx, scale_grad_by_freq and
// sparse only shape the gradient, so the forward pass ignores them (as PyTorch's does).
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

Inferred embedding_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &weight = in[0], &indices = in[1];
  TERRA_CHECK(weight.dim() == 2, Runtime, "'weight' must be 2-D");
  TERRA_CHECK(indices.dtype() == DType::Int64 || indices.dtype() == DType::Int32, Runtime,
              "Expected tensor for argument #1 'indices' to have one of the following scalar types: int64, int32; "
              "but got ",
              dtype_name(indices.dtype()), " instead (while checking arguments for embedding)");
  Shape shape = indices.shape();
  shape.push_back(weight.shape()[1]);
  Inferred inf;
  inf.outputs.push_back(TensorMeta{shape, weight.dtype(), weight.device()});
  return inf;
}

TERRA_OP("embedding(Tensor weight, Tensor indices, int padding_idx=-1, bool scale_grad_by_freq=False, "
         "bool sparse=False) -> Tensor")
    .infer(embedding_rule);

}  // namespace
}  // namespace terra
