// Whether float32 products may use TF32 tensor cores (10-bit mantissa inputs: ~1e-3 relative
// instead of float32's ~1e-7), as PyTorch's switches: terra.backends.cuda.matmul.allow_tf32 for
// the cuBLAS(Lt) products and terra.backends.cudnn.allow_tf32 for the cuDNN convolutions. Both are
// false here until Python sets them (terra/backends sets PyTorch's defaults: matmul off, cuDNN on),
// so C++ callers and tests get full float32 precision. Read by kernels/cuda at every call.
#pragma once

namespace terra {

bool allow_tf32_matmul();
void set_allow_tf32_matmul(bool allow);
bool allow_tf32_cudnn();
void set_allow_tf32_cudnn(bool allow);

}  // namespace terra
