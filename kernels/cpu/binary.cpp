// CPU kernels of the elementwise binary ops (kernels/common/elementwise_ops.def lists them) and
// where().
#include "kernels/cpu/elementwise.hpp"

namespace terra::cpu {

void CpuLoops::check_integer_divisor(const Tensor& b) {
  if (!is_integral(b.dtype(), true)) return;
  bool zero = false;
  dispatch_dtype(b.dtype(), [&](auto tag) {
    using T = decltype(tag);
    Tensor flag = Tensor::empty(b.shape(), DType::Bool);
    elementwise<bool, T>(flag, {b}, [](T x) { return x == T(0); });
    const bool* p = flag.data<bool>();
    for (int64_t i = 0, n = flag.numel(); i < n && !zero; ++i) zero = p[i];
  });
  TERRA_CHECK(!zero, Runtime, "ZeroDivisionError");
}

namespace {

void where_kernel(KernelCall& c) {
  dispatch_dtype(c.inputs[1].dtype(), [&](auto tag) {
    using T = decltype(tag);
    elementwise<T, bool, T, T>(c.outputs[0], {c.inputs[0], c.inputs[1], c.inputs[2]},
                               [](bool p, T a, T b) { return p ? a : b; });
  });
}

}  // namespace

#define TERRA_BINARY_OP(op, F) TERRA_KERNEL(op, CPU, (elementwise_kernels::binary<CpuLoops, math::F>));
#include "kernels/common/elementwise_ops.def"
#undef TERRA_BINARY_OP
TERRA_KERNEL(where, CPU, where_kernel);

}  // namespace terra::cpu
