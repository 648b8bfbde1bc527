// The CPU primitives of the value-moving kernels (kernels/common/copy_kernels.hpp): conversion
// between any two dtypes over any strides, and fills.
#include "kernels/common/copy_kernels.hpp"
#include "kernels/cpu/loops.hpp"

namespace terra::cpu {
namespace {

// out = convert(src): every (in, out) dtype pair, broadcasting src to out's shape.
void convert_into(const Tensor& out, const Tensor& src) {
  dispatch_dtype(out.dtype(), [&](auto out_tag) {
    using O = decltype(out_tag);
    dispatch_dtype(src.dtype(), [&](auto in_tag) {
      using I = decltype(in_tag);
      elementwise<O, I>(out, {src}, [](I x) { return convert_element<O>(x); });
    });
  });
}

void fill(const Tensor& out, const Scalar& value) {
  dispatch_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = std::is_same_v<T, bool> ? T(value.as_double() != 0) : value.to<T>();
    if (out.is_contiguous()) {
      T* p = out.data<T>();
      parallel_for(0, out.numel(), kElementwiseGrain, [&](int64_t b, int64_t e) { std::fill(p + b, p + e, v); });
    } else {
      elementwise<T>(out, {}, [v]() { return v; });
    }
  });
}

// The device primitives the shared copy kernels are written over.
struct CpuCopy {
  static void convert_into(const Tensor& out, const Tensor& src) { terra::cpu::convert_into(out, src); }
  static void fill(const Tensor& out, const Scalar& value) { terra::cpu::fill(out, value); }
};

}  // namespace

TERRA_COPY_KERNELS(CPU, CpuCopy);

}  // namespace terra::cpu
