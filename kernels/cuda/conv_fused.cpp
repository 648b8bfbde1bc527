// conv2d_bias_activation (conv_fused.hpp) through cuDNN's backend (graph) API: tensors X, W, B, Y
// and virtual intermediates, a convolution-forward operation, a pointwise add of the bias and a
// pointwise activation, as one operation graph; cuDNN's heuristics (mode A) rank engine configs,
// the first that finalizes into an execution plan (and, for float32 without TF32, has no
// tensor-core numerical note) runs with a workspace from the caching allocator.
#include "kernels/cuda/conv_fused.hpp"

#include <utility>
#include <vector>

#include "kernels/cuda/handles.hpp"
#include "kernels/math_mode.hpp"
#include "tensor/error.hpp"

namespace terra::cuda {

#if TERRA_WITH_CUDNN
namespace {

// One backend descriptor, destroyed with the object.
class Backend {
 public:
  explicit Backend(cudnnBackendDescriptorType_t type) { TERRA_CUDNN_CHECK(cudnn().BackendCreateDescriptor(type, &d_)); }
  ~Backend() {
    if (d_) cudnn().BackendDestroyDescriptor(d_);
  }
  Backend(Backend&& o) noexcept : d_(std::exchange(o.d_, nullptr)) {}
  Backend(const Backend&) = delete;
  Backend& operator=(const Backend&) = delete;
  cudnnBackendDescriptor_t get() const { return d_; }

  template <class V>
  Backend& set(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type, const V* values, int64_t count = 1) {
    TERRA_CUDNN_CHECK(cudnn().BackendSetAttribute(d_, name, type, count, values));
    return *this;
  }
  Backend& set_desc(cudnnBackendAttributeName_t name, const Backend& other) {
    cudnnBackendDescriptor_t o = other.get();
    return set(name, CUDNN_TYPE_BACKEND_DESCRIPTOR, &o);
  }
  void finalize() { TERRA_CUDNN_CHECK(cudnn().BackendFinalize(d_)); }
  bool try_finalize() { return cudnn().BackendFinalize(d_) == CUDNN_STATUS_SUCCESS; }

 private:
  cudnnBackendDescriptor_t d_ = nullptr;
};

int64_t alignment(const void* p) {
  int64_t align = 16;
  while (align > 1 && reinterpret_cast<uintptr_t>(p) % align != 0) align /= 2;
  return align;
}

Backend tensor(int64_t uid, cudnnDataType_t type, const std::array<int64_t, 4>& dims, int64_t align, bool is_virtual) {
  const std::array<int64_t, 4> strides{dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1};
  Backend t(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
  t.set(CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, &type)
      .set(CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, dims.data(), 4)
      .set(CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, strides.data(), 4)
      .set(CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, &uid)
      .set(CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, &align)
      .set(CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, &is_virtual);
  t.finalize();
  return t;
}

std::array<int64_t, 4> dims_of(const Tensor& t) { return {t.size(0), t.size(1), t.size(2), t.size(3)}; }

Backend pointwise(cudnnPointwiseMode_t mode, cudnnDataType_t precision, const Backend& x, const Backend* b,
                  const Backend& y) {
  Backend pw(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
  pw.set(CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, &mode)
      .set(CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, &precision);
  pw.finalize();
  Backend op(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
  op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw).set_desc(CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
  if (b) op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_BDESC, *b);
  op.set_desc(CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
  op.finalize();
  return op;
}

// Whether an engine config's engine uses tensor cores (TF32 for float32 data).
bool uses_tensor_cores(cudnnBackendDescriptor_t config) {
  Backend engine(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
  cudnnBackendDescriptor_t e = engine.get();
  int64_t n = 0;
  TERRA_CUDNN_CHECK(
      cudnn().BackendGetAttribute(config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &n, &e));
  cudnnBackendNumericalNote_t notes[CUDNN_NUMERICAL_NOTE_TYPE_COUNT];
  TERRA_CUDNN_CHECK(cudnn().BackendGetAttribute(e, CUDNN_ATTR_ENGINE_NUMERICAL_NOTE, CUDNN_TYPE_NUMERICAL_NOTE,
                                                CUDNN_NUMERICAL_NOTE_TYPE_COUNT, &n, notes));
  for (int64_t i = 0; i < n; ++i)
    if (notes[i] == CUDNN_NUMERICAL_NOTE_TENSOR_CORE) return true;
  return false;
}

}  // namespace

bool conv2d_bias_activation(const Tensor& out, const Tensor& input, const Tensor& weight, const Tensor& bias,
                            std::array<int64_t, 2> stride, std::array<int64_t, 2> padding,
                            std::array<int64_t, 2> dilation, int64_t groups, ConvActivation activation) {
  const DType dt = out.dtype();
  if ((dt != DType::Float32 && dt != DType::Float64) || input.dtype() != dt || weight.dtype() != dt ||
      bias.dtype() != dt || out.dim() != 4 || input.dim() != 4 || weight.dim() != 4 || bias.dim() != 1 ||
      !out.is_contiguous() || !input.is_contiguous() || !weight.is_contiguous() || !bias.is_contiguous() ||
      out.numel() == 0 || input.numel() == 0 || weight.numel() == 0 || input.size(1) != weight.size(1) * groups)
    return false;
  const cudnnDataType_t type = dt == DType::Float32 ? CUDNN_DATA_FLOAT : CUDNN_DATA_DOUBLE;
  const bool tf32 = dt == DType::Float32 && allow_tf32_cudnn();
  cudnnHandle_t handle = cudnn_handle();

  enum : int64_t { kX = 1, kW, kB, kY, kConvOut, kBiasOut };
  const int64_t item = static_cast<int64_t>(out.itemsize());
  const Backend x = tensor(kX, type, dims_of(input), alignment(input.raw_data()), false);
  const Backend w = tensor(kW, type, dims_of(weight), alignment(weight.raw_data()), false);
  const Backend b = tensor(kB, type, {1, bias.size(0), 1, 1}, alignment(bias.raw_data()), false);
  const Backend y = tensor(kY, type, dims_of(out), alignment(out.raw_data()), false);
  const Backend conv_out = tensor(kConvOut, type, dims_of(out), item, true);
  const bool act = activation != ConvActivation::Identity;
  const Backend bias_out = tensor(kBiasOut, type, dims_of(out), item, true);

  Backend conv(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
  const cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
  const int64_t spatial = 2;
  conv.set(CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, &type)
      .set(CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, &mode)
      .set(CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, &spatial)
      .set(CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, dilation.data(), 2)
      .set(CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, stride.data(), 2)
      .set(CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, padding.data(), 2)
      .set(CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, padding.data(), 2);
  conv.finalize();

  Backend conv_op(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
  const float falpha = 1.f, fbeta = 0.f;
  const double dalpha = 1.0, dbeta = 0.0;
  if (dt == DType::Float32) {
    conv_op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, &falpha)
        .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, &fbeta);
  } else {
    conv_op.set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_DOUBLE, &dalpha)
        .set(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_DOUBLE, &dbeta);
  }
  conv_op.set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv)
      .set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x)
      .set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w)
      .set_desc(CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, conv_out);
  conv_op.finalize();

  std::vector<Backend> ops;
  ops.push_back(std::move(conv_op));
  ops.push_back(pointwise(CUDNN_POINTWISE_ADD, type, conv_out, &b, act ? bias_out : y));
  if (act)
    ops.push_back(pointwise(activation == ConvActivation::Relu ? CUDNN_POINTWISE_RELU_FWD
                                                               : CUDNN_POINTWISE_GELU_APPROX_TANH_FWD,
                            type, bias_out, nullptr, y));
  std::vector<cudnnBackendDescriptor_t> op_list;
  for (const Backend& op : ops) op_list.push_back(op.get());

  Backend graph(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
  graph.set(CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, op_list.data(),
            static_cast<int64_t>(op_list.size()))
      .set(CUDNN_ATTR_OPERATIONGRAPH_HANDLE, CUDNN_TYPE_HANDLE, &handle);
  if (!graph.try_finalize()) return false;

  Backend heuristics(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
  const cudnnBackendHeurMode_t heur_mode = CUDNN_HEUR_MODE_A;
  heuristics.set_desc(CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph)
      .set(CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, &heur_mode);
  if (!heuristics.try_finalize()) return false;
  int64_t count = 0;
  TERRA_CUDNN_CHECK(cudnn().BackendGetAttribute(heuristics.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                CUDNN_TYPE_BACKEND_DESCRIPTOR, 0, &count, nullptr));
  std::vector<Backend> configs;
  std::vector<cudnnBackendDescriptor_t> config_list;
  for (int64_t i = 0; i < count; ++i) {
    configs.emplace_back(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    config_list.push_back(configs.back().get());
  }
  if (count > 0)
    TERRA_CUDNN_CHECK(cudnn().BackendGetAttribute(heuristics.get(), CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                                  CUDNN_TYPE_BACKEND_DESCRIPTOR, count, &count, config_list.data()));

  for (int64_t i = 0; i < count; ++i) {
    if (dt == DType::Float32 && !tf32 && uses_tensor_cores(config_list[i])) continue;
    Backend plan(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    plan.set(CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, &handle)
        .set(CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, &config_list[i]);
    if (!plan.try_finalize()) continue;
    int64_t workspace_bytes = 0, n = 0;
    TERRA_CUDNN_CHECK(cudnn().BackendGetAttribute(plan.get(), CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE,
                                                  CUDNN_TYPE_INT64, 1, &n, &workspace_bytes));
    const Workspace workspace(static_cast<size_t>(workspace_bytes));
    void* pointers[] = {input.raw_data(), weight.raw_data(), bias.raw_data(), out.raw_data()};
    const int64_t uids[] = {kX, kW, kB, kY};
    void* ws = workspace.data();
    Backend pack(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    pack.set(CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, uids, 4)
        .set(CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, pointers, 4)
        .set(CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, &ws);
    pack.finalize();
    TERRA_CUDNN_CHECK(cudnn().BackendExecute(handle, plan.get(), pack.get()));
    return true;
  }
  return false;
}

#else

bool conv2d_bias_activation(const Tensor&, const Tensor&, const Tensor&, const Tensor&, std::array<int64_t, 2>,
                            std::array<int64_t, 2>, std::array<int64_t, 2>, int64_t, ConvActivation) {
  return false;
}

#endif

}  // namespace terra::cuda
