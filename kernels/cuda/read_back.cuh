// read_back(host, device, n): copies n values from the device once the current stream has
// produced them. It synchronizes, so kernels use it only where the host must see data to decide
// (the data checks that raise the CPU's errors: targets and indices out of bounds, inputs out of
// range).
#pragma once
#include <cstdint>

#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {

template <class T>
void read_back(T* host, const T* device, int64_t n) {
  if (n == 0) return;
  TERRA_CUDA_CHECK(cudaMemcpyAsync(host, device, n * sizeof(T), cudaMemcpyDeviceToHost, current_stream()));
  TERRA_CUDA_CHECK(cudaStreamSynchronize(current_stream()));
}

}  // namespace terra::cuda
