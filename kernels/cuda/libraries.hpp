// The functions Terra calls in cuBLAS, cuBLASLt, cuDNN and NVRTC, one table per library, loaded on
// first use (Note [Lazy CUDA libraries] in lazy_library.hpp). Call them through the table:
// TERRA_CUBLAS_CHECK(cublas().SetStream(h, stream)). A function Terra starts calling gets its line
// in the library's list below, nothing else.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <nvrtc.h>

#include "kernels/cuda/lazy_library.hpp"
#include "terra_config.hpp"
#if TERRA_WITH_CUDNN
#include <cudnn.h>
#endif

#define TERRA_CUBLAS_FUNCTIONS(X)      \
  X(cublas, Create)                    \
  X(cublas, SetStream)                 \
  X(cublas, SetMathMode)               \
  X(cublas, SgemmStridedBatched)       \
  X(cublas, DgemmStridedBatched)       \
  X(cublas, GetStatusName)             \
  X(cublas, GetStatusString)

#define TERRA_CUBLASLT_FUNCTIONS(X)            \
  X(cublasLt, Create)                          \
  X(cublasLt, MatmulDescCreate)                \
  X(cublasLt, MatmulDescDestroy)               \
  X(cublasLt, MatmulDescSetAttribute)          \
  X(cublasLt, MatrixLayoutCreate)              \
  X(cublasLt, MatrixLayoutDestroy)             \
  X(cublasLt, MatmulPreferenceCreate)          \
  X(cublasLt, MatmulPreferenceDestroy)         \
  X(cublasLt, MatmulPreferenceSetAttribute)    \
  X(cublasLt, MatmulAlgoGetHeuristic)          \
  X(cublasLt, Matmul)

#define TERRA_CUDNN_FUNCTIONS(X)                         \
  X(cudnn, Create)                                       \
  X(cudnn, SetStream)                                    \
  X(cudnn, GetErrorString)                               \
  X(cudnn, CreateTensorDescriptor)                       \
  X(cudnn, SetTensor4dDescriptor)                        \
  X(cudnn, DestroyTensorDescriptor)                      \
  X(cudnn, CreateFilterDescriptor)                       \
  X(cudnn, SetFilter4dDescriptor)                        \
  X(cudnn, DestroyFilterDescriptor)                      \
  X(cudnn, CreateConvolutionDescriptor)                  \
  X(cudnn, SetConvolution2dDescriptor)                   \
  X(cudnn, SetConvolutionGroupCount)                     \
  X(cudnn, SetConvolutionMathType)                       \
  X(cudnn, DestroyConvolutionDescriptor)                 \
  X(cudnn, GetConvolutionForwardAlgorithm_v7)            \
  X(cudnn, GetConvolutionForwardWorkspaceSize)           \
  X(cudnn, GetConvolutionBackwardDataAlgorithm_v7)       \
  X(cudnn, GetConvolutionBackwardDataWorkspaceSize)      \
  X(cudnn, GetConvolutionBackwardFilterAlgorithm_v7)     \
  X(cudnn, GetConvolutionBackwardFilterWorkspaceSize)    \
  X(cudnn, ConvolutionForward)                           \
  X(cudnn, ConvolutionBackwardData)                      \
  X(cudnn, ConvolutionBackwardFilter)                    \
  X(cudnn, AddTensor)                                    \
  X(cudnn, BackendCreateDescriptor)                      \
  X(cudnn, BackendDestroyDescriptor)                     \
  X(cudnn, BackendSetAttribute)                          \
  X(cudnn, BackendGetAttribute)                          \
  X(cudnn, BackendFinalize)                              \
  X(cudnn, BackendExecute)

#define TERRA_NVRTC_FUNCTIONS(X)   \
  X(nvrtc, Version)                \
  X(nvrtc, GetErrorString)         \
  X(nvrtc, CreateProgram)          \
  X(nvrtc, DestroyProgram)         \
  X(nvrtc, CompileProgram)         \
  X(nvrtc, GetProgramLogSize)      \
  X(nvrtc, GetProgramLog)          \
  X(nvrtc, GetCUBINSize)           \
  X(nvrtc, GetCUBIN)

namespace terra::cuda {

TERRA_LAZY_TABLE(CublasApi, TERRA_CUBLAS_FUNCTIONS);
TERRA_LAZY_TABLE(CublasLtApi, TERRA_CUBLASLT_FUNCTIONS);
TERRA_LAZY_TABLE(NvrtcApi, TERRA_NVRTC_FUNCTIONS);
const CublasApi& cublas();
const CublasLtApi& cublaslt();
const NvrtcApi& nvrtc();

#if TERRA_WITH_CUDNN
TERRA_LAZY_TABLE(CudnnApi, TERRA_CUDNN_FUNCTIONS);
const CudnnApi& cudnn();
#endif

}  // namespace terra::cuda
