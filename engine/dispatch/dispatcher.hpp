// The one eager dispatch path: every op call, from C++ or Python, goes through dispatch().
// It runs the op's shape rule (no data touched), converts inputs for type promotion, allocates
// the outputs, picks the kernel for the inputs' device and runs it. Errors from the shape rule or
// the kernel come back as terra::Error naming the op and describing its inputs.
// In-place and out= variants are derived here from the functional op (STYLE: no per-op
// in-place entries for elementwise math).
#pragma once
#include <initializer_list>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/registry/registry.hpp"

namespace terra {

// An attribute value as C++ callers write it: {"dim", 1}, {"keepdim", true}, {"dims", {0, 2}}.
struct AttrArg {
  AttrValue value;
  AttrArg() = default;
  AttrArg(std::nullptr_t) {}
  AttrArg(bool v) : value(v) {}
  AttrArg(int v) : value(static_cast<int64_t>(v)) {}
  AttrArg(int64_t v) : value(v) {}
  AttrArg(double v) : value(v) {}
  AttrArg(const char* v) : value(std::string(v)) {}
  AttrArg(std::string v) : value(std::move(v)) {}
  AttrArg(std::vector<int64_t> v) : value(std::move(v)) {}
  AttrArg(std::initializer_list<int64_t> v) : value(std::vector<int64_t>(v)) {}
  AttrArg(std::vector<double> v) : value(std::move(v)) {}
  AttrArg(Scalar v) : value(v) {}
  AttrArg(DType v) : value(v) {}
  AttrArg(Device v) : value(v) {}
  AttrArg(std::shared_ptr<Generator> v) : value(std::move(v)) {}
  AttrArg(AttrValue v) : value(std::move(v)) {}
};
using NamedAttrs = std::vector<std::pair<std::string, AttrArg>>;

// Attributes in schema order: given values coerced to their declared types, defaults filled in.
// Throws TypeError for an unknown name or a missing required attribute.
Attrs make_attrs(const OpDef& op, const NamedAttrs& named);

std::vector<Tensor> dispatch(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
// The in-place form of a functional op: the result is written into inputs[0] and returned.
Tensor dispatch_inplace(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
// The out= form: results are written into `outs` (shapes must match; dtypes must be castable).
void dispatch_out(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs);

// The same three without the tracing session's interception (engine/trace): what they do is
// always run the op now. The session and the plan executor call these.
std::vector<Tensor> dispatch_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
Tensor dispatch_inplace_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs);
void dispatch_out_eager(const OpDef& op, std::vector<Tensor> inputs, Attrs attrs, const std::vector<Tensor>& outs);

// Checks the number of tensor arguments, filling trailing optional ones left out (None) with
// undefined tensors; a Type error otherwise.
void complete_inputs(const OpDef& op, std::vector<Tensor>& inputs);

// What dispatch() checks before running anything: the argument count (filling left-out optional
// tensors), one device with a kernel, and the shape rule, whose errors carry the op and its
// inputs. Converts nothing, runs nothing.
Inferred check_call(const OpDef& op, std::vector<Tensor>& inputs, const Attrs& attrs);

// The kernel dispatch_out would hand exactly these tensors to when it would do nothing else for
// the call: no argument to fill in, no input to cast, outputs of the inferred shapes and dtypes on
// the inputs' device, none over an input unless the kernel is elementwise. nullptr otherwise. The
// plan executor asks once per step, then calls the kernel itself (Note [Direct kernel calls]).
KernelFn direct_out_kernel(const OpDef& op, const std::vector<Tensor>& inputs, const Attrs& attrs,
                           const std::vector<Tensor>& outs);

// Conveniences for C++ code and tests (one registry lookup by name per call).
std::vector<Tensor> call(std::string_view op, std::vector<Tensor> inputs, const NamedAttrs& attrs = {});
Tensor call1(std::string_view op, std::vector<Tensor> inputs, const NamedAttrs& attrs = {});
Tensor call_inplace(std::string_view op, std::vector<Tensor> inputs, const NamedAttrs& attrs = {});

// Converts to a dtype (a copy unless it already has it); used for type promotion.
Tensor cast_to(const Tensor& t, DType dtype);
// A wrapped Python number as an ordinary 0-d tensor of `dtype`. Alone in a unary op a wrapped
// number computes in the default dtype (result_type's rule), which a gradient formula reading it
// must avoid (the log of pow's Python base would round a float64 gradient to float32).
Tensor number_as_tensor(const Tensor& number, DType dtype);
// `t` on `device` (itself when it is there already), through the to_device op.
Tensor move_to(const Tensor& t, Device device);

// "float32[2, 3], int64[4]": how errors describe an op's inputs.
std::string describe_inputs(const std::vector<Tensor>& inputs);

}  // namespace terra
