// Shared pieces of the extension module: the Python view of a Tensor (its Python object is tied
// to the C++ TensorImpl, so identity survives round trips through C++), dtype objects, and the
// conversions every binding file needs.
#pragma once
#include <pybind11/pybind11.h>
#include <atomic>
#include <pybind11/stl.h>

#include "engine/dispatch/dispatcher.hpp"

namespace terra::python {

namespace py = pybind11;

// Lets go of a Python object on any thread: with the GIL taken, or not at all once the interpreter
// is gone (leaked rather than touched). For C++ owners dropped where Python does not decide when:
// graph nodes released by a span job while Python waits, storages borrowed from numpy.
inline void release_anywhere(py::object& o) {
  if (!Py_IsInitialized()) {
    o.release();
    return;
  }
  py::gil_scoped_acquire gil;
  o = py::object();
}

// An attribute of a module of the package, imported on first use and kept for the process's life
// (call with the GIL held). Not a function-local static: importing lets go of the GIL, and a
// second thread arriving meanwhile would wait in the static's guard while holding the GIL the
// first one needs back (two threads calling backward() for the first time hung that way). Two
// threads may both import; one result is kept.
inline const py::object& package_attr(std::atomic<py::object*>& slot, const char* module, const char* name) {
  if (py::object* kept = slot.load(std::memory_order_acquire)) return *kept;
  auto* made = new py::object(py::module_::import(module).attr(name));
  py::object* expected = nullptr;
  if (slot.compare_exchange_strong(expected, made, std::memory_order_acq_rel)) return *made;
  delete made;  // another thread kept its own first (the GIL is held: the decref is safe)
  return *expected;
}
using TensorPtr = std::shared_ptr<TensorImpl>;

// The Python object of a tensor (None for an undefined one); the same object every time for the
// same TensorImpl while that object is alive.
py::object wrap(const Tensor& t);
py::object wrap_all(const TensorList& ts);  // one tensor: itself; several: a tuple
bool is_tensor(py::handle h);
Tensor unwrap(py::handle h);  // TypeError when h is not a Tensor

// Python numbers as 0-d "wrapped number" tensors (weak in type promotion, like PyTorch's).
bool is_number(py::handle h);
Tensor number_to_tensor(py::handle h);

// terra.float32 and friends: one immortal object per dtype.
struct DTypeObject {
  DType dtype;
};
py::object dtype_object(DType d);
bool is_dtype(py::handle h);
DType to_dtype(py::handle h);  // a terra dtype, or Python's float/int/bool

Device to_device(py::handle h);

// Calls a registry op with Python arguments matched to its schema; `self` (may be null) is the
// tensor a method was called on, taken as the first argument; `inplace` writes the result into
// the first tensor argument (x.add_(y)).
py::object call_op(const OpDef& op, py::handle self, const py::args& args, const py::kwargs& kwargs,
                   bool inplace = false);  // "cpu", "cuda:0", terra.device, an int (CUDA index)

void bind_dtypes(py::module_& m);
void bind_tensor(py::module_& m);
void bind_ops(py::module_& m);
void bind_autograd(py::module_& m);
void bind_custom_function(py::module_& m);
void bind_numpy(py::module_& m);
void bind_random(py::module_& m);
void bind_trace(py::module_& m);
void bind_memory(py::module_& m);
void bind_backends(py::module_& m);

}  // namespace terra::python
