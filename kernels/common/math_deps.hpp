// What the math functors (kernels/common/*_math.hpp) build on: <cmath>, <limits>, <type_traits>
// and the op attributes on the host and in nvcc; under NVRTC (generated fused kernels), the
// stand-ins of rtc_std.hpp, since NVRTC has no host headers. And fn::exp / fn::tanh (below).
#pragma once
#if defined(__CUDACC_RTC__)
#include "kernels/common/rtc_std.hpp"
#else
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kernels/attrs.hpp"
#endif
#include "tensor/macros.hpp"

// exp and tanh as the functors call them: CUDA's on the device (and under NVRTC), on the host
// the vectorizable ones of host_math.hpp instead of libm's one-at-a-time calls.
#if defined(__CUDA_ARCH__) || defined(__CUDACC_RTC__)
namespace terra::math::fn {
using std::exp;
using std::tanh;
}  // namespace terra::math::fn
#else
#include "kernels/common/host_math.hpp"
namespace terra::math::fn {
using host::exp;
using host::tanh;
}  // namespace terra::math::fn
#endif
