// The library tables of libraries.hpp and the sonames they load: the major versions of the
// headers Terra is built with, so the library loaded is the one the tables' types came from.
#include "kernels/cuda/libraries.hpp"

#include <cuda_runtime_api.h>

#include <string>

namespace terra::cuda {

const CublasApi& cublas() {
  static const LazyTable<CublasApi> table("cuBLAS", "libcublas.so." TERRA_LAZY_STRING(CUBLAS_VER_MAJOR));
  return table.get();
}

const CublasLtApi& cublaslt() {
  static const LazyTable<CublasLtApi> table("cuBLASLt", "libcublasLt.so." TERRA_LAZY_STRING(CUBLAS_VER_MAJOR));
  return table.get();
}

// NVRTC ships with the toolkit and carries its major version (CUDA 13: libnvrtc.so.13).
const NvrtcApi& nvrtc() {
  static const LazyTable<NvrtcApi> table("NVRTC", "libnvrtc.so." + std::to_string(CUDART_VERSION / 1000));
  return table.get();
}

#if TERRA_WITH_CUDNN
// Found through libterra's RUNPATH, which names the folder Meson found cuDNN in.
const CudnnApi& cudnn() {
  static const LazyTable<CudnnApi> table("cuDNN", "libcudnn.so." TERRA_LAZY_STRING(CUDNN_MAJOR));
  return table.get();
}
#endif

}  // namespace terra::cuda
