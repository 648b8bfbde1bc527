// CUDA C++ source for a fused elementwise group (DESIGN.md §8), generated from the program of the
// CPU's fused kernel (kernels/cpu/fused_elementwise.hpp: load / apply / store over registers), so
// the CPU and the GPU run one description of the group. The kernel is one thread per output
// element in a grid-stride loop; it loads each input with its strides (broadcast dims have stride
// 0), applies the ops by calling the same functors of kernels/common/*_math.hpp that the eager
// kernels call (so a fused op computes what its eager kernel computes), and stores the outputs.
// A functor with attributes (add's alpha, leaky_relu's slope) is a kernel parameter passed by
// value from the host's functor, so the source, and with it NVRTC's cache, does not depend on
// attribute values. Device-independent: compiled (kernels/cuda/nvrtc.hpp) and launched
// (kernels/cuda/fused_elementwise.hpp) only where CUDA is built.
#pragma once
#include <string>
#include <vector>

#include "kernels/cpu/fused_elementwise.hpp"

namespace terra::fused {

// What the source depends on about an input, beyond the program: its dtype (another than the
// kernel's only for a wrapped number, converted on load) and whether it holds one element (read
// at offset 0, with no strides passed).
struct InputKind {
  DType dtype = DType::Float32;
  bool scalar = false;
};

constexpr const char* kKernelName = "terra_fused";

struct Source {
  std::string text;
  // Indices into the program's code() of the applies whose functors are kernel parameters, in
  // parameter order (after the operands): the functors with data members.
  std::vector<int> functor_params;
};

// The kernel's parameters, in order: Index; per input, its pointer, then its Strides unless it
// is scalar; per output, its pointer and Strides; then the functors of `functor_params`.
Source cuda_source(const cpu::FusedKernel& program, const std::vector<InputKind>& inputs);

// The headers the generated source includes, by include name, embedded in libterra at build time
// (kernels/embed_headers.py) so that compiling never reads files.
struct EmbeddedHeader {
  const char* name;
  const char* text;
};
const std::vector<EmbeddedHeader>& embedded_headers();

}  // namespace terra::fused
