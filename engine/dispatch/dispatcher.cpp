#include "engine/dispatch/dispatcher.hpp"

#include <algorithm>
#include <sstream>

#include "engine/autograd/grad_mode.hpp"
#include "engine/autograd/record.hpp"
#include "engine/trace/hook.hpp"
#include "engine/trace/suspend.hpp"
#include "tensor/overlap.hpp"

namespace terra {

Attrs make_attrs(const OpDef& op, const NamedAttrs& named) {
  const Schema& s = op.schema;
  std::vector<AttrValue> values;
  values.reserve(s.attr_names.size());
  for (const auto& [name, value] : named) {
    bool known = false;
    for (const std::string& n : s.attr_names) known = known || n == name;
    TERRA_CHECK(known, Type, s.name, "() got an unexpected keyword argument '", name, "'");
  }
  for (const Argument& a : s.args) {
    if (a.type == ArgType::Tensor || a.type == ArgType::TensorList) continue;
    bool found = false;
    for (size_t i = 0; i < named.size(); ++i) {
      if (named[i].first == a.name) {
        values.push_back(coerce_attr(a, named[i].second.value));
        found = true;
        break;
      }
    }
    if (!found) {
      TERRA_CHECK(a.default_value.has_value(), Type, s.name, "() missing required argument '", a.name, "'");
      values.push_back(*a.default_value);
    }
  }
  return Attrs(&s.attr_names, std::move(values));
}

std::string describe_inputs(const std::vector<Tensor>& inputs) {
  std::ostringstream os;
  os << "got ";
  for (size_t i = 0; i < inputs.size(); ++i) os << (i ? ", " : "") << inputs[i].describe();
  if (inputs.empty()) os << "no tensor inputs";
  return os.str();
}

void complete_inputs(const OpDef& op, std::vector<Tensor>& inputs) {
  const Schema& s = op.schema;
  if (s.has_tensor_list()) return;
  if (inputs.size() < s.num_inputs && inputs.size() >= s.min_inputs) inputs.resize(s.num_inputs);
  if (inputs.size() != s.num_inputs)
    throw Error(ErrorKind::Type,
                "expected " + std::to_string(s.num_inputs) + " tensor arguments, got " +
                    std::to_string(inputs.size()) + " (" + s.str() + ")",
                op.name());
}

namespace {

[[noreturn]] void rethrow_with_context(const OpDef& op, const Error& e, const std::vector<Tensor>& inputs) {
  throw e.with_context(op.name(), describe_inputs(inputs));
}

// Note [Overlapping writes]: an elementwise kernel writing `written` while it reads an input
// that shares some of its bytes at other positions (`a[1:] = a[:-1]`, `a += a.t()`), or writing
// an expanded tensor (several elements, one address), gives a result that depends on the order
// it visits elements in. PyTorch refuses both with these messages; so does Terra, at the call,
// before tracing sees it, so eager and co-executed runs raise alike. Reading exactly what is
// written (`x.add_(x)`) is fine; tensors with gaps are let through (Overlap::TooHard).
// `inplace_form`: the call is x.op_(...), and errors name op_.
void check_write_overlap(const OpDef& op, const Tensor& written, const std::vector<Tensor>& inputs,
                         bool inplace_form = false) {
  const auto refuse = [&](const char* message) {
    throw Error(ErrorKind::Runtime, message, inplace_form ? op.name() + "_" : op.name());
  };
  if (has_internal_overlap(written))
    refuse("unsupported operation: more than one element of the written-to tensor refers to a single memory "
           "location. Please clone() the tensor before performing the operation.");
  for (const Tensor& in : inputs)
    if (in.defined() && overlap_between(written, in) == Overlap::Partial)
      refuse("unsupported operation: some elements of the input tensor and the written-to tensor refer to a "
             "single memory location. Please clone() the tensor before performing the operation.");
}

// A 0-d CPU tensor goes with tensors of any device (Tensor::is_cpu_scalar): elementwise kernels
// read its value at launch, and infer_and_convert moves it to the device for every other kernel.
bool is_cpu_scalar(const Tensor& t) { return t.defined() && t.is_cpu_scalar(); }

Device pick_device(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs) {
  const Tensor* first = nullptr;
  for (const Tensor& t : inputs) {
    if (!t.defined() || is_cpu_scalar(t)) continue;
    if (!first) {
      first = &t;
    } else if (t.device() != first->device()) {
      throw Error(ErrorKind::Runtime,
                  "Expected all tensors to be on the same device, but found at least two devices, " +
                      first->device().str() + " and " + t.device().str() + "!",
                  op.name());
    }
  }
  if (first) return first->device();
  for (const Tensor& t : inputs)
    if (t.defined()) return t.device();
  for (size_t i = 0; i < attrs.size(); ++i)
    if (attrs.names()[i] == "device")
      if (auto* d = std::get_if<Device>(&attrs.values()[i])) return *d;
  return Device{};
}

KernelFn kernel_for(const OpDef& op, Device device) {
  KernelFn fn = op.kernel(device.type);
  if (!fn)
    throw Error(ErrorKind::NotImplemented,
                std::string("no kernel for device ") + device_type_name(device.type) + " (Terra was built without it)",
                op.name());
  return fn;
}

// Whether the kernel can write `outs` itself once the inputs have their inferred dtypes: only an
// elementwise kernel may write over its own inputs.
bool writes_outs_directly(const OpDef& op, const std::vector<Tensor>& inputs, const Inferred& inf,
                          const std::vector<Tensor>& outs) {
  if (op.kernel_makes_outputs) return false;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (outs[i].dtype() != inf.outputs[i].dtype) return false;
    if (op.fusion == FusionKind::Elementwise) continue;
    for (const Tensor& in : inputs)
      if (in.defined() && outs[i].shares_storage(in)) return false;
  }
  return true;
}

// Whether the kernel needs its 0-d CPU inputs moved to its device: all but the elementwise ones,
// which read them by value.
bool moves_cpu_scalars(const OpDef& op, Device device) {
  return device.type != DeviceType::CPU && op.fusion != FusionKind::Elementwise;
}

// copy_'s source on another device than self moves there first (OpDef::copies_across_devices).
void move_source_to_self(std::vector<Tensor>& inputs) {
  if (inputs.size() < 2 || !inputs[0].defined() || !inputs[1].defined() || is_cpu_scalar(inputs[1])) return;
  if (inputs[1].device() != inputs[0].device()) inputs[1] = move_to(inputs[1], inputs[0].device());
}

// The shape rule's answer, with the outputs on the kernel's device: a rule that takes its device
// from an input that is a 0-d CPU tensor would otherwise put them on the CPU.
Inferred infer_on(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs, Device device) {
  Inferred inf = op.infer(inputs, attrs);
  if (!device.is_cpu() && std::any_of(inputs.begin(), inputs.end(), is_cpu_scalar))
    for (TensorMeta& m : inf.outputs)
      if (m.device.is_cpu()) m.device = device;
  return inf;
}

// Runs the shape rule and applies its input conversions.
Inferred infer_and_convert(const OpDef& op, std::vector<Tensor>& inputs, const Attrs& attrs, Device device) {
  Inferred inf;
  try {
    inf = infer_on(op, inputs, attrs, device);
    if (!inf.input_dtypes.empty()) {
      TERRA_ASSERT(inf.input_dtypes.size() == inputs.size());
      for (size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].defined() && inputs[i].dtype() != inf.input_dtypes[i])
          inputs[i] = cast_to(inputs[i], inf.input_dtypes[i]);
    }
    // A 0-d CPU tensor stays on the CPU for the elementwise kernels, which take its value by
    // value; every other kernel reads all its inputs on its own device.
    if (moves_cpu_scalars(op, device))
      for (Tensor& t : inputs)
        if (is_cpu_scalar(t)) t = move_to(t, device);
  } catch (const Error& e) {
    rethrow_with_context(op, e, inputs);
  }
  return inf;
}

void run_kernel(const OpDef& op, KernelFn fn, KernelCall& call, const std::vector<Tensor>& original_inputs) {
  try {
    fn(call);
  } catch (const Error& e) {
    rethrow_with_context(op, e, original_inputs);
  }
}

}  // namespace

Inferred check_call(const OpDef& op, std::vector<Tensor>& inputs, const Attrs& attrs) {
  complete_inputs(op, inputs);
  const Device device = pick_device(op, inputs, attrs);
  kernel_for(op, device);
  try {
    return infer_on(op, inputs, attrs, device);
  } catch (const Error& e) {
    rethrow_with_context(op, e, inputs);
  }
}

std::vector<Tensor> dispatch(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  if (op.effect == Effect::InPlace && op.writes_elementwise) check_write_overlap(op, inputs.at(op.inplace_input), inputs);
  if (trace::must_sync_first()) [[unlikely]]
    trace::sync();
  if (op.copies_across_devices) [[unlikely]]
    move_source_to_self(inputs);
  if (trace::intercepting()) [[unlikely]]
    return trace::intercept(op, std::move(inputs), std::move(attrs));
  return dispatch_eager(op, std::move(inputs), std::move(attrs));
}

std::vector<Tensor> dispatch_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  complete_inputs(op, inputs);
  Device device = pick_device(op, inputs, attrs);
  KernelFn fn = kernel_for(op, device);
  const bool grad_mode = GradMode::is_enabled();
  const bool inplace_with_grad = grad_mode && op.effect == Effect::InPlace && autograd::any_requires_grad(inputs);
  if (inplace_with_grad) {
    try {
      autograd::check_inplace(inputs[op.inplace_input]);
    } catch (const Error& e) {
      rethrow_with_context(op, e, inputs);
    }
  }
  std::vector<Tensor> original = inputs;
  Inferred inf = infer_and_convert(op, inputs, attrs, device);
  KernelCall call{op.name(), std::move(inputs), std::move(attrs), {}};
  if (op.effect == Effect::InPlace) {
    call.outputs = {call.inputs[op.inplace_input]};
  } else if (!op.kernel_makes_outputs) {
    call.outputs.reserve(inf.outputs.size());
    for (const TensorMeta& m : inf.outputs) call.outputs.push_back(Tensor::empty(m.shape, m.dtype, m.device));
  }
  {
    // Composite kernels dispatch other ops: only this op's own node is recorded and traced.
    GradModeGuard kernel_mode(false);
    trace::SuspendTracing kernel_ops;
    run_kernel(op, fn, call, original);
  }
  if (op.effect == Effect::InPlace) original[op.inplace_input].bump_version();
  if (inplace_with_grad)
    autograd::record_inplace(op, call.inputs, call.attrs);
  else if (grad_mode && op.effect != Effect::InPlace)
    autograd::record(op, call.inputs, call.attrs, call.outputs);
  return std::move(call.outputs);
}

void dispatch_out(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs) {
  if (op.writes_elementwise)
    for (const Tensor& out : outs) check_write_overlap(op, out, inputs);
  if (trace::must_sync_first()) [[unlikely]]
    trace::sync();
  if (trace::intercepting()) [[unlikely]]
    return trace::intercept_out(op, std::move(inputs), std::move(attrs), outs);
  dispatch_out_eager(op, std::move(inputs), std::move(attrs), outs);
}

void dispatch_out_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs) {
  complete_inputs(op, inputs);
  if (GradMode::is_enabled() && (autograd::any_requires_grad(inputs) || autograd::any_requires_grad(outs)))
    throw Error(ErrorKind::Runtime,
                "functions with out=... arguments don't support automatic differentiation, but one of the "
                "arguments requires grad.",
                op.name());
  Device device = pick_device(op, inputs, attrs);
  KernelFn fn = kernel_for(op, device);
  std::vector<Tensor> original = inputs;
  Inferred inf = infer_and_convert(op, inputs, attrs, device);
  TERRA_CHECK(outs.size() == inf.outputs.size(), Runtime, op.name(), ": expected ", inf.outputs.size(),
              " output tensors, got ", outs.size());
  for (size_t i = 0; i < outs.size(); ++i) {
    const TensorMeta& m = inf.outputs[i];
    if (outs[i].shape() != m.shape)
      throw Error(ErrorKind::Runtime,
                  "output with shape " + shape_str(outs[i].shape()) + " doesn't match the broadcast shape " +
                      shape_str(m.shape),
                  op.name());
    if (!can_cast(m.dtype, outs[i].dtype()))
      throw Error(ErrorKind::Runtime,
                  std::string("result type ") + dtype_name(m.dtype) + " can't be cast to the desired output type " +
                      dtype_name(outs[i].dtype()),
                  op.name());
    TERRA_CHECK(outs[i].device() == device, Runtime, op.name(), ": output is on ", outs[i].device().str(),
                " but the inputs are on ", device.str());
  }
  // Otherwise the kernel writes fresh outputs, copied in afterwards.
  const bool direct = writes_outs_directly(op, inputs, inf, outs);
  KernelCall call{op.name(), std::move(inputs), std::move(attrs), {}};
  if (direct) {
    call.outputs = outs;
    run_kernel(op, fn, call, original);
  } else {
    if (!op.kernel_makes_outputs)
      for (const TensorMeta& m : inf.outputs) call.outputs.push_back(Tensor::empty(m.shape, m.dtype, m.device));
    run_kernel(op, fn, call, original);
    static const OpDef& copy = Registry::instance().get("copy_");
    for (size_t i = 0; i < outs.size(); ++i) dispatch_eager(copy, {outs[i], call.outputs[i]}, make_attrs(copy, {}));
  }
  for (const Tensor& o : outs) o.bump_version();
}

KernelFn direct_out_kernel(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                           const std::vector<Tensor>& outs) {
  std::vector<Tensor> completed = inputs;
  complete_inputs(op, completed);
  if (completed.size() != inputs.size()) return nullptr;
  const Device device = pick_device(op, inputs, attrs);
  if (moves_cpu_scalars(op, device) && std::any_of(inputs.begin(), inputs.end(), is_cpu_scalar)) return nullptr;
  const Inferred inf = infer_on(op, inputs, attrs, device);
  for (size_t i = 0; i < inf.input_dtypes.size(); ++i)
    if (inputs[i].defined() && inputs[i].dtype() != inf.input_dtypes[i]) return nullptr;
  if (inf.outputs.size() != outs.size()) return nullptr;
  for (size_t i = 0; i < outs.size(); ++i)
    if (outs[i].shape() != inf.outputs[i].shape || outs[i].device() != device) return nullptr;
  return writes_outs_directly(op, inputs, inf, outs) ? kernel_for(op, device) : nullptr;
}

namespace {
// With autograd, the in-place form is the functional op, a copy_ and a history transplant, each a
// dispatch of its own (and so each traced in its own right).
Tensor inplace_with_autograd(const OpDef& op, std::vector<Tensor> inputs, const Attrs& attrs) {
  try {
    return autograd::apply_inplace(op, std::move(inputs), attrs);
  } catch (const Error& e) {
    if (e.op().empty()) throw e.with_context(op.name() + "_", "");
    throw;
  }
}

Tensor inplace_without_autograd(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  Tensor self = inputs.at(0);
  dispatch_out_eager(op, std::move(inputs), std::move(attrs), {self});
  return self;
}
}  // namespace

Tensor dispatch_inplace(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  if (op.effect == Effect::InPlace) return dispatch(op, std::move(inputs), std::move(attrs)).at(0);  // copy_, fill_
  if (op.writes_elementwise && !inputs.empty() && inputs[0].defined())
    check_write_overlap(op, inputs[0], inputs, /*inplace_form=*/true);
  if (GradMode::is_enabled() && autograd::any_requires_grad(inputs)) return inplace_with_autograd(op, std::move(inputs), attrs);
  if (trace::must_sync_first()) [[unlikely]]
    trace::sync();
  if (trace::intercepting()) [[unlikely]]
    return trace::intercept_inplace(op, std::move(inputs), std::move(attrs));
  return inplace_without_autograd(op, std::move(inputs), std::move(attrs));
}

Tensor dispatch_inplace_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs) {
  if (op.effect == Effect::InPlace) return dispatch_eager(op, std::move(inputs), std::move(attrs)).at(0);
  if (GradMode::is_enabled() && autograd::any_requires_grad(inputs)) return inplace_with_autograd(op, std::move(inputs), attrs);
  return inplace_without_autograd(op, std::move(inputs), std::move(attrs));
}

std::vector<Tensor> call(std::string_view name, std::vector<Tensor> inputs, const NamedAttrs& attrs) {
  const OpDef& op = Registry::instance().get(name);
  return dispatch(op, std::move(inputs), make_attrs(op, attrs));
}

Tensor call1(std::string_view name, std::vector<Tensor> inputs, const NamedAttrs& attrs) {
  return call(name, std::move(inputs), attrs).at(0);
}

Tensor call_inplace(std::string_view name, std::vector<Tensor> inputs, const NamedAttrs& attrs) {
  const OpDef& op = Registry::instance().get(name);
  return dispatch_inplace(op, std::move(inputs), make_attrs(op, attrs));
}

Tensor move_to(const Tensor& t, Device device) {
  if (t.device() == device) return t;
  static const OpDef& op = Registry::instance().get("to_device");
  return dispatch(op, {t}, make_attrs(op, {{"device", device}}))[0];
}

namespace {
// A wrapped Python number (the 0.5 of `x * 0.5`) converts on the host, as to_dtype would: no op
// to dispatch, and in a tracing session none to trace and replay for every scalar.
bool converts_on_host(const Tensor& t) {
  return t.is_wrapped_number() && t.device().type == DeviceType::CPU && !t.storage()->pending();
}

Tensor convert_on_host(const Tensor& t, DType dtype, bool wrapped) {
  Tensor out = Tensor::empty({}, dtype);
  dispatch_dtype(dtype, [&](auto out_tag) {
    dispatch_dtype(t.dtype(), [&](auto in_tag) {
      *out.data<decltype(out_tag)>() = convert_element<decltype(out_tag)>(*t.data<decltype(in_tag)>());
    });
  });
  out.impl()->wrapped_number = wrapped;
  // No op was traced: a backward() call being written down must know where `out` came from.
  if (trace::intercepting()) trace::note_host_conversion(t, out);
  return out;
}
}  // namespace

Tensor number_as_tensor(const Tensor& number, DType dtype) {
  if (!number.is_wrapped_number()) return cast_to(number, dtype);
  if (converts_on_host(number)) return convert_on_host(number, dtype, false);
  static const OpDef& op = Registry::instance().get("to_dtype");
  return dispatch(op, {number}, make_attrs(op, {{"dtype", dtype}}))[0];
}

Tensor cast_to(const Tensor& t, DType dtype) {
  if (t.dtype() == dtype) return t;
  if (converts_on_host(t)) return convert_on_host(t, dtype, true);
  static const OpDef& op = Registry::instance().get("to_dtype");
  Tensor out = dispatch(op, {t}, make_attrs(op, {{"dtype", dtype}}))[0];
  out.impl()->wrapped_number = t.is_wrapped_number();
  return out;
}

}  // namespace terra
