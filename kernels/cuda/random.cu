// CUDA kernels of the random ops: rand, randn, randint, bernoulli, bernoulli_p and dropout are the
// CPU's own (kernels/common/random_kernels.hpp) over this file's primitives, so they reserve the
// same Philox counters and compute every element with the same functions: a seed gives the CPU's
// tensors and dropout masks bit for bit. (randn in float64 goes through the device's
// log/sqrt/cos/sin, which may round the last bit differently from the host's.) One thread draws
// one counter's elements. randperm sorts its keys stably, a sequential algorithm: it runs the CPU
// kernel and copies the result (host_fallback.cuh).
#include "kernels/common/random_kernels.hpp"
#include "kernels/cuda/device_check.cuh"
#include "kernels/cuda/host_fallback.cuh"
#include "kernels/cuda/movement.cuh"

namespace terra::cuda {
namespace {

// Counter c's elements: store(i, value) for its slots i = c * P + k below n.
template <class Dist, class Store>
struct Draw {
  math::PhiloxStream stream;
  int64_t n;
  Store store;
  __device__ void operator()(int64_t c) const {
    constexpr int64_t P = Dist::kPerCounter;
    typename Dist::value_type v[P];
    Dist::values(math::philox_counter(stream, static_cast<uint64_t>(c)), v);
    const int64_t first = c * P;
    for (int64_t k = 0; k < P && first + k < n; ++k) store(first + k, v[k]);
  }
};

template <class T>
struct TimesZero {
  TERRA_HD T operator()(T x) const { return static_cast<T>(x * T(0)); }
};

template <class T>
struct OutsideUnitInterval {
  const T* probs;
  DeviceCheck::Slot bad;
  __device__ void operator()(int64_t i) const {
    if (!(probs[i] >= T(0) && probs[i] <= T(1))) bad.record(i);
  }
};

struct CudaRandom {
  template <class Dist, class Store>
  static void draw(int64_t n, const math::PhiloxStream& s, const Store& store) {
    for_each_index(static_cast<int64_t>(math::counters_for<Dist>(n)), Draw<Dist, Store>{s, n, store});
  }
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
  static void times_zero(const Tensor& out, const Tensor& in) {
    dispatch_dtype(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      elementwise<T, T>(out, {in}, TimesZero<T>{});
    });
  }
  // A host read (Note [Data checks on CUDA]).
  static void check_probabilities(const Tensor& probs) {
    if (probs.numel() == 0) return;
    DeviceCheck check(probs.device());
    dispatch_floating(probs.dtype(), [&](auto tag) {
      using T = decltype(tag);
      for_each_index(probs.numel(), OutsideUnitInterval<T>{probs.data<T>(), check.slot()});
    });
    TERRA_CHECK(!check.read(), Runtime, "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
  }
};

}  // namespace

TERRA_RANDOM_KERNELS(CUDA, CudaRandom);
TERRA_KERNEL(randperm, CUDA, run_cpu_kernel);

}  // namespace terra::cuda
