// Launching a generated fused kernel (fused_elementwise.hpp). Its parameters, in the order
// fused::cuda_source() declares them: the shape (fused::Index), each input's pointer and strides
// (none for a scalar input), each output's pointer and strides, then the functors with data
// members, passed as the bytes of the host's own functor objects (the same struct compiled by g++
// and NVRTC has the same layout, as for any kernel parameter).
#include "kernels/cuda/fused_elementwise.hpp"

#include <cuda_runtime_api.h>

#include <algorithm>

#include "kernels/common/fused_params.hpp"
#include "kernels/cuda/nvrtc.hpp"
#include "tensor/cuda/check.hpp"
#include "tensor/cuda/stream.hpp"

namespace terra::cuda {

namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 16;  // the grid-stride loop covers the rest

// Element strides of `t` broadcast to `shape`, innermost dim first.
fused::Strides strides_for(const Tensor& t, const Shape& shape) {
  const Strides st = broadcast_strides(t.shape(), t.strides(), shape);
  fused::Strides out{};
  const int nd = static_cast<int>(shape.size());
  for (int d = 0; d < nd; ++d) out.s[d] = st[nd - 1 - d];
  return out;
}

}  // namespace

FusedKernel::FusedKernel(std::shared_ptr<const cpu::FusedKernel> program, std::vector<fused::InputKind> inputs,
                         const std::string& what)
    : program_(std::move(program)), inputs_(std::move(inputs)), source_(fused::cuda_source(*program_, inputs_)),
      compiled_(nvrtc_compile(source_.text, what)) {}

const std::string& FusedKernel::hash() const { return compiled_->hash(); }

void FusedKernel::run(const std::vector<Tensor>& inputs, const std::vector<Tensor>& outputs) const {
  TERRA_ASSERT(static_cast<int>(inputs.size()) == program_->num_inputs() &&
               static_cast<int>(outputs.size()) == program_->num_outputs());
  const Shape& shape = outputs.at(0).shape();
  TERRA_CHECK(static_cast<int>(shape.size()) <= fused::kMaxDims, NotImplemented, "fused CUDA kernels take at most ",
              fused::kMaxDims, " dims, got ", shape_str(shape));
  fused::Index index{};
  index.numel = shape_numel(shape);
  if (index.numel == 0) return;
  index.ndim = static_cast<int>(shape.size());
  for (int d = 0; d < index.ndim; ++d) index.shape[d] = shape[index.ndim - 1 - d];
  index.contiguous = true;
  // Every pointer and strides struct must stay put until cudaLaunchKernel has copied them.
  std::vector<void*> pointers;
  std::vector<fused::Strides> strides;
  pointers.reserve(inputs.size() + outputs.size());
  strides.reserve(inputs.size() + outputs.size());
  std::vector<void*> args{&index};
  auto operand = [&](const Tensor& t, bool scalar) {
    TERRA_ASSERT(t.device().is_cuda());
    pointers.push_back(t.raw_data());
    args.push_back(&pointers.back());
    if (scalar) return;
    index.contiguous = index.contiguous && t.shape() == shape && t.is_contiguous();
    strides.push_back(strides_for(t, shape));
    args.push_back(&strides.back());
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    TERRA_ASSERT(inputs[k].dtype() == inputs_[k].dtype && (!inputs_[k].scalar || inputs[k].numel() == 1));
    operand(inputs[k], inputs_[k].scalar);
  }
  for (const Tensor& t : outputs) {
    TERRA_ASSERT(t.shape() == shape && t.dtype() == program_->dtype());
    operand(t, false);
  }
  for (int i : source_.functor_params)
    args.push_back(const_cast<void*>(cpu::fused_functor(*program_->code()[i].math).data));
  const int64_t blocks = std::min<int64_t>((index.numel + kThreads - 1) / kThreads, kMaxBlocks);
  TERRA_CUDA_CHECK(cudaLaunchKernel(compiled_->function(fused::kKernelName), dim3(static_cast<unsigned>(blocks)),
                                    dim3(kThreads), args.data(), 0, current_stream()));
  TERRA_CUDA_CHECK(cudaGetLastError());
}

}  // namespace terra::cuda
