// The Tensor type: properties, conversions to Python numbers, and the arithmetic operators with
// a direct path into the dispatcher (the per-op cost from Python is measured in the benchmarks).
#include "engine/autograd/autograd_meta.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/trace/session.hpp"
#include "tensor/overlap.hpp"
#include "bindings/src/common.hpp"

namespace terra::python {

namespace {

// The Tensor type's pybind11 record, looked up once: the generic casts would hash the C++ type's
// name on every call, which is most of a small op's cost from Python.
const py::detail::type_info* tensor_type_info() {
  static const py::detail::type_info* info = py::detail::get_type_info(typeid(TensorImpl));
  return info;
}

}  // namespace

py::object wrap(const Tensor& t) {
  if (!t.defined()) return py::none();
  const TensorPtr& p = t.impl_ptr();
  // Returns the existing Python object of this TensorImpl when there is one (so identity and
  // Python subclasses such as Parameter survive), a new one sharing the holder otherwise.
  return py::reinterpret_steal<py::object>(py::detail::type_caster_generic::cast(
      p.get(), py::return_value_policy::take_ownership, py::handle(), tensor_type_info(), nullptr, nullptr, &p));
}

py::object wrap_all(const TensorList& ts) {
  if (ts.size() == 1) return wrap(ts[0]);
  py::tuple out(ts.size());
  for (size_t i = 0; i < ts.size(); ++i) out[i] = wrap(ts[i]);
  return std::move(out);
}

bool is_tensor(py::handle h) { return PyObject_TypeCheck(h.ptr(), tensor_type_info()->type); }

Tensor unwrap(py::handle h) {
  if (!is_tensor(h))
    throw py::type_error("expected a Tensor, got " + std::string(py::str(py::type::handle_of(h).attr("__name__"))));
  auto* inst = reinterpret_cast<py::detail::instance*>(h.ptr());
  py::detail::value_and_holder vh = inst->get_value_and_holder(tensor_type_info(), false);
  if (!vh || !vh.holder_constructed()) throw py::type_error("the Tensor was not initialised (missing __init__ call?)");
  return Tensor(vh.holder<TensorPtr>());
}

namespace {

// A class of the Python package, imported on first use and kept for the process's life.
#define TERRA_PACKAGE_CLASS(fn, module, name)    \
  const py::object& fn() {                       \
    static std::atomic<py::object*> cls{nullptr}; \
    return package_attr(cls, module, name);      \
  }
TERRA_PACKAGE_CLASS(size_class, "terra._size", "Size")
TERRA_PACKAGE_CLASS(device_class, "terra._device", "device")
TERRA_PACKAGE_CLASS(tensor_function, "terra._functions", "tensor")
#undef TERRA_PACKAGE_CLASS

// Built as tuple.__new__ builds a tuple subclass, without Size.__new__'s checks of each item
// (these are ints): t.shape is called all the time.
py::object size_object(const Shape& s) {
  auto* type = reinterpret_cast<PyTypeObject*>(size_class().ptr());
  auto size = py::reinterpret_steal<py::object>(type->tp_alloc(type, static_cast<Py_ssize_t>(s.size())));
  if (!size) throw py::error_already_set();
  for (size_t i = 0; i < s.size(); ++i) PyTuple_SET_ITEM(size.ptr(), i, py::int_(s[i]).release().ptr());
  return size;
}

// One immortal terra.device object per device, so t.device costs a lookup, not a construction.
py::object device_object(Device d) {
  static std::unordered_map<int, py::object*> cache;
  const int key = static_cast<int>(d.type) * 256 + d.index;
  auto it = cache.find(key);
  if (it == cache.end()) it = cache.emplace(key, new py::object(device_class()(d.str()))).first;
  return *it->second;
}

py::object scalar_value(const Tensor& t) {
  if (t.numel() != 1)
    throw py::value_error("only one element tensors can be converted to Python scalars (got " +
                          std::to_string(t.numel()) + " elements)");
  trace::note_read(t);  // item, float, int, index, bool: a fetch
  Tensor c = t.device().is_cpu() ? t : call1("to_device", {t}, {{"device", Device{}}});
  const void* p = static_cast<const char*>(c.storage()->data()) + c.offset() * static_cast<int64_t>(c.itemsize());
  switch (c.dtype()) {
    case DType::Bool: return py::bool_(*static_cast<const bool*>(p));
    case DType::Int32: return py::int_(*static_cast<const int32_t*>(p));
    case DType::Int64: return py::int_(*static_cast<const int64_t*>(p));
    case DType::Float32: return py::float_(*static_cast<const float*>(p));
    case DType::Float64: return py::float_(*static_cast<const double*>(p));
  }
  return py::none();
}

const OpDef& op(const char* name) { return Registry::instance().get(name); }

// The other operand of an operator: a tensor or a Python number; undefined for anything else,
// so the operator returns NotImplemented and Python tries the reflected one (numpy, user types).
Tensor operand(py::handle other) {
  if (is_tensor(other)) return unwrap(other);
  if (is_number(other)) return number_to_tensor(other);
  return Tensor();
}

py::object not_implemented() { return py::reinterpret_borrow<py::object>(Py_NotImplemented); }

template <bool Reverse>
py::object binary(const OpDef& def, const Tensor& self, py::handle other, const Attrs& attrs) {
  Tensor o = operand(other);
  if (!o.defined()) return not_implemented();
  if (Reverse) return wrap(dispatch(def, {o, self}, attrs)[0]);
  return wrap(dispatch(def, {self, o}, attrs)[0]);
}

py::object inplace(const OpDef& def, const Tensor& self, py::handle other, const Attrs& attrs) {
  Tensor o = operand(other);
  if (!o.defined()) return not_implemented();
  dispatch_inplace(def, {self, o}, attrs);
  return wrap(self);
}

py::object unary(const char* name, const Tensor& self) { return wrap(call1(name, {self})); }

// `t.data = src` rebinds the tensor in place. Deferred work issued before it reads the tensor as
// it was then (and the graph actor may be reading its fields right now): it all runs first.
void set_data(const Tensor& self, const Tensor& src) {
  trace::sync();
  TensorImpl* dst = self.impl();
  dst->storage = src.storage();
  dst->shape = src.shape();
  dst->strides = src.strides();
  dst->offset = src.offset();
  dst->dtype = src.dtype();
}

Tensor tensor_from(const TensorPtr& p) { return Tensor(p); }

}  // namespace

void bind_tensor(py::module_& m) {
  py::class_<TensorImpl, TensorPtr> cls(m, "Tensor", py::dynamic_attr());
  // Tensor(other) aliases other's data (how nn.Parameter is built); Tensor(*sizes) and
  // Tensor(sequence) are PyTorch's legacy float32 constructors.
  cls.def(py::init([](py::args args) -> TensorPtr {
    if (args.size() == 1 && is_tensor(args[0])) return unwrap(args[0]).alias().impl_ptr();
    if (args.size() == 1 && PySequence_Check(args[0].ptr()) && !PyUnicode_Check(args[0].ptr())) {
      py::object t = tensor_function()(args[0], py::arg("dtype") = dtype_object(DType::Float32));
      return unwrap(t).alias().impl_ptr();
    }
    Shape shape;
    for (py::handle a : args) shape.push_back(py::cast<int64_t>(a));
    return Tensor::empty(shape, DType::Float32).impl_ptr();
  }));
  cls.def_property_readonly("shape", [](const TensorPtr& t) { return size_object(t->shape); });
  cls.def("size", [](const TensorPtr& t, py::object dim) -> py::object {
    if (dim.is_none()) return size_object(t->shape);
    return py::int_(tensor_from(t).size(py::cast<int64_t>(dim)));
  }, py::arg("dim") = py::none());
  cls.def("stride", [](const TensorPtr& t, py::object dim) -> py::object {
    if (dim.is_none()) {
      py::tuple s(t->strides.size());
      for (size_t i = 0; i < t->strides.size(); ++i) s[i] = py::int_(t->strides[i]);
      return std::move(s);
    }
    return py::int_(tensor_from(t).stride(py::cast<int64_t>(dim)));
  }, py::arg("dim") = py::none());
  cls.def_property_readonly("dtype", [](const TensorPtr& t) { return dtype_object(t->dtype); });
  cls.def_property_readonly("device", [](const TensorPtr& t) { return device_object(t->storage->device()); });
  cls.def_property_readonly("is_cuda", [](const TensorPtr& t) { return t->storage->device().type == DeviceType::CUDA; });
  cls.def_property_readonly("is_cpu", [](const TensorPtr& t) { return t->storage->device().is_cpu(); });
  cls.def_property_readonly("ndim", [](const TensorPtr& t) { return t->shape.size(); });
  cls.def("dim", [](const TensorPtr& t) { return t->shape.size(); });
  cls.def("ndimension", [](const TensorPtr& t) { return t->shape.size(); });
  cls.def("numel", [](const TensorPtr& t) { return shape_numel(t->shape); });
  cls.def("nelement", [](const TensorPtr& t) { return shape_numel(t->shape); });
  cls.def("element_size", [](const TensorPtr& t) { return itemsize(t->dtype); });
  cls.def("storage_offset", [](const TensorPtr& t) { return t->offset; });
  cls.def("_storage_nbytes", [](const TensorPtr& t) { return t->storage->nbytes(); });  // Tensor.storage()
  cls.def("_is_non_overlapping_and_dense",  // preserve_format (_memory_format.py)
          [](const TensorPtr& t) { return is_non_overlapping_and_dense(t->shape, t->strides); });
  cls.def("is_contiguous", [](const TensorPtr& t, py::object) { return tensor_from(t).is_contiguous(); },
          py::arg("memory_format") = py::none());
  cls.def("data_ptr", [](const TensorPtr& t) { return reinterpret_cast<uintptr_t>(tensor_from(t).raw_data()); });
  cls.def("is_floating_point", [](const TensorPtr& t) { return is_floating(t->dtype); });
  cls.def("is_complex", [](const TensorPtr&) { return false; });
  cls.def("_is_same", [](const TensorPtr& a, const TensorPtr& b) { return a == b; });
  cls.def("_shares_storage", [](const TensorPtr& a, const TensorPtr& b) { return a->storage == b->storage; });
  cls.def_property_readonly("_version", [](const TensorPtr& t) { return t->storage->version(); });

  // Python numbers and truth values.
  cls.def("item", [](const TensorPtr& t) { return scalar_value(tensor_from(t)); });
  cls.def("__float__", [](const TensorPtr& t) { return py::float_(scalar_value(tensor_from(t))); });
  cls.def("__int__", [](const TensorPtr& t) { return py::int_(scalar_value(tensor_from(t))); });
  cls.def("__index__", [](const TensorPtr& t) {
    if (is_floating(t->dtype) || shape_numel(t->shape) != 1)
      throw py::type_error("only integer tensors of a single element can be converted to an index");
    return py::int_(scalar_value(tensor_from(t)));
  });
  cls.def("__bool__", [](const TensorPtr& t) {
    if (shape_numel(t->shape) != 1) {
      if (shape_numel(t->shape) == 0) throw std::runtime_error("Boolean value of Tensor with no values is ambiguous");
      throw std::runtime_error("Boolean value of Tensor with more than one value is ambiguous");
    }
    return py::cast<bool>(py::bool_(scalar_value(tensor_from(t))));
  });
  cls.def("__len__", [](const TensorPtr& t) {
    if (t->shape.empty()) throw py::type_error("len() of a 0-d tensor");
    return t->shape[0];
  });
  cls.def("__hash__", [](py::handle self) { return py::int_(reinterpret_cast<uintptr_t>(self.ptr())); });

  // Autograd state.
  cls.def_property(
      "requires_grad", [](const TensorPtr& t) { return autograd::requires_grad(tensor_from(t)); },
      [](const TensorPtr& t, bool r) { autograd::set_requires_grad(tensor_from(t), r); });
  cls.def("requires_grad_", [](const TensorPtr& t, bool r) {
    autograd::set_requires_grad(tensor_from(t), r);
    return t;
  }, py::arg("requires_grad") = true);
  cls.def_property(
      "grad",
      [](const TensorPtr& t) {
        const Tensor self = tensor_from(t);
        Tensor g = autograd::grad(self);
        const AutogradMeta* m = autograd::meta(self);
        if (!g.defined() && !autograd::is_leaf(self) && !(m && m->retains_grad) &&
            PyErr_WarnEx(PyExc_UserWarning,
                         "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
                         "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
                         "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
                         "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
                         "instead.",
                         1) < 0)
          throw py::error_already_set();  // warnings turned into errors
        return wrap(g);
      },
      [](const TensorPtr& t, py::object g) { autograd::set_grad(tensor_from(t), g.is_none() ? Tensor() : unwrap(g)); });
  cls.def_property_readonly("is_leaf", [](const TensorPtr& t) { return autograd::is_leaf(tensor_from(t)); });
  cls.def_property_readonly("retains_grad", [](const TensorPtr& t) {
    const AutogradMeta* m = autograd::meta(tensor_from(t));
    return m && m->retains_grad;
  });
  cls.def_property_readonly("grad_fn", [](const TensorPtr& t) -> py::object {
    const auto& fn = autograd::grad_fn(tensor_from(t));
    if (!fn) return py::none();
    return py::cast(fn);
  });
  cls.def("retain_grad", [](const TensorPtr& t) { autograd::retain_grad(tensor_from(t)); });
  cls.def("detach", [](const TensorPtr& t) { return autograd::detach(tensor_from(t)).impl_ptr(); });
  cls.def("detach_", [](const TensorPtr& t) {
    if (t->autograd) {
      t->autograd->grad_fn.reset();
      t->autograd->requires_grad = false;
      t->autograd->view_base = Tensor();
    }
    return t;
  });
  cls.def_property(
      "data", [](const TensorPtr& t) { return autograd::data(tensor_from(t)).impl_ptr(); },
      [](const TensorPtr& t, py::handle src) { set_data(tensor_from(t), unwrap(src)); });
  cls.def("_set_data", [](const TensorPtr& t, py::handle src) { set_data(tensor_from(t), unwrap(src)); });

  // Operators. Comparisons with anything that is not a tensor or a number defer to Python.
  struct Bin {
    const char* py;
    const char* op;
    bool reverse;
  };
  static const Bin binaries[] = {
      {"__add__", "add", false},       {"__radd__", "add", true},       {"__sub__", "sub", false},
      {"__rsub__", "sub", true},       {"__mul__", "mul", false},       {"__rmul__", "mul", true},
      {"__truediv__", "div", false},   {"__rtruediv__", "div", true},   {"__mod__", "remainder", false},
      {"__rmod__", "remainder", true}, {"__pow__", "pow", false},       {"__rpow__", "pow", true},
      {"__matmul__", "matmul", false}, {"__rmatmul__", "matmul", true}, {"__eq__", "eq", false},
      {"__ne__", "ne", false},         {"__lt__", "lt", false},         {"__le__", "le", false},
      {"__gt__", "gt", false},         {"__ge__", "ge", false},         {"__and__", "bitwise_and", false},
      {"__rand__", "bitwise_and", true}, {"__or__", "bitwise_or", false}, {"__ror__", "bitwise_or", true},
      {"__xor__", "bitwise_xor", false}, {"__rxor__", "bitwise_xor", true},
      {"__lshift__", "bitwise_left_shift", false}, {"__rlshift__", "bitwise_left_shift", true},
      {"__rshift__", "bitwise_right_shift", false}, {"__rrshift__", "bitwise_right_shift", true},
  };
  // Each operator resolves its op and default attributes once, here.
  struct Bound {
    const OpDef* op;
    Attrs attrs;
  };
  auto bound = [](const char* name, const NamedAttrs& named = {}) {
    const OpDef& def = op(name);
    return std::make_shared<Bound>(Bound{&def, make_attrs(def, named)});
  };
  for (const Bin& b : binaries) {
    auto f = bound(b.op);
    if (b.reverse)
      cls.def(b.py, [f](const TensorPtr& t, py::handle o) { return binary<true>(*f->op, tensor_from(t), o, f->attrs); });
    else
      cls.def(b.py, [f](const TensorPtr& t, py::handle o) { return binary<false>(*f->op, tensor_from(t), o, f->attrs); });
  }
  auto floor_div = bound("div", {{"rounding_mode", "floor"}});
  cls.def("__floordiv__", [floor_div](const TensorPtr& t, py::handle o) {
    return binary<false>(*floor_div->op, tensor_from(t), o, floor_div->attrs);
  });
  cls.def("__rfloordiv__", [floor_div](const TensorPtr& t, py::handle o) {
    return binary<true>(*floor_div->op, tensor_from(t), o, floor_div->attrs);
  });
  static const std::pair<const char*, const char*> inplaces[] = {
      {"__iadd__", "add"}, {"__isub__", "sub"}, {"__imul__", "mul"}, {"__itruediv__", "div"},
      {"__imod__", "remainder"}, {"__ipow__", "pow"}, {"__iand__", "bitwise_and"}, {"__ior__", "bitwise_or"},
      {"__ixor__", "bitwise_xor"}, {"__ilshift__", "bitwise_left_shift"}, {"__irshift__", "bitwise_right_shift"},
  };
  for (const auto& [py_name, opname] : inplaces) {
    auto f = bound(opname);
    cls.def(py_name, [f](const TensorPtr& t, py::handle other) { return inplace(*f->op, tensor_from(t), other, f->attrs); });
  }
  cls.def("__ifloordiv__", [floor_div](const TensorPtr& t, py::handle o) {
    return inplace(*floor_div->op, tensor_from(t), o, floor_div->attrs);
  });
  cls.def("__neg__", [](const TensorPtr& t) { return unary("neg", tensor_from(t)); });
  cls.def("__pos__", [](const TensorPtr& t) { return t; });
  cls.def("__abs__", [](const TensorPtr& t) { return unary("abs", tensor_from(t)); });
  cls.def("__invert__", [](const TensorPtr& t) {
    if (!is_integral(t->dtype, true))
      throw py::type_error("~ (operator.invert) is only implemented on integer and Boolean-type tensors");
    return unary("bitwise_not", tensor_from(t));
  });
}

}  // namespace terra::python
