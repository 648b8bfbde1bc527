// The extension module terra._C: registers the types and functions of each binding file and
// maps terra::Error kinds to the Python exceptions PyTorch raises for the same mistakes.
#include "bindings/src/common.hpp"
#include "kernels/cpu/parallel.hpp"
#include "terra_config.hpp"

namespace terra::python {
namespace {

// terra.OutOfMemoryError, a RuntimeError as torch.OutOfMemoryError is (set when the module loads).
PyObject* out_of_memory_error = PyExc_MemoryError;

PyObject* exception_for(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::Type: return PyExc_TypeError;
    case ErrorKind::Value: return PyExc_ValueError;
    case ErrorKind::Index: return PyExc_IndexError;
    case ErrorKind::NotImplemented: return PyExc_NotImplementedError;
    case ErrorKind::OutOfMemory: return out_of_memory_error;
    case ErrorKind::Runtime: break;
  }
  return PyExc_RuntimeError;
}

}  // namespace
}  // namespace terra::python

PYBIND11_MODULE(_C, m) {
  using namespace terra::python;
  m.doc() = "Terra's engine: tensors, the op registry, autograd";
  m.attr("__version__") = TERRA_VERSION;
  m.attr("_built_with_cuda") = static_cast<bool>(TERRA_WITH_CUDA);
  m.attr("_cuda_version") = TERRA_CUDA_VERSION;  // the toolkit built against; empty without CUDA
  // torch.set_num_threads: Terra's kernel pool, and OpenBLAS's with it (Note [GEMM threading]).
  m.def("_set_num_threads", [](int n) {
    TERRA_CHECK(n > 0, Runtime, "set_num_threads expects a positive integer");
    terra::cpu::set_num_threads(n);
  });
  m.def("_get_num_threads", &terra::cpu::num_threads);
  // Never destroyed: the type must outlive the interpreter's last exception.
  auto* oom = new py::exception<terra::Error>(m, "OutOfMemoryError", PyExc_RuntimeError);
  oom->attr("__module__") = "terra";
  out_of_memory_error = oom->ptr();
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const terra::Error& e) {
      PyErr_SetString(exception_for(e.kind()), e.what());
    }
  });
  bind_dtypes(m);
  bind_tensor(m);
  bind_ops(m);
  bind_autograd(m);
  bind_custom_function(m);
  bind_numpy(m);
  bind_random(m);
  bind_trace(m);
  bind_memory(m);
  bind_backends(m);
}
