// What the math functors (kernels/common/*_math.hpp) build on: <cmath>, <type_traits> and the op
// attributes on the host and in nvcc; under NVRTC (generated fused kernels), the stand-ins of
// rtc_std.hpp, since NVRTC has no host headers.
#pragma once
#if defined(__CUDACC_RTC__)
#include "kernels/common/rtc_std.hpp"
#else
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/attrs.hpp"
#endif
#include "tensor/macros.hpp"
