// CPU kernels of the random ops: rand, randn, randint, bernoulli, bernoulli_p and dropout from
// kernels/common/random_kernels.hpp over this file's primitives, and randperm. Each reserves its
// Philox counters from the generator before drawing and computes element i from (seed, first
// counter, i) only, through kernels/common/random_math.hpp (Note [Philox element mapping]); the
// work is split by counter, so any thread count gives the same tensor.
#include <algorithm>
#include <numeric>
#include <vector>

#include "kernels/common/random_kernels.hpp"
#include "kernels/cpu/movement.hpp"

namespace terra::cpu {
namespace {

// Counters per parallel chunk: one counter costs about as much as a few elementwise operations.
constexpr int64_t kCounterGrain = 4096;

struct CpuRandom {
  // Calls store(i, value) for every element i < n of Dist's stream, one counter at a time.
  template <class Dist, class Store>
  static void draw(int64_t n, const math::PhiloxStream& s, const Store& store) {
    constexpr int64_t P = Dist::kPerCounter;
    parallel_for(0, static_cast<int64_t>(math::counters_for<Dist>(n)), kCounterGrain, [&](int64_t b, int64_t e) {
      typename Dist::value_type v[P];
      for (int64_t c = b; c < e; ++c) {
        Dist::values(math::philox_counter(s, static_cast<uint64_t>(c)), v);
        const int64_t first = c * P, m = std::min(P, n - first);
        for (int64_t k = 0; k < m; ++k) store(first + k, v[k]);
      }
    });
  }
  static void copy(const Tensor& dst, const Tensor& src) { copy_elements(dst, src); }
  static void times_zero(const Tensor& out, const Tensor& in) {
    dispatch_dtype(in.dtype(), [&](auto tag) {
      using T = decltype(tag);
      elementwise<T, T>(out, {in}, [](T x) { return static_cast<T>(x * T(0)); });
    });
  }
  static void check_probabilities(const Tensor& probs) {
    dispatch_floating(probs.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const T* q = probs.data<T>();
      for (int64_t i = 0; i < probs.numel(); ++i)
        TERRA_CHECK(q[i] >= T(0) && q[i] <= T(1), Runtime, "Expected p_in >= 0 && p_in <= 1 to be true, but got false.");
    });
  }
};

void randperm_kernel(KernelCall& c) {
  const Tensor& out = c.outputs[0];
  const int64_t n = out.numel();
  const math::PhiloxStream s = math::reserve_stream(c.attrs, math::counters_for<math::Bits64>(n));
  std::vector<uint64_t> keys(n);
  CpuRandom::draw<math::Bits64>(n, s, [&](int64_t i, uint64_t bits) { keys[i] = bits; });
  std::vector<int64_t> perm(n);
  std::iota(perm.begin(), perm.end(), int64_t{0});
  std::stable_sort(perm.begin(), perm.end(), [&](int64_t a, int64_t b) { return keys[a] < keys[b]; });
  dispatch_numeric(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    random_kernels::Kernels<CpuRandom>::write_contiguous<T>(out, [&](T* p) {
      parallel_for(0, n, kElementwiseGrain, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) p[i] = static_cast<T>(perm[i]);
      });
    });
  });
}

}  // namespace

TERRA_RANDOM_KERNELS(CPU, CpuRandom);
TERRA_KERNEL(randperm, CPU, randperm_kernel);

}  // namespace terra::cpu
