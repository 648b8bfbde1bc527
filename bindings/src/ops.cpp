// Calling registry ops from Python: arguments are matched to the op's schema (positional or by
// name, defaults filled in), converted (tensors, Python numbers, int lists, dtypes, devices,
// generators) and dispatched. terra._C._ops.<name> exposes every op; Tensor methods are made
// for every op whose first argument is `self` (Python overrides those whose PyTorch signature
// differs).
#include "bindings/src/common.hpp"
#include "engine/autograd/grad_mode.hpp"

namespace terra::python {
namespace {

[[noreturn]] void type_error(const OpDef& op, const Argument& a, py::handle v, const char* expected) {
  throw py::type_error(op.name() + "(): argument '" + a.name + "' must be " + expected + ", not " +
                       std::string(py::str(py::type::handle_of(v).attr("__name__"))));
}

int64_t to_int(const OpDef& op, const Argument& a, py::handle v) {
  if (PyFloat_Check(v.ptr())) type_error(op, a, v, "int");
  if (is_tensor(v)) {
    Tensor t = unwrap(v);
    if (t.numel() != 1 || is_floating(t.dtype())) type_error(op, a, v, "int");
    return py::cast<int64_t>(v.attr("item")());
  }
  if (!PyIndex_Check(v.ptr())) type_error(op, a, v, "int");
  return py::cast<int64_t>(py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr())));
}

double to_float(const OpDef& op, const Argument& a, py::handle v) {
  if (is_tensor(v) || PyFloat_Check(v.ptr()) || PyLong_Check(v.ptr()) || py::hasattr(v, "__float__"))
    return py::cast<double>(py::float_(py::reinterpret_borrow<py::object>(v)));
  type_error(op, a, v, "float");
}

Scalar to_scalar(const OpDef& op, const Argument& a, py::handle v) {
  if (PyBool_Check(v.ptr())) return Scalar(v.ptr() == Py_True);
  if (PyLong_Check(v.ptr())) return Scalar(py::cast<int64_t>(v));
  if (PyFloat_Check(v.ptr())) return Scalar(py::cast<double>(v));
  if (is_tensor(v)) {
    Tensor t = unwrap(v);
    if (t.numel() != 1) type_error(op, a, v, "Number (a one-element tensor)");
    py::object item = v.attr("item")();
    return is_floating(t.dtype()) ? Scalar(py::cast<double>(item))
                                  : t.dtype() == DType::Bool ? Scalar(py::cast<bool>(item)) : Scalar(py::cast<int64_t>(item));
  }
  if (PyIndex_Check(v.ptr())) return Scalar(py::cast<int64_t>(py::reinterpret_steal<py::object>(PyNumber_Index(v.ptr()))));
  if (py::hasattr(v, "__float__")) return Scalar(py::cast<double>(py::float_(py::reinterpret_borrow<py::object>(v))));
  type_error(op, a, v, "Number");
}

template <class T, class F>
std::vector<T> to_list(const OpDef& op, const Argument& a, py::handle v, F element) {
  if (is_tensor(v)) {
    Tensor t = unwrap(v);
    if (t.dim() == 0) return {element(v)};
    v = v.attr("tolist")();
    std::vector<T> out;
    for (py::handle x : v) out.push_back(element(x));
    return out;
  }
  if (PyLong_Check(v.ptr()) || PyFloat_Check(v.ptr()) || PyIndex_Check(v.ptr())) return {element(v)};
  if (!PySequence_Check(v.ptr()) || PyUnicode_Check(v.ptr())) type_error(op, a, v, "a sequence of numbers");
  std::vector<T> out;
  for (py::handle x : v) out.push_back(element(x));
  return out;
}

AttrValue to_attr(const OpDef& op, const Argument& a, py::handle v) {
  if (v.is_none()) {
    if (!a.optional) type_error(op, a, v, arg_type_name(a.type));
    return std::monostate{};
  }
  switch (a.type) {
    case ArgType::Int: return to_int(op, a, v);
    case ArgType::Float: return to_float(op, a, v);
    case ArgType::Bool:
      if (PyBool_Check(v.ptr())) return v.ptr() == Py_True;
      if (PyLong_Check(v.ptr()) || is_tensor(v)) return py::cast<bool>(py::bool_(py::reinterpret_borrow<py::object>(v)));
      type_error(op, a, v, "bool");
    case ArgType::Str:
      if (!PyUnicode_Check(v.ptr())) type_error(op, a, v, "str");
      return py::cast<std::string>(v);
    case ArgType::Scalar: return to_scalar(op, a, v);
    case ArgType::ScalarType:
      try {
        return to_dtype(v);
      } catch (const py::type_error& e) {  // "zeros(): argument 'dtype': Terra has no uint8 dtype (...)"
        throw py::type_error(op.name() + "(): argument '" + a.name + "': " + e.what());
      }
    case ArgType::Device: return to_device(v);
    case ArgType::Generator:
      if (!py::isinstance<Generator>(v)) type_error(op, a, v, "terra.Generator");
      return v.cast<std::shared_ptr<Generator>>();
    case ArgType::IntList:
      return to_list<int64_t>(op, a, v, [&](py::handle x) { return to_int(op, a, x); });
    case ArgType::FloatList:
      return to_list<double>(op, a, v, [&](py::handle x) { return to_float(op, a, x); });
    case ArgType::Tensor:
    case ArgType::TensorList: break;
  }
  throw std::logic_error("unreachable");
}

Tensor to_tensor_arg(const OpDef& op, const Argument& a, py::handle v) {
  if (is_tensor(v)) return unwrap(v);
  if (v.is_none()) {
    if (!a.optional) type_error(op, a, v, "Tensor");
    return Tensor();
  }
  if (is_number(v)) return number_to_tensor(v);
  type_error(op, a, v, "Tensor");
}

}  // namespace

// self: the tensor a method was called on (then args are the remaining positional arguments).
py::object call_op(const OpDef& op, py::handle self, const py::args& args, const py::kwargs& kwargs, bool inplace) {
  const Schema& s = op.schema;
  const size_t npos = args.size() + (self ? 1 : 0);
  auto positional = [&](size_t i) -> py::handle { return self ? (i == 0 ? self : args[i - 1]) : args[i]; };
  std::vector<Tensor> inputs;
  inputs.reserve(s.num_inputs);
  std::vector<AttrValue> attrs;
  attrs.reserve(s.attr_names.size());
  // Most calls pass no keywords: then no argument name becomes a Python string.
  const bool any_kwargs = kwargs && PyDict_GET_SIZE(kwargs.ptr()) > 0;
  size_t used_kwargs = 0;
  py::handle out;
  size_t max_positional = 0;
  for (const Argument& a : s.args) max_positional += !a.kwarg_only;
  if (npos > max_positional)
    throw py::type_error(op.name() + "() takes " + std::to_string(max_positional) + " positional arguments but " +
                         std::to_string(npos) + " were given (" + s.str() + ")");
  for (size_t i = 0; i < s.args.size(); ++i) {
    const Argument& a = s.args[i];
    py::handle v;
    bool given = false;
    if (i < npos) {
      v = positional(i);
      given = true;
    } else if (any_kwargs) {
      if (PyObject* value = PyDict_GetItemString(kwargs.ptr(), a.name.c_str())) {  // borrowed
        v = value;
        given = true;
        ++used_kwargs;
      }
    }
    if (a.type == ArgType::Tensor) {
      if (given) {
        inputs.push_back(to_tensor_arg(op, a, v));
      } else if (a.optional || a.default_value) {
        inputs.emplace_back();
      } else {
        throw py::type_error(op.name() + "() missing required argument '" + a.name + "' (" + s.str() + ")");
      }
    } else if (a.type == ArgType::TensorList) {
      if (!given) throw py::type_error(op.name() + "() missing required argument '" + a.name + "'");
      if (is_tensor(v) || !PySequence_Check(v.ptr())) type_error(op, a, v, "tuple of Tensors");
      for (py::handle x : v) inputs.push_back(x.is_none() ? Tensor() : to_tensor_arg(op, a, x));
    } else if (given) {
      attrs.push_back(coerce_attr(a, to_attr(op, a, v)));
    } else if (a.default_value) {
      attrs.push_back(*a.default_value);
    } else {
      throw py::type_error(op.name() + "() missing required argument '" + a.name + "' (" + s.str() + ")");
    }
  }
  if (any_kwargs) {
    if (PyObject* value = PyDict_GetItemString(kwargs.ptr(), "out")) {
      out = value;
      ++used_kwargs;
    }
  }
  if (any_kwargs && used_kwargs != kwargs.size()) {
    for (auto item : kwargs) {
      std::string key = py::str(item.first);
      bool known = key == "out";
      for (const Argument& a : s.args) known = known || a.name == key;
      if (!known) throw py::type_error(op.name() + "() got an unexpected keyword argument '" + key + "'");
    }
  }
  Attrs attr_values(&s.attr_names, std::move(attrs));
  if (out && !out.is_none()) {
    std::vector<Tensor> outs;
    if (is_tensor(out)) {
      outs.push_back(unwrap(out));
    } else {
      for (py::handle o : out) outs.push_back(unwrap(o));
    }
    dispatch_out(op, std::move(inputs), std::move(attr_values), outs);
    return py::reinterpret_borrow<py::object>(out);
  }
  if (inplace) {
    TERRA_CHECK(!inputs.empty() && inputs[0].defined(), Type, op.name(), "_: needs a tensor to write into");
    Tensor target = inputs[0];
    dispatch_inplace(op, std::move(inputs), std::move(attr_values));
    return self ? py::reinterpret_borrow<py::object>(self) : wrap(target);
  }
  std::vector<Tensor> results = dispatch(op, std::move(inputs), std::move(attr_values));
  if (s.returns_list) {
    py::list l(results.size());
    for (size_t i = 0; i < results.size(); ++i) l[i] = wrap(results[i]);
    return std::move(l);
  }
  return wrap_all(results);
}

namespace {

// x.view(2, 3), x.view((2, 3)), x.view(size=(2, 3)): the size-taking methods whose one int-list
// attribute PyTorch also accepts as varargs, converted here without a Python wrapper.
py::object sizes_method(const OpDef& op, py::handle self, const py::args& args, const py::kwargs& kwargs) {
  if ((kwargs && kwargs.size() > 0) || op.schema.attr_names.size() != 1) return call_op(op, self, args, kwargs);
  py::handle seq = args;
  if (args.size() == 1 && !PyLong_Check(args[0].ptr()) && !is_tensor(args[0]) && PySequence_Check(args[0].ptr()))
    seq = args[0];
  std::vector<int64_t> sizes;
  sizes.reserve(static_cast<size_t>(py::len(seq)));
  for (py::handle h : seq) {
    if (PyFloat_Check(h.ptr()) || !PyIndex_Check(h.ptr()))
      throw py::type_error(op.name() + "(): argument '" + op.schema.attr_names[0] + "' must be a tuple of ints, but found " +
                           std::string(py::str(py::type::handle_of(h).attr("__name__"))));
    sizes.push_back(py::cast<int64_t>(py::reinterpret_steal<py::object>(PyNumber_Index(h.ptr()))));
  }
  Attrs attrs(&op.schema.attr_names, {AttrValue(std::move(sizes))});
  return wrap(dispatch(op, {unwrap(self)}, std::move(attrs))[0]);
}

struct OpFunction {
  const OpDef* op;
};

}  // namespace

void bind_ops(py::module_& m) {
  py::class_<OpFunction>(m, "OpFunction")
      .def("__call__", [](const OpFunction& f, py::args args, py::kwargs kwargs) {
        return call_op(*f.op, py::handle(), args, kwargs, false);
      })
      .def_property_readonly("schema", [](const OpFunction& f) { return f.op->schema.str(); })
      .def_property_readonly("name", [](const OpFunction& f) { return f.op->name(); })
      .def("__repr__", [](const OpFunction& f) { return "<terra op " + f.op->schema.str() + ">"; });
  py::module_ ops = m.def_submodule("_ops", "every registry op, called with its schema's arguments");
  py::object tensor_cls = m.attr("Tensor");
  for (const OpDef* op : Registry::instance().all()) {
    ops.attr(op->name().c_str()) = py::cast(OpFunction{op});
    const Schema& s = op->schema;
    if (s.args.empty() || s.args[0].type != ArgType::Tensor || s.args[0].name != "self") continue;
    if (!py::hasattr(tensor_cls, op->name().c_str())) {  // operators and properties win
      tensor_cls.attr(op->name().c_str()) = py::cpp_function(
          [op](py::handle self, py::args args, py::kwargs kwargs) { return call_op(*op, self, args, kwargs, false); },
          py::name(op->name().c_str()), py::is_method(tensor_cls));
    }
    // x.exp_() and friends: the functional op written back into self (dispatch_inplace).
    const std::string inplace_name = op->name() + "_";
    if (op->effect == Effect::Pure && s.returns.size() == 1 && !s.returns_list &&
        !py::hasattr(tensor_cls, inplace_name.c_str())) {
      tensor_cls.attr(inplace_name.c_str()) = py::cpp_function(
          [op](py::handle self, py::args args, py::kwargs kwargs) { return call_op(*op, self, args, kwargs, true); },
          py::name(inplace_name.c_str()), py::is_method(tensor_cls));
    }
  }
  for (const char* name : {"view", "reshape", "expand", "permute", "repeat", "flip"}) {
    const OpDef* op = &Registry::instance().get(name);
    tensor_cls.attr(name) = py::cpp_function(
        [op](py::handle self, py::args args, py::kwargs kwargs) { return sizes_method(*op, self, args, kwargs); },
        py::name(name), py::is_method(tensor_cls));
  }
  m.def("_call_inplace", [](const std::string& name, py::args args, py::kwargs kwargs) {
    return call_op(Registry::instance().get(name), py::handle(), args, kwargs, true);
  });
  m.def("_op_schemas", [] {
    py::dict d;
    for (const OpDef* op : Registry::instance().all()) d[op->name().c_str()] = op->schema.str();
    return d;
  });
}

}  // namespace terra::python
