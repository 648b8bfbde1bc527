// Registry entries of softmax and log_softmax over one dim. dtype= converts the input first (the
// dispatcher does it from input_dtypes); integer and bool inputs are rejected like PyTorch.
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

InferFn softmax_rule(const char* op) {
  return [op](const std::vector<Tensor>& in, const Attrs& attrs) {
    const Tensor& self = in[0];
    normalize_dim(attrs.get<int64_t>("dim"), self.dim());
    const DType dt = attrs.is_none("dtype") ? self.dtype() : attrs.get<DType>("dtype");
    TERRA_CHECK(is_floating(dt), Runtime, "\"", op, "\" not implemented for '", dtype_name(dt), "'");
    Inferred inf;
    inf.outputs.push_back(TensorMeta{self.shape(), dt, self.device()});
    inf.input_dtypes = {dt};
    return inf;
  };
}

TERRA_OP("softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor").infer(softmax_rule("softmax"));
TERRA_OP("log_softmax(Tensor self, int dim, ScalarType? dtype=None) -> Tensor").infer(softmax_rule("log_softmax"));

}  // namespace
}  // namespace terra
