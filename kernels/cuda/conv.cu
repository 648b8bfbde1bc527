// CUDA kernels of the convolutions through cuDNN 9's legacy API: conv1d and conv2d (forward),
// conv_transpose2d (the data gradient of the convolution it transposes) and
// conv2d_backward_weight (its filter gradient), each described as one 2-D convolution
// (conv_geometry.hpp). Operands are made dense; a bias is added by cudnnAddTensor. Algorithms come
// from cuDNN's heuristics (the *_v7 queries), deterministic ones first, and are cached per shape
// (ConvKey). float32 runs without TF32 unless terra.backends.cudnn.allow_tf32 is set
// (kernels/math_mode.hpp). Built only when cuDNN is found (TERRA_WITH_CUDNN).
// Convolution + bias + activation as one cuDNN graph is conv_fused.hpp.
#include <climits>
#include <mutex>
#include <unordered_map>

#include "kernels/cuda/contiguous.cuh"
#include "kernels/cuda/conv_geometry.hpp"
#include "kernels/cuda/handles.hpp"
#include "kernels/kernel.hpp"
#include "kernels/math_mode.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {
namespace {

int cudnn_int(int64_t v) {
  TERRA_CHECK(v <= INT_MAX, NotImplemented, "convolution size ", v, " is too large for cuDNN");
  return static_cast<int>(v);
}

cudnnDataType_t cudnn_type(DType dt) { return dt == DType::Float32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE; }

// The descriptors of one convolution, destroyed with it.
struct ConvDescriptors {
  cudnnTensorDescriptor_t image = nullptr, grid = nullptr;
  cudnnFilterDescriptor_t filter = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;

  ConvDescriptors(const ConvGeometry& g, DType dtype, bool tf32) {
    const cudnnDataType_t t = cudnn_type(dtype);
    auto tensor = [&](cudnnTensorDescriptor_t* d, const Dims4& s) {
      TERRA_CUDNN_CHECK(cudnn().CreateTensorDescriptor(d));
      TERRA_CUDNN_CHECK(cudnn().SetTensor4dDescriptor(*d, CUDNN_TENSOR_NCHW, t, cudnn_int(s[0]), cudnn_int(s[1]),
                                                      cudnn_int(s[2]), cudnn_int(s[3])));
    };
    tensor(&image, g.image);
    tensor(&grid, g.grid);
    TERRA_CUDNN_CHECK(cudnn().CreateFilterDescriptor(&filter));
    TERRA_CUDNN_CHECK(cudnn().SetFilter4dDescriptor(filter, t, CUDNN_TENSOR_NCHW, cudnn_int(g.filter[0]),
                                                    cudnn_int(g.filter[1]), cudnn_int(g.filter[2]),
                                                    cudnn_int(g.filter[3])));
    TERRA_CUDNN_CHECK(cudnn().CreateConvolutionDescriptor(&conv));
    TERRA_CUDNN_CHECK(cudnn().SetConvolution2dDescriptor(conv, cudnn_int(g.padding[0]), cudnn_int(g.padding[1]),
                                                         cudnn_int(g.stride[0]), cudnn_int(g.stride[1]),
                                                         cudnn_int(g.dilation[0]), cudnn_int(g.dilation[1]),
                                                         CUDNN_CROSS_CORRELATION, t));
    TERRA_CUDNN_CHECK(cudnn().SetConvolutionGroupCount(conv, cudnn_int(g.groups)));
    // Default math lets float32 use TF32 tensor cores; FMA math keeps it off them (as PyTorch).
    const bool fma_only = dtype == DType::Float32 && !tf32;
    TERRA_CUDNN_CHECK(cudnn().SetConvolutionMathType(conv, fma_only ? CUDNN_FMA_MATH : CUDNN_DEFAULT_MATH));
  }
  ~ConvDescriptors() {
    if (conv) cudnn().DestroyConvolutionDescriptor(conv);
    if (filter) cudnn().DestroyFilterDescriptor(filter);
    if (grid) cudnn().DestroyTensorDescriptor(grid);
    if (image) cudnn().DestroyTensorDescriptor(image);
  }
  ConvDescriptors(const ConvDescriptors&) = delete;
  ConvDescriptors& operator=(const ConvDescriptors&) = delete;
};

struct AlgoChoice {
  int algo;
  size_t workspace;
};

// The three passes' cuDNN entry points, so one selection routine serves them all.
struct ForwardPass {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  using Algo = cudnnConvolutionFwdAlgo_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static cudnnStatus_t query(cudnnHandle_t h, const ConvDescriptors& d, int* n, Perf* perf) {
    return cudnn().GetConvolutionForwardAlgorithm_v7(h, d.image, d.filter, d.conv, d.grid, kCount, n, perf);
  }
  static cudnnStatus_t workspace(cudnnHandle_t h, const ConvDescriptors& d, Algo a, size_t* bytes) {
    return cudnn().GetConvolutionForwardWorkspaceSize(h, d.image, d.filter, d.conv, d.grid, a, bytes);
  }
};
struct BackwardDataPass {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  using Algo = cudnnConvolutionBwdDataAlgo_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static cudnnStatus_t query(cudnnHandle_t h, const ConvDescriptors& d, int* n, Perf* perf) {
    return cudnn().GetConvolutionBackwardDataAlgorithm_v7(h, d.filter, d.grid, d.conv, d.image, kCount, n, perf);
  }
  static cudnnStatus_t workspace(cudnnHandle_t h, const ConvDescriptors& d, Algo a, size_t* bytes) {
    return cudnn().GetConvolutionBackwardDataWorkspaceSize(h, d.filter, d.grid, d.conv, d.image, a, bytes);
  }
};
struct BackwardFilterPass {
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  using Algo = cudnnConvolutionBwdFilterAlgo_t;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static cudnnStatus_t query(cudnnHandle_t h, const ConvDescriptors& d, int* n, Perf* perf) {
    return cudnn().GetConvolutionBackwardFilterAlgorithm_v7(h, d.image, d.grid, d.conv, d.filter, kCount, n, perf);
  }
  static cudnnStatus_t workspace(cudnnHandle_t h, const ConvDescriptors& d, Algo a, size_t* bytes) {
    return cudnn().GetConvolutionBackwardFilterWorkspaceSize(h, d.image, d.grid, d.conv, d.filter, a, bytes);
  }
};

// The algorithm for a call: cached per key; otherwise the heuristics' ranking, deterministic
// algorithms first, the first whose workspace size cuDNN can state (it refuses algorithms that
// do not support the descriptors).
template <class Pass>
AlgoChoice choose_algo(cudnnHandle_t h, const ConvDescriptors& d, const ConvKey& key) {
  static std::mutex mutex;
  static std::unordered_map<ConvKey, AlgoChoice, ConvKeyHash> cache;
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
  }
  typename Pass::Perf perf[Pass::kCount];
  int returned = 0;
  TERRA_CUDNN_CHECK(Pass::query(h, d, &returned, perf));
  for (const bool deterministic : {true, false}) {
    for (int i = 0; i < returned; ++i) {
      if (perf[i].status != CUDNN_STATUS_SUCCESS || (perf[i].determinism == CUDNN_DETERMINISTIC) != deterministic)
        continue;
      size_t bytes = 0;
      if (Pass::workspace(h, d, perf[i].algo, &bytes) != CUDNN_STATUS_SUCCESS) continue;
      const AlgoChoice choice{static_cast<int>(perf[i].algo), bytes};
      std::lock_guard<std::mutex> lock(mutex);
      cache.emplace(key, choice);
      return choice;
    }
  }
  fail(ErrorKind::NotImplemented, "cuDNN has no algorithm for this convolution");
}

int current_device() {
  int device = 0;
  TERRA_CUDA_CHECK(cudaGetDevice(&device));
  return device;
}

ConvKey key_of(ConvPass pass, const ConvGeometry& g, DType dtype, bool tf32) {
  return {pass, static_cast<int>(dtype), tf32, current_device(), g};
}

// alpha = 1 and beta = 0 or 1 in the data's type, as cuDNN reads them.
struct Scaling {
  float f[2] = {1.f, 0.f};
  double d[2] = {1.0, 0.0};
  const void* alpha(DType dt) const { return dt == DType::Float32 ? static_cast<const void*>(&f[0]) : &d[0]; }
  const void* beta(DType dt, bool one) const {
    if (one) return alpha(dt);
    return dt == DType::Float32 ? static_cast<const void*>(&f[1]) : &d[1];
  }
};
const Scaling kScaling;

void zero(const Tensor& t) {
  if (t.numel() > 0) TERRA_CUDA_CHECK(cudaMemsetAsync(t.raw_data(), 0, t.numel() * t.itemsize(), current_stream()));
}

// out[:, c, ...] += bias[c] over the (N, C, H, W) dims `dims` of a dense out.
void add_bias(cudnnHandle_t h, const Tensor& out, const Dims4& dims, const Tensor& bias) {
  if (!bias.defined()) return;
  const Tensor b = as_contiguous(bias);
  const cudnnDataType_t t = cudnn_type(out.dtype());
  cudnnTensorDescriptor_t bd = nullptr, od = nullptr;
  TERRA_CUDNN_CHECK(cudnn().CreateTensorDescriptor(&bd));
  TERRA_CUDNN_CHECK(cudnn().CreateTensorDescriptor(&od));
  const cudnnStatus_t st1 = cudnn().SetTensor4dDescriptor(bd, CUDNN_TENSOR_NCHW, t, 1, cudnn_int(dims[1]), 1, 1);
  const cudnnStatus_t st2 = cudnn().SetTensor4dDescriptor(od, CUDNN_TENSOR_NCHW, t, cudnn_int(dims[0]),
                                                          cudnn_int(dims[1]), cudnn_int(dims[2]), cudnn_int(dims[3]));
  const cudnnStatus_t st3 = st1 == CUDNN_STATUS_SUCCESS && st2 == CUDNN_STATUS_SUCCESS
                                ? cudnn().AddTensor(h, kScaling.alpha(out.dtype()), bd, b.raw_data(),
                                                    kScaling.beta(out.dtype(), true), od, out.raw_data())
                                : CUDNN_STATUS_SUCCESS;
  cudnn().DestroyTensorDescriptor(od);
  cudnn().DestroyTensorDescriptor(bd);
  TERRA_CUDNN_CHECK(st1);
  TERRA_CUDNN_CHECK(st2);
  TERRA_CUDNN_CHECK(st3);
}

// conv1d / conv2d: grid = image * filter (+ bias).
template <int Spatial>
void conv_kernel(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]), w = as_contiguous(c.inputs[1]);
  const Tensor &bias = c.inputs[2], &y = c.outputs[0];
  if (y.numel() == 0) return;
  const ConvGeometry g = conv_geometry(x.shape(), w.shape(), y.shape(), c.attrs, Spatial);
  cudnnHandle_t h = cudnn_handle();
  if (x.numel() == 0 || w.numel() == 0) {  // nothing to sum: the bias alone (cuDNN refuses empty dims)
    zero(y);
    add_bias(h, y, g.grid, bias);
    return;
  }
  const bool tf32 = allow_tf32_cudnn();
  const ConvDescriptors d(g, y.dtype(), tf32);
  const AlgoChoice a = choose_algo<ForwardPass>(h, d, key_of(ConvPass::Forward, g, y.dtype(), tf32));
  const Workspace ws(a.workspace);
  TERRA_CUDNN_CHECK(cudnn().ConvolutionForward(h, kScaling.alpha(y.dtype()), d.image, x.raw_data(), d.filter,
                                               w.raw_data(), d.conv, static_cast<cudnnConvolutionFwdAlgo_t>(a.algo),
                                               ws.data(), ws.size(), kScaling.beta(y.dtype(), false), d.grid,
                                               y.raw_data()));
  add_bias(h, y, g.grid, bias);
}

// conv_transpose2d: its output is the image whose data gradient its input (the grid) is.
void conv_transpose2d_kernel(KernelCall& c) {
  const Tensor x = as_contiguous(c.inputs[0]), w = as_contiguous(c.inputs[1]);
  const Tensor &bias = c.inputs[2], &y = c.outputs[0];
  if (y.numel() == 0) return;
  // The convolution transposed has the weight's (in, out / groups) as its (out, in / groups).
  const ConvGeometry g = conv_geometry(y.shape(), w.shape(), x.shape(), c.attrs, 2);
  cudnnHandle_t h = cudnn_handle();
  if (x.numel() == 0 || w.numel() == 0) {
    zero(y);
    add_bias(h, y, g.image, bias);
    return;
  }
  const bool tf32 = allow_tf32_cudnn();
  const ConvDescriptors d(g, y.dtype(), tf32);
  const AlgoChoice a = choose_algo<BackwardDataPass>(h, d, key_of(ConvPass::BackwardData, g, y.dtype(), tf32));
  const Workspace ws(a.workspace);
  TERRA_CUDNN_CHECK(cudnn().ConvolutionBackwardData(h, kScaling.alpha(y.dtype()), d.filter, w.raw_data(), d.grid,
                                                    x.raw_data(), d.conv,
                                                    static_cast<cudnnConvolutionBwdDataAlgo_t>(a.algo), ws.data(),
                                                    ws.size(), kScaling.beta(y.dtype(), false), d.image, y.raw_data()));
  add_bias(h, y, g.image, bias);
}

// conv2d_backward_weight(grad_output, input): the filter gradient. A grid shorter than the
// convolution's full output (a transposed convolution's weight gradient) is zero-padded to it:
// positions without a gradient contribute nothing.
void conv2d_backward_weight_kernel(KernelCall& c) {
  Tensor grad = as_contiguous(c.inputs[0]);
  const Tensor x = as_contiguous(c.inputs[1]);
  const Tensor& dw = c.outputs[0];
  if (dw.numel() == 0) return;
  ConvGeometry g = conv_geometry(x.shape(), dw.shape(), grad.shape(), c.attrs, 2);
  if (grad.numel() == 0 || x.numel() == 0) {
    zero(dw);
    return;
  }
  const Dims4 full = g.full_grid();
  if (full != g.grid) {
    Shape padded = grad.shape();
    padded[padded.size() - 2] = full[2];
    padded[padded.size() - 1] = full[3];
    const Tensor p = Tensor::empty(padded, grad.dtype(), grad.device());
    zero(p);
    Strides strides = p.strides();
    copy_into(p.as_strided(grad.shape(), strides, p.offset()), grad);
    grad = p;
    g.grid = full;
  }
  cudnnHandle_t h = cudnn_handle();
  const bool tf32 = allow_tf32_cudnn();
  const ConvDescriptors d(g, dw.dtype(), tf32);
  const AlgoChoice a = choose_algo<BackwardFilterPass>(h, d, key_of(ConvPass::BackwardFilter, g, dw.dtype(), tf32));
  const Workspace ws(a.workspace);
  TERRA_CUDNN_CHECK(cudnn().ConvolutionBackwardFilter(h, kScaling.alpha(dw.dtype()), d.image, x.raw_data(), d.grid,
                                                      grad.raw_data(), d.conv,
                                                      static_cast<cudnnConvolutionBwdFilterAlgo_t>(a.algo), ws.data(),
                                                      ws.size(), kScaling.beta(dw.dtype(), false), d.filter,
                                                      dw.raw_data()));
}

}  // namespace

TERRA_KERNEL(conv1d, CUDA, conv_kernel<1>);
TERRA_KERNEL(conv2d, CUDA, conv_kernel<2>);
TERRA_KERNEL(conv_transpose2d, CUDA, conv_transpose2d_kernel);
TERRA_KERNEL(conv2d_backward_weight, CUDA, conv2d_backward_weight_kernel);

}  // namespace terra::cuda
