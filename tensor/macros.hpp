// TERRA_HD marks functions that both the CPU and CUDA kernels use (math functors, Philox).
#pragma once
#if defined(__CUDACC__)
#define TERRA_HD __host__ __device__ __forceinline__
#else
#define TERRA_HD inline
#endif
