// Registry entries of the normalization ops: layer_norm, batch_norm and group_norm, with aten's
// native_* signatures (each also returns its statistics), and their backward ops. The shape rules
// raise PyTorch's messages for every bad shape, dtype and argument; the kernels only compute.
#include <string>

#include "engine/dispatch/dispatcher.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

using rules::require_same_dtype;  // parameters (weight, bias, running stats) have the input's dtype

// Float32 and float64 only, as PyTorch's CPU kernels.
void require_floating_input(const Tensor& input, const char* op) {
  TERRA_CHECK(is_floating(input.dtype()), Runtime, "\"", op, "\" not implemented for '", dtype_name(input.dtype()),
              "'");
}

// The channel dim of an (N, C, *) input: PyTorch indexes size(1), so fewer dims is an IndexError.
int64_t channels(const Tensor& input) { return input.shape()[normalize_dim(1, input.dim())]; }

// "[*, 3, 4]": any leading dims followed by `trailing`, as PyTorch writes it.
std::string star_shape(const Shape& trailing) {
  std::string s = "[*";
  for (int64_t d : trailing) s += ", " + std::to_string(d);
  return s + "]";
}

Inferred layer_norm_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor &input = in[0], &weight = in[1], &bias = in[2];
  const Shape& ns = attrs.get<std::vector<int64_t>>("normalized_shape");
  TERRA_CHECK(!ns.empty(), Runtime,
              "Expected normalized_shape to be at least 1-dimensional, i.e., containing at least one element, but "
              "got normalized_shape = ",
              shape_str(ns));
  TERRA_CHECK(!weight.defined() || weight.shape() == ns, Runtime,
              "Expected weight to be of same shape as normalized_shape, but got weight of shape ",
              shape_str(weight.shape()), " and normalized_shape = ", shape_str(ns));
  TERRA_CHECK(!bias.defined() || bias.shape() == ns, Runtime,
              "Expected bias to be of same shape as normalized_shape, but got bias of shape ", shape_str(bias.shape()),
              " and normalized_shape = ", shape_str(ns));
  const Shape& shape = input.shape();
  const size_t lead = shape.size() >= ns.size() ? shape.size() - ns.size() : 0;
  TERRA_CHECK(shape.size() >= ns.size() && Shape(shape.begin() + lead, shape.end()) == ns, Runtime,
              "Given normalized_shape=", shape_str(ns), ", expected input with shape ", star_shape(ns),
              ", but got input of size", shape_str(shape));
  require_floating_input(input, "layer_norm");
  require_same_dtype(weight, input);
  require_same_dtype(bias, input);
  // mean and rstd keep the normalized dims as 1s, as aten's native_layer_norm.
  Shape stat_shape(shape.begin(), shape.begin() + lead);
  stat_shape.resize(shape.size(), 1);
  Inferred inf;
  inf.outputs = {TensorMeta{shape, input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()}};
  return inf;
}

Inferred batch_norm_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor& input = in[0];
  const int64_t c = channels(input);
  const bool training = attrs.get<bool>("training");
  if (training) {
    // torch.nn.functional.batch_norm's check: the variance of a single value is undefined.
    const int64_t per_channel = c == 0 ? 0 : input.numel() / c;
    TERRA_CHECK(per_channel != 1, Value, "Expected more than 1 value per channel when training, got input size ",
                shape_str(input.shape()));
  }
  const char* params[] = {"weight", "bias", "running_mean", "running_var"};  // inputs 1..4
  for (size_t i = 1; i < 5; ++i)
    TERRA_CHECK(!in[i].defined() || in[i].numel() == c, Runtime, params[i - 1], " should contain ", c,
                " elements not ", in[i].numel());
  TERRA_CHECK(training || in[3].defined(), Runtime, "running_mean must be defined in evaluation mode");
  TERRA_CHECK(training || in[4].defined(), Runtime, "running_var must be defined in evaluation mode");
  require_floating_input(input, "batch_norm");
  for (size_t i = 1; i < 5; ++i) require_same_dtype(in[i], input);
  // Eval mode saves no statistics (empty, as aten's CPU native_batch_norm): the gradient uses the
  // running ones.
  const Shape stat_shape{training ? c : 0};
  Inferred inf;
  inf.outputs = {TensorMeta{input.shape(), input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()}};
  return inf;
}

Inferred group_norm_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Tensor &input = in[0], &weight = in[1], &bias = in[2];
  const int64_t c = channels(input);
  const int64_t groups = attrs.get<int64_t>("num_groups");
  TERRA_CHECK(groups > 0, Runtime, "Expected num groups to be greater than 0, got ", groups);
  TERRA_CHECK(c % groups == 0, Runtime,
              "Expected number of channels in input to be divisible by num_groups, but got input of shape ",
              shape_str(input.shape()), " and num_groups=", groups);
  TERRA_CHECK(!weight.defined() || (weight.dim() == 1 && weight.numel() == c), Runtime,
              "Expected weight to be a vector of size equal to the number of channels in input, but got weight of "
              "shape ",
              shape_str(weight.shape()), " and input of shape ", shape_str(input.shape()));
  TERRA_CHECK(!bias.defined() || (bias.dim() == 1 && bias.numel() == c), Runtime,
              "Expected bias to be a vector of size equal to the number of channels in input, but got bias of shape ",
              shape_str(bias.shape()), " and input of shape ", shape_str(input.shape()));
  require_floating_input(input, "group_norm");
  require_same_dtype(weight, input);
  require_same_dtype(bias, input);
  const Shape stat_shape{input.shape()[0], groups};
  Inferred inf;
  inf.outputs = {TensorMeta{input.shape(), input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()},
                 TensorMeta{stat_shape, input.dtype(), input.device()}};
  return inf;
}

// --- gradients ---
// Each op's gradient is one backward op computing grad_input, grad_weight and grad_bias together
// from grad_output, the input and the weight; the statistics are recomputed there, in the pass
// that reads the input anyway (kernels/cpu/normalization.cpp), so the forward keeps no output:
// outputs saved for backward would make an in-place op on the normalized output (BatchNorm then
// ReLU(inplace=True)) fail the version check.

// A backward op's rule: the forward's rule checks input, weight and the statistics' inputs
// (operands, laid out as the forward's tensors), grad_output must have the input's shape;
// grad_weight and grad_bias have `param_shape`.
Inferred backward_outputs(const std::vector<Tensor>& in, const Inferred& forward, const Shape& param_shape) {
  const Tensor &grad = in[0], &input = in[1];
  TERRA_CHECK(grad.shape() == input.shape(), Runtime, "grad_output of shape ", shape_str(grad.shape()),
              " does not match input of shape ", shape_str(input.shape()));
  const TensorMeta& out = forward.outputs[0];
  Inferred inf;
  inf.outputs = {out, TensorMeta{param_shape, out.dtype, out.device}, TensorMeta{param_shape, out.dtype, out.device}};
  inf.input_dtypes.assign(in.size(), out.dtype);
  return inf;
}

Inferred layer_norm_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Inferred f = layer_norm_rule({in[1], in[2], Tensor()}, attrs);
  return backward_outputs(in, f, attrs.get<std::vector<int64_t>>("normalized_shape"));
}

Inferred batch_norm_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Inferred f = batch_norm_rule({in[1], in[2], Tensor(), in[3], in[4]}, attrs);
  return backward_outputs(in, f, {channels(in[1])});
}

Inferred group_norm_backward_rule(const std::vector<Tensor>& in, const Attrs& attrs) {
  const Inferred f = group_norm_rule({in[1], in[2], Tensor()}, attrs);
  return backward_outputs(in, f, {channels(in[1])});
}

// The backward op's results for the inputs that need them (input 0, weight 1, bias 2).
TensorList wanted(const GradContext& c, const std::vector<Tensor>& grads) {
  TensorList out(c.num_inputs());
  for (size_t i = 0; i < 3; ++i)
    if (c.needs(i)) out[i] = grads[i];
  return out;
}

TensorList layer_norm_grad(const GradContext& c) {
  return wanted(c, call("layer_norm_backward", {c.grad(0), c.input(0), c.input(1)},
                        {{"normalized_shape", c.attrs["normalized_shape"]}, {"eps", c.attrs["eps"]}}));
}

// Note [Running statistics are not saved]
// batch_norm's gradient reads the running statistics in eval mode only, and they are saved for
// it then. A training-mode call writes them (bumping their version): a saved copy would fail the
// version check of every graph but the last when a model runs forward twice before backward (two
// views of a batch, a GAN's real and fake passes), so training mode saves none (SaveSet::
// except_when) and the backward op gets undefined tensors in their place.
TensorList batch_norm_grad(const GradContext& c) {
  const bool training = c.attrs.get<bool>("training");
  const Tensor running_mean = training ? Tensor() : c.input(3), running_var = training ? Tensor() : c.input(4);
  return wanted(c, call("batch_norm_backward", {c.grad(0), c.input(0), c.input(1), running_mean, running_var},
                        {{"training", c.attrs["training"]}, {"eps", c.attrs["eps"]}}));
}

TensorList group_norm_grad(const GradContext& c) {
  return wanted(c, call("group_norm_backward", {c.grad(0), c.input(0), c.input(1)},
                        {{"num_groups", c.attrs["num_groups"]}, {"eps", c.attrs["eps"]}}));
}

}  // namespace

TERRA_OP("layer_norm(Tensor input, int[] normalized_shape, Tensor? weight=None, Tensor? bias=None, float eps=1e-05) "
         "-> (Tensor output, Tensor mean, Tensor rstd)")
    .infer(layer_norm_rule)
    .differentiable_outputs({0})
    .grad(layer_norm_grad, SaveSet::only_inputs({0, 1}));
// In training mode the kernel also updates running_mean and running_var in place; the InPlace
// effect class names a single written input, so the op is a SideEffect.
TERRA_OP("batch_norm(Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
         "bool training, float momentum, float eps) -> (Tensor output, Tensor save_mean, Tensor save_invstd)")
    .infer(batch_norm_rule)
    .effect(Effect::SideEffect)
    .differentiable_outputs({0})
    .grad(batch_norm_grad, SaveSet::only_inputs({0, 1, 3, 4}).except_when("training", {3, 4}));
TERRA_OP("group_norm(Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1e-05) "
         "-> (Tensor output, Tensor mean, Tensor rstd)")
    .infer(group_norm_rule)
    .differentiable_outputs({0})
    .grad(group_norm_grad, SaveSet::only_inputs({0, 1}));

// Backward ops: (grad_input, grad_weight, grad_bias) in one pass pair; grad_weight and grad_bias
// are computed whether or not the forward had weight and bias (the formula drops what it does
// not need). No double backward (Undecided: the engine reports it as not implemented).
TERRA_OP("layer_norm_backward(Tensor grad_output, Tensor input, int[] normalized_shape, Tensor? weight=None, "
         "float eps=1e-05) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias)")
    .infer(layer_norm_backward_rule);
TERRA_OP("batch_norm_backward(Tensor grad_output, Tensor input, Tensor? weight, Tensor? running_mean, "
         "Tensor? running_var, bool training, float eps) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias)")
    .infer(batch_norm_backward_rule);
TERRA_OP("group_norm_backward(Tensor grad_output, Tensor input, int num_groups, Tensor? weight=None, "
         "float eps=1e-05) -> (Tensor grad_input, Tensor grad_weight, Tensor grad_bias)")
    .infer(group_norm_backward_rule);

}  // namespace terra
