// numpy interop: Tensor.numpy() and terra.from_numpy share memory (as PyTorch's do);
// _tensor_from_numpy copies into Terra's allocator (terra.tensor).
#include <pybind11/numpy.h>

#include <cstring>

#include "engine/autograd/autograd_meta.hpp"
#include "engine/trace/session.hpp"
#include "bindings/src/common.hpp"

namespace terra::python {
namespace {

py::dtype numpy_dtype(DType d) {
  switch (d) {
    case DType::Bool: return py::dtype::of<bool>();
    case DType::Int32: return py::dtype::of<int32_t>();
    case DType::Int64: return py::dtype::of<int64_t>();
    case DType::Float32: return py::dtype::of<float>();
    case DType::Float64: return py::dtype::of<double>();
  }
  throw std::logic_error("unreachable");
}

DType terra_dtype(const py::array& a) {
  const py::dtype d = a.dtype();
  const char kind = d.kind();
  const auto size = d.itemsize();
  if (kind == 'b') return DType::Bool;
  if (kind == 'f' && size == 4) return DType::Float32;
  if (kind == 'f' && size == 8) return DType::Float64;
  if (kind == 'i' && size == 4) return DType::Int32;
  if (kind == 'i' && size == 8) return DType::Int64;
  throw py::type_error("can't convert np.ndarray of type numpy." + std::string(py::str(py::object(d))) +
                       ". The only supported types are: float64, float32, int64, int32, and bool.");
}

py::array to_numpy(const TensorPtr& impl, bool force) {
  Tensor t(impl);
  if (!force && autograd::requires_grad(t))
    throw std::runtime_error("Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.");
  if (!t.device().is_cpu())
    throw py::type_error("can't convert " + t.device().str() +
                         " device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host memory first.");
  trace::note_read(t);  // numpy(), and through it tolist, __array__ and printing: a fetch
  std::vector<py::ssize_t> shape(t.shape().begin(), t.shape().end()), strides;
  for (int64_t s : t.strides()) strides.push_back(s * static_cast<py::ssize_t>(t.itemsize()));
  // The array keeps the storage alive through a capsule owning a reference to it.
  t.storage()->add_export();
  auto* keep = new Storage(t.storage());
  py::capsule owner(keep, [](void* p) {
    auto* storage = static_cast<Storage*>(p);
    (*storage)->drop_export();
    delete storage;
  });
  return py::array(numpy_dtype(t.dtype()), shape, strides, t.raw_data(), owner);
}

// Whether Python code can reach a borrowed array's memory other than through Terra: the array, or
// an array it views, is referenced from anywhere but Terra's reference and the view. A base that
// is not an array (bytes, a memoryview of a buffer somebody holds) counts as reachable.
bool array_reachable(const void* owner) {
  if (!PyGILState_Check()) return true;  // no refcount to trust without the GIL
  py::handle array = static_cast<const py::object*>(owner)->ptr();
  if (Py_REFCNT(array.ptr()) > 1) return true;
  for (int depth = 0; depth < 8; ++depth) {
    py::object base = py::reinterpret_steal<py::object>(PyObject_GetAttrString(array.ptr(), "base"));
    if (!base) {
      PyErr_Clear();
      return true;
    }
    if (base.is_none()) return false;
    if (Py_REFCNT(base.ptr()) > 2 || !py::isinstance<py::array>(base)) return true;  // 2: the view's and `base`
    array = base;  // alive through the view
  }
  return true;
}

Tensor shared_from_numpy(py::array a) {
  DType dtype = terra_dtype(a);
  if (!py::cast<bool>(a.dtype().attr("isnative"))) throw py::value_error("given numpy array has byte order different from the native byte order");
  Shape shape;
  Strides strides;
  for (py::ssize_t i = 0; i < a.ndim(); ++i) {
    shape.push_back(a.shape(i));
    if (a.strides(i) < 0)
      throw py::value_error("At least one stride in the given numpy array is negative, and tensors with negative "
                            "strides are not currently supported. (You can probably work around this by making a "
                            "copy of your array  with array.copy().)");
    if (a.strides(i) % a.itemsize() != 0)
      throw py::value_error("given numpy array strides not a multiple of the element byte size");
    strides.push_back(a.strides(i) / a.itemsize());
  }
  auto* ref = new py::object(a);
  Tensor t = Tensor::from_blob(a.mutable_data(), shape, strides, dtype, Device{}, [ref] {
    release_anywhere(*ref);
    delete ref;
  });
  t.storage()->set_reachable_probe(&array_reachable, ref);
  return t;
}

Tensor copied_from_numpy(py::array a) {
  DType dtype = terra_dtype(a);
  // Native byte order, C order, this dtype: numpy does the conversion, then one memcpy.
  py::array c = py::module_::import("numpy").attr("asarray")(a, numpy_dtype(dtype), "C");
  Shape shape(c.shape(), c.shape() + c.ndim());
  Tensor t = Tensor::empty(shape, dtype);
  std::memcpy(t.raw_data(), c.data(), static_cast<size_t>(t.numel()) * t.itemsize());
  return t;
}

}  // namespace

void bind_numpy(py::module_& m) {
  py::object tensor_cls = m.attr("Tensor");
  tensor_cls.attr("numpy") = py::cpp_function(
      [](const TensorPtr& t, bool force) { return to_numpy(t, force); }, py::name("numpy"), py::is_method(tensor_cls),
      py::arg("force") = false);
  m.def("from_numpy", [](py::array a) { return wrap(shared_from_numpy(a)); });
  m.def("_tensor_from_numpy", [](py::array a) { return wrap(copied_from_numpy(a)); });
}

}  // namespace terra::python
