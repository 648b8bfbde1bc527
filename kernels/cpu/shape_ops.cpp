// CPU kernels of the shape ops that copy: tril/triu here, and cat, repeat, flip and roll from
// kernels/common/shape_kernels.hpp (strided copies between views, shared with CUDA), run by the
// elementwise loop engine. stack, split and chunk are composites (engine/ops/shape_ops.cpp).
#include <algorithm>

#include "kernels/common/index_math.hpp"
#include "kernels/common/shape_kernels.hpp"
#include "kernels/cpu/movement.hpp"
#include "kernels/kernel.hpp"

namespace terra::cpu {
namespace {

// tril (Lower) and triu, in every matrix of the batch (math::triangle_keeps).
template <bool Lower>
void triangle_kernel(KernelCall& c) {
  const Tensor& x = c.inputs[0];
  const Tensor& out = c.outputs[0];
  const int64_t diagonal = c.attrs.get<int64_t>("diagonal");
  const int64_t last = x.dim() - 1, rows = x.shape()[last - 1], cols = x.shape()[last];
  const int64_t xstep = dim_step(x, last), ostep = dim_step(out, last);
  dispatch_bits(x.itemsize(), [&](auto tag) {
    using U = decltype(tag);
    for_each_slice<2>({out, x}, last, cols, [&](int64_t slice, const std::array<char*, 2>& p) {
      const int64_t i = slice % rows;
      for (int64_t j = 0; j < cols; ++j) {
        const bool keep = math::triangle_keeps(Lower, i, j, diagonal);
        *reinterpret_cast<U*>(p[0] + j * ostep) = keep ? *reinterpret_cast<const U*>(p[1] + j * xstep) : U(0);
      }
    });
  });
}

// The copies of the shared shape kernels (kernels/common/shape_kernels.hpp).
struct CpuCopy {
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
};

}  // namespace

TERRA_SHAPE_KERNELS(CPU, CpuCopy);
TERRA_KERNEL(tril, CPU, triangle_kernel<true>);
TERRA_KERNEL(triu, CPU, triangle_kernel<false>);

}  // namespace terra::cpu
