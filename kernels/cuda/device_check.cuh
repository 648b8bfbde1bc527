// Checks of data values (index bounds, probabilities, class labels) made on the device and
// raised on the host. See Note [Data checks on CUDA].
//
// Note [Data checks on CUDA]
// The CPU kernels raise a terra::Error (IndexError for an index out of bounds) when a value they
// read is invalid, before anything is written. A CUDA kernel cannot throw, and PyTorch's answer, a
// device-side assert, leaves the CUDA context unusable. Terra's CUDA kernels instead record the
// first invalid value they see in a small device slot (DeviceCheck::Slot), and the host reads the
// slot back right after the checking launch and raises the same kind of error as the CPU kernel,
// before the launches that would use the values. That read is a synchronization of the stream,
// made only by the ops whose inputs carry such values (index, index_put, index_select, index_add,
// gather, scatter*, one_hot, bernoulli); the failing call leaves its output unwritten and the
// device usable. The message names one invalid value, not necessarily the first in row-major order.
#pragma once
#include <cuda_runtime.h>

#include <optional>

#include "kernels/cuda/read_back.cuh"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"
#include "tensor/tensor.hpp"

namespace terra::cuda {

class DeviceCheck {
 public:
  // Where kernels record an invalid value: flag != 0 once one has been seen.
  struct Slot {
    unsigned long long* flag;
    long long* value;
    __device__ void record(int64_t v) const {
      if (atomicCAS(flag, 0ull, 1ull) == 0ull) *value = static_cast<long long>(v);
    }
  };

  explicit DeviceCheck(Device device) : buffer_(Tensor::empty({2}, DType::Int64, device)) {
    TERRA_CUDA_CHECK(cudaMemsetAsync(buffer_.raw_data(), 0, 2 * sizeof(int64_t), current_stream()));
  }

  Slot slot() const {
    auto* p = static_cast<long long*>(buffer_.raw_data());
    return {reinterpret_cast<unsigned long long*>(p), p + 1};
  }

  // Waits for the launches queued so far; the recorded value, if any was recorded.
  std::optional<int64_t> read() const {
    long long host[2];
    read_back(host, static_cast<const long long*>(buffer_.raw_data()), 2);
    if (host[0] == 0) return std::nullopt;
    return static_cast<int64_t>(host[1]);
  }

 private:
  Tensor buffer_;
};

}  // namespace terra::cuda
