// Where a random op's draws come from, for the kernels of every device: the op's generator (None
// means the default one) with `counters` Philox counters reserved for this call (Note [Philox
// element mapping] in random_math.hpp). A call reserves exactly as many counters on every device,
// so a seed gives the same sequence of tensors whichever device draws them.
#pragma once
#include <memory>

#include "kernels/attrs.hpp"
#include "kernels/common/random_math.hpp"
#include "tensor/generator.hpp"

namespace terra::math {

inline PhiloxStream reserve_stream(const Attrs& attrs, uint64_t counters) {
  auto g = attrs.opt<std::shared_ptr<Generator>>("generator");
  Generator& gen = g && *g ? **g : default_generator();
  const uint64_t seed = gen.seed();
  return PhiloxStream{seed, gen.reserve(counters)};
}

}  // namespace terra::math
