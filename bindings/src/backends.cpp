// The C++ side of terra.backends' switches that kernels read: TF32 for the CUDA products and
// convolutions (kernels/math_mode.hpp).
#include "bindings/src/common.hpp"
#include "kernels/math_mode.hpp"
#include "terra_config.hpp"

namespace terra::python {

void bind_backends(py::module_& m) {
  m.attr("_built_with_cudnn") = static_cast<bool>(TERRA_WITH_CUDNN);
  m.def("_set_allow_tf32_matmul", &set_allow_tf32_matmul);
  m.def("_get_allow_tf32_matmul", &allow_tf32_matmul);
  m.def("_set_allow_tf32_cudnn", &set_allow_tf32_cudnn);
  m.def("_get_allow_tf32_cudnn", &allow_tf32_cudnn);
}

}  // namespace terra::python
