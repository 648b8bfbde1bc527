// Registry entries of the losses: nll_loss and cross_entropy over class indices ([N, C, d...] or
// [C] input) or, for cross_entropy, class probabilities; the pointwise regression losses (which
// broadcast target against input like PyTorch); the binary cross-entropies. Checks and messages
// follow PyTorch 1.13 and fire in its order (one simplification: every input of 3 or more dims
// gets nll_loss_nd's "Expected target size" message, where PyTorch's 4-d nll_loss2d words it
// differently).
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"
#include "kernels/common/loss_math.hpp"

namespace terra {
namespace {

using math::Reduction;

Reduction reduction_of(const Attrs& attrs) { return math::parse_reduction(attrs.get<std::string>("reduction")); }

// One output: the per-element shape for reduction='none', else a 0-d tensor.
Inferred loss_output(const Shape& none_shape, Reduction r, DType dtype, Device device) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{r == Reduction::None ? none_shape : Shape{}, dtype, device});
  return inf;
}

void require_floating_input(const char* op, DType dt) {
  TERRA_CHECK(is_floating(dt), Runtime, "\"", op, "\" not implemented for '", dtype_name(dt), "'");
}

int64_t class_dim_size(const Tensor& self) { return self.size(self.dim() == 1 ? 0 : 1); }

void check_class_weight(const Tensor& weight, int64_t classes, const char* prefix) {
  if (!weight.defined()) return;
  TERRA_CHECK(weight.dim() == 1 && weight.numel() == classes, Runtime, prefix,
              "weight tensor should be defined either for all ", classes,
              " classes or no classes but got weight tensor of shape: ", shape_str(weight.shape()));
}

// Loss shape for reduction='none' of self [C] / [N, C] / [N, C, d...] with class-index targets
// [] / [N] / [N, d...] (PyTorch's nll_loss_nd checks).
Shape class_index_shape(const Tensor& self, const Tensor& target, const Tensor& weight) {
  TERRA_CHECK(self.dim() >= 1, Value, "Expected 1 or more dimensions (got 0)");
  if (self.dim() >= 2 && target.dim() >= 1)
    TERRA_CHECK(self.size(0) == target.size(0), Value, "Expected input batch_size (", self.size(0),
                ") to match target batch_size (", target.size(0), ").");
  Shape none_shape;
  if (self.dim() <= 2) {
    TERRA_CHECK(target.dim() <= 1, Runtime, "0D or 1D target tensor expected, multi-target not supported");
    const bool no_batch = self.dim() == 1 && target.dim() == 0;
    TERRA_CHECK(no_batch || (self.dim() == 2 && target.dim() == 1), Runtime, "size mismatch (got input: ",
                shape_str(self.shape()), ", target: ", shape_str(target.shape()), ")");
    if (self.dim() == 2) none_shape = {self.size(0)};
  } else {
    none_shape = self.shape();
    none_shape.erase(none_shape.begin() + 1);
    TERRA_CHECK(target.shape() == none_shape, Runtime, "Expected target size ", shape_str(none_shape), ", got ",
                shape_str(target.shape()));
  }
  check_class_weight(weight, class_dim_size(self), "");
  return none_shape;
}

void check_class_index_dtypes(const char* op, const Tensor& self, const Tensor& target, const Tensor& weight) {
  require_floating_input(op, self.dtype());
  TERRA_CHECK(target.dtype() == DType::Int64, Runtime, "expected scalar type int64 but found ",
              dtype_name(target.dtype()));
  if (weight.defined())
    TERRA_CHECK(weight.dtype() == self.dtype(), Runtime, "expected scalar type ", dtype_name(self.dtype()),
                " but found ", dtype_name(weight.dtype()));
}

Inferred nll_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  const Shape none_shape = class_index_shape(self, target, weight);
  check_class_index_dtypes("nll_loss", self, target, weight);
  return loss_output(none_shape, r, self.dtype(), self.device());
}

// Class probabilities when target has self's shape (PyTorch's rule), class indices otherwise.
// The kernel tells the two apart by the target's dtype: floating for probabilities.
Inferred cross_entropy_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  const double smoothing = attrs.get<double>("label_smoothing");
  // Only a positive label_smoothing takes effect in PyTorch, so only that is range-checked.
  auto check_smoothing = [&] {
    TERRA_CHECK(smoothing <= 1.0, Runtime, "label_smoothing must be between 0.0 and 1.0. Got: ", smoothing);
  };
  if (self.shape() != target.shape()) {
    check_smoothing();
    require_floating_input("cross_entropy", self.dtype());
    const Shape none_shape = class_index_shape(self, target, weight);
    check_class_index_dtypes("cross_entropy", self, target, weight);
    return loss_output(none_shape, r, self.dtype(), self.device());
  }
  TERRA_CHECK(is_floating(target.dtype()), Runtime,
              "Expected floating point type for target with class probabilities, got ", dtype_name(target.dtype()));
  TERRA_CHECK(attrs.get<int64_t>("ignore_index") < 0, Runtime, "ignore_index is not supported for floating point target");
  TERRA_CHECK(self.dim() >= 1, Index, "Dimension out of range (expected to be in range of [-1, 0], but got 1)");
  check_class_weight(weight, class_dim_size(self), "cross_entropy: ");
  require_floating_input("cross_entropy", self.dtype());
  check_smoothing();
  Shape none_shape = self.shape();
  none_shape.erase(none_shape.begin() + (self.dim() == 1 ? 0 : 1));
  const DType dt = promote_types(self.dtype(), target.dtype());
  Inferred inf = loss_output(none_shape, r, dt, self.device());
  inf.input_dtypes = {dt, dt, dt};
  return inf;
}

// mse_loss, l1_loss, smooth_l1_loss: target broadcasts against self, both take the promoted type.
enum class IntegerLoss { Rejected, UnlessMean };

Inferred regression(const char* op, IntegerLoss integers, const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const DType dt = rules::result_type(in);
  DType out = dt;
  if (integers == IntegerLoss::UnlessMean && !is_floating(dt)) {
    TERRA_CHECK(dt != DType::Bool, Runtime,
                "Subtraction, the `-` operator, with two bool tensors is not supported. Use the `^` or "
                "`logical_xor()` operator instead.");
    TERRA_CHECK(r != Reduction::Mean, Runtime,
                "mean(): could not infer output dtype. Input dtype must be either a floating point or complex "
                "dtype. Got: ",
                dtype_name(dt));
    if (r == Reduction::Sum) out = DType::Int64;  // integer sums are int64, as in PyTorch
  } else {
    require_floating_input(op, dt);
  }
  Inferred inf = loss_output(rules::broadcast_all(in), r, out, rules::common_device(in));
  inf.input_dtypes = {dt, dt};
  return inf;
}

Inferred mse_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  return regression("mse_loss", IntegerLoss::Rejected, in, attrs);
}

Inferred l1_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  return regression("l1_loss", IntegerLoss::UnlessMean, in, attrs);
}

Inferred smooth_l1_loss_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  reduction_of(attrs);
  TERRA_CHECK(attrs.get<double>("beta") >= 0, Runtime, "smooth_l1_loss does not support negative values for beta.");
  return regression("smooth_l1_loss", IntegerLoss::Rejected, in, attrs);
}

// `weight` must broadcast to `shape` without growing it (PyTorch multiplies the loss in place).
void check_broadcasts_into(const Tensor& weight, const Shape& shape) {
  if (!weight.defined()) return;
  const Shape b = broadcast_shapes(weight.shape(), shape);
  TERRA_CHECK(b == shape, Runtime, "output with shape ", shape_str(shape), " doesn't match the broadcast shape ",
              shape_str(b));
}

Inferred binary_cross_entropy_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2];
  TERRA_CHECK(target.shape() == self.shape(), Value, "Using a target size (", shape_str(target.shape()),
              ") that is different to the input size (", shape_str(self.shape()),
              ") is deprecated. Please ensure they have the same size.");
  TERRA_CHECK(target.dtype() == self.dtype(), Runtime, "Found dtype ", dtype_name(target.dtype()), " but expected ",
              dtype_name(self.dtype()));
  require_floating_input("binary_cross_entropy", self.dtype());
  check_broadcasts_into(weight, self.shape());
  Inferred inf = loss_output(self.shape(), r, self.dtype(), self.device());
  inf.input_dtypes = {self.dtype(), self.dtype(), self.dtype()};
  return inf;
}

Inferred binary_cross_entropy_with_logits_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Reduction r = reduction_of(attrs);
  const Tensor &self = in[0], &target = in[1], &weight = in[2], &pos_weight = in[3];
  TERRA_CHECK(target.shape() == self.shape(), Value, "Target size (", shape_str(target.shape()),
              ") must be the same as input size (", shape_str(self.shape()), ")");
  for (const Tensor& t : {self, target}) require_floating_input("binary_cross_entropy_with_logits", t.dtype());
  const DType dt = promote_types(self.dtype(), target.dtype());
  // pos_weight broadcasts with the loss (it may add leading dims); weight then scales it in place.
  const Shape shape = pos_weight.defined() ? broadcast_shapes(self.shape(), pos_weight.shape()) : self.shape();
  check_broadcasts_into(weight, shape);
  Inferred inf = loss_output(shape, r, dt, self.device());
  inf.input_dtypes = {dt, dt, dt, dt};
  return inf;
}

TERRA_OP("nll_loss(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\", int ignore_index=-100) "
         "-> Tensor")
    .infer(nll_loss_rule);
TERRA_OP("cross_entropy(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\", "
         "int ignore_index=-100, float label_smoothing=0.0) -> Tensor")
    .infer(cross_entropy_rule);
TERRA_OP("mse_loss(Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(mse_loss_rule);
TERRA_OP("l1_loss(Tensor self, Tensor target, str reduction=\"mean\") -> Tensor")
    .infer(l1_loss_rule);
TERRA_OP("smooth_l1_loss(Tensor self, Tensor target, str reduction=\"mean\", float beta=1.0) -> Tensor")
    .infer(smooth_l1_loss_rule);
TERRA_OP("binary_cross_entropy(Tensor self, Tensor target, Tensor? weight=None, str reduction=\"mean\") -> Tensor")
    .infer(binary_cross_entropy_rule);
TERRA_OP("binary_cross_entropy_with_logits(Tensor self, Tensor target, Tensor? weight=None, "
         "Tensor? pos_weight=None, str reduction=\"mean\") -> Tensor")
    .infer(binary_cross_entropy_with_logits_rule);

}  // namespace
}  // namespace terra
