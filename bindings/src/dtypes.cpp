// dtype objects (terra.float32 ...), Python numbers as wrapped tensors, device parsing.
#include "bindings/src/common.hpp"

namespace terra::python {
namespace {

constexpr DType kAll[] = {DType::Bool, DType::Int32, DType::Int64, DType::Float32, DType::Float64};

py::object& dtype_slot(DType d) {
  static py::object* objects = new py::object[5];  // immortal: never destroyed at exit
  return objects[static_cast<int>(d)];
}

}  // namespace

py::object dtype_object(DType d) { return dtype_slot(d); }

bool is_dtype(py::handle h) { return py::isinstance<DTypeObject>(h); }

DType to_dtype(py::handle h) {
  if (is_dtype(h)) return h.cast<const DTypeObject&>().dtype;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyFloat_Type)) return DType::Float64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyLong_Type)) return DType::Int64;
  if (h.ptr() == reinterpret_cast<PyObject*>(&PyBool_Type)) return DType::Bool;
  if (py::hasattr(h, "_terra_refusal"))  // terra.uint8, terra.half, ... (_missing_dtypes.py)
    throw py::type_error(py::str(h.attr("_terra_refusal")).cast<std::string>());
  throw py::type_error("expected a terra dtype (terra.float32, terra.int64, ...), got " +
                       std::string(py::str(py::type::handle_of(h))));
}

bool is_number(py::handle h) {
  return PyBool_Check(h.ptr()) || PyLong_Check(h.ptr()) || PyFloat_Check(h.ptr()) ||
         (!is_tensor(h) && (PyIndex_Check(h.ptr()) || py::hasattr(h, "__float__")) && !PySequence_Check(h.ptr()));
}

Tensor number_to_tensor(py::handle h) {
  if (PyBool_Check(h.ptr())) return Tensor::wrap_scalar(h.ptr() == Py_True ? 1.0 : 0.0, DType::Bool);
  if (PyLong_Check(h.ptr()) || (!PyFloat_Check(h.ptr()) && PyIndex_Check(h.ptr()))) {
    int64_t v = py::cast<int64_t>(h);
    Tensor t = Tensor::empty({}, DType::Int64);
    *t.data<int64_t>() = v;  // exact for every int64 (a double would round large ones)
    t.impl()->wrapped_number = true;
    return t;
  }
  return Tensor::wrap_scalar(py::cast<double>(h), DType::Float64);
}

Device to_device(py::handle h) {
  if (h.is_none()) return Device{};
  if (PyLong_Check(h.ptr())) return parse_device("cuda:" + std::to_string(py::cast<int64_t>(h)));
  return parse_device(py::str(h));
}

void bind_dtypes(py::module_& m) {
  py::class_<DTypeObject>(m, "dtype")
      .def_property_readonly("is_floating_point", [](const DTypeObject& d) { return is_floating(d.dtype); })
      .def_property_readonly("is_complex", [](const DTypeObject&) { return false; })
      .def_property_readonly("is_signed", [](const DTypeObject& d) { return d.dtype != DType::Bool; })
      .def_property_readonly("itemsize", [](const DTypeObject& d) { return itemsize(d.dtype); })
      .def("__repr__", [](const DTypeObject& d) { return std::string("terra.") + dtype_name(d.dtype); })
      .def("__reduce__", [](const DTypeObject& d) {
        return py::make_tuple(py::module_::import("terra").attr("_dtype_from_name"), py::make_tuple(dtype_name(d.dtype)));
      });
  for (DType d : kAll) {
    dtype_slot(d) = py::cast(DTypeObject{d});
    m.attr(dtype_name(d)) = dtype_slot(d);
  }
  m.def("get_default_dtype", [] { return dtype_object(default_float_dtype()); });
  m.def("set_default_dtype", [](py::handle d) {
    DType dt = to_dtype(d);
    if (!is_floating(dt)) throw py::type_error("only floating-point types are supported as the default type");
    set_default_float_dtype(dt);
  });
}

}  // namespace terra::python
