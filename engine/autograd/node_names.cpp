// The name of an op call's backward node (OpNode::name(): grad_fn's name in Python, in printed
// tensors and in error messages) as PyTorch 1.13 names the node it records for the same call.
// Terra's ops do not map one to one onto aten's: linear is one op here and addmm, mm or a view
// there; cross_entropy ends in nll_loss there; a reduction over dims is another overload there
// (SumBackward1). So the name can depend on the call's attributes and input shapes. An op that
// PyTorch records as an op of the same name gets backward_node_name(op).
#include <string_view>
#include <unordered_map>

#include "engine/autograd/node.hpp"

namespace terra {

namespace {

// Ops whose node PyTorch always names differently.
const char* renamed(std::string_view op) {
  static const std::unordered_map<std::string_view, const char*> names = {
      {"conv1d", "ConvolutionBackward0"},
      {"conv2d", "ConvolutionBackward0"},
      {"conv_transpose2d", "ConvolutionBackward0"},
      {"cross_entropy", "NllLossBackward0"},  // log_softmax, then nll_loss
      {"max_pool2d", "MaxPool2DWithIndicesBackward0"},
      {"batch_norm", "NativeBatchNormBackward0"},
      {"layer_norm", "NativeLayerNormBackward0"},
      {"group_norm", "NativeGroupNormBackward0"},
      {"contiguous", "CloneBackward0"},
      {"to_dtype", "ToCopyBackward0"},
      {"to_device", "ToCopyBackward0"},
      {"chunk", "SplitBackward0"},
      {"narrow", "SliceBackward0"},
      {"max_dim", "MaxBackward0"},  // max(dim) is overload 0, max() overload 1
      {"min_dim", "MinBackward0"},
      {"max", "MaxBackward1"},
      {"min", "MinBackward1"},
      {"norm", "NormBackward1"},
      {"clamp", "ClampBackward1"},  // scalar bounds
      {"dropout", "MulBackward0"},  // input * mask / (1 - p)
      {"outer", "MulBackward0"},
      {"scatter_value", "ScatterBackward1"},
      {"upsample_nearest2d", "UpsampleNearest2DBackward1"},
  };
  const auto it = names.find(op);
  return it == names.end() ? nullptr : it->second;
}

size_t input_dims(const OpNode& n, size_t i) { return i < n.input_metas.size() ? n.input_metas[i].shape.size() : 0; }

bool input_defined(const OpNode& n, size_t i) { return i < n.input_metas.size() && n.input_metas[i].defined; }

// aten's matmul: dot, mv, mm, or a batched product folded through views.
std::string matmul_name(size_t a, size_t b) {
  if (a == 1 && b == 1) return "DotBackward0";
  if (a == 2 && b == 1) return "MvBackward0";
  if (a == 2 && b == 2) return "MmBackward0";
  if (a == 1 && b == 2) return "SqueezeBackward3";
  if (a == 2) return "CloneBackward0";
  return "UnsafeViewBackward0";
}

// aten's linear: addmm (2-D input with a bias), matmul otherwise, plus the bias.
std::string linear_name(size_t input_dims, bool bias) {
  if (input_dims == 2) return bias ? "AddmmBackward0" : "MmBackward0";
  if (input_dims == 1) return bias ? "AddBackward0" : "SqueezeBackward3";
  return bias ? "ViewBackward0" : "UnsafeViewBackward0";
}

std::string pad_name(const Attrs& a) {
  const std::string& mode = a.get<std::string>("mode");
  const std::string dims = std::to_string(a.get<std::vector<int64_t>>("pad").size() / 2);
  if (mode == "reflect") return "ReflectionPad" + dims + "DBackward0";
  if (mode == "replicate") return "ReplicationPad" + dims + "DBackward0";
  if (mode == "constant") return "ConstantPadNdBackward0";
  return backward_node_name("pad");
}

}  // namespace

std::string pytorch_node_name(const OpNode& n) {
  const std::string& op = n.op().name();
  const Attrs& a = n.attrs();
  if (const char* name = renamed(op)) return name;
  if (op == "matmul") return matmul_name(input_dims(n, 0), input_dims(n, 1));
  if (op == "linear") return linear_name(input_dims(n, 0), input_defined(n, 2));
  if (op == "sum" || op == "mean" || op == "prod" || op == "squeeze") {  // overload 1 takes dims
    std::string name = backward_node_name(op);
    name.back() = a.is_none("dim") ? '0' : '1';
    return name;
  }
  // A view when the input's layout allows one (read here as: the input is contiguous), else a copy.
  if (op == "reshape" || op == "flatten")
    return n.input_metas.empty() || n.input_metas[0].contiguous ? "ReshapeAliasBackward0" : "UnsafeViewBackward0";
  if (op == "pow")  // overload 1 when the exponent is a tensor (here: one that needs a gradient)
    return n.input_needs_grad.size() > 1 && n.input_needs_grad[1] ? "PowBackward1" : "PowBackward0";
  if (op == "div" && !a.is_none("rounding_mode")) return "DivBackward2";
  if (op == "pad") return pad_name(a);
  if (op == "adaptive_avg_pool2d") {  // to 1x1, aten takes a mean over the plane
    const auto& size = a.get<std::vector<int64_t>>("output_size");
    if (size.size() == 2 && size[0] == 1 && size[1] == 1) return "MeanBackward1";
  }
  if (op == "l1_loss") {  // (input - target).abs(), then the reduction
    const std::string& reduction = a.get<std::string>("reduction");
    return reduction == "mean" ? "MeanBackward0" : reduction == "sum" ? "SumBackward0" : "AbsBackward0";
  }
  return backward_node_name(op);
}

}  // namespace terra
