// How the random ops turn Philox counters into numbers, shared by the CPU and CUDA kernels
// (TERRA_HD) so that a seed gives the same tensors on every device, eagerly or co-executed, and
// however the work is split across threads. This header is the definition of Terra's random
// streams: a kernel on any device must produce exactly these values.
//
// Note [Philox element mapping]
// A random op drawing n elements from distribution D reserves counters_for<D>(n) counters from its
// generator up front (first = generator.reserve(...)). Element i (row-major index into the output)
// takes its numbers only from philox4x32(first + i / P, 0, seed), in slot i % P, where P =
// D::kPerCounter; never from thread ids or execution order. Per distribution:
//   Uniform<float>   P = 4  slot s: uniform_float(v[s])               (24 bits, in [0, 1))
//   Uniform<double>  P = 2  slot s: uniform_double(v[2s], v[2s+1])    (53 bits, in [0, 1))
//   Normal<float>    P = 4  slots 2k, 2k+1 are one Box-Muller pair from u1 = 1 - uniform_float(v[2k])
//                           and u2 = uniform_float(v[2k+1]): r cos(2 pi u2), r sin(2 pi u2) with
//                           r = sqrt(-2 ln u1), computed in double and rounded to float
//   Normal<double>   P = 2  slots 0, 1 are one Box-Muller pair from u1 = 1 - uniform_double(v0, v1)
//                           and u2 = uniform_double(v2, v3)
//   Bits64           P = 2  slot s: (v[2s] << 32) | v[2s+1]           (randint, randperm's keys)
// bernoulli and dropout draw Uniform<float> whatever the tensor's dtype, so a mask depends only on
// (seed, offset, i, p) and not on whether the activations are float32 or float64.
// Everything except Normal is integer or exactly rounded arithmetic, hence bit-identical across
// devices; Normal goes through log/sqrt/cos/sin, which device math libraries may round
// differently in the last double bit (rounding to float hides that almost always).
#pragma once
#include <cmath>
#include <cstdint>

#include "tensor/philox.hpp"

namespace terra::math {

// Where an op's draws start: the generator's seed (Philox key) and its first reserved counter.
struct PhiloxStream {
  uint64_t seed;
  uint64_t first;
};

// The four words of counter c of the stream (element i's counter is c = i / P).
TERRA_HD Philox4x32 philox_counter(const PhiloxStream& s, uint64_t c) { return philox4x32(s.first + c, 0, s.seed); }

template <class Dist>
TERRA_HD uint64_t counters_for(int64_t n) {
  return (static_cast<uint64_t>(n) + Dist::kPerCounter - 1) / Dist::kPerCounter;
}

template <class T>
struct Uniform;
template <>
struct Uniform<float> {
  using value_type = float;
  static constexpr int kPerCounter = 4;
  TERRA_HD static void values(const Philox4x32& r, float out[4]) {
    for (int s = 0; s < 4; ++s) out[s] = uniform_float(r.v[s]);
  }
};
template <>
struct Uniform<double> {
  using value_type = double;
  static constexpr int kPerCounter = 2;
  TERRA_HD static void values(const Philox4x32& r, double out[2]) {
    out[0] = uniform_double(r.v[0], r.v[1]);
    out[1] = uniform_double(r.v[2], r.v[3]);
  }
};

// Box-Muller: two independent standard normals from u1 in (0, 1] and u2 in [0, 1).
TERRA_HD void box_muller(double u1, double u2, double& z0, double& z1) {
  const double r = std::sqrt(-2.0 * std::log(u1));
  const double theta = 6.283185307179586 * u2;
  z0 = r * std::cos(theta);
  z1 = r * std::sin(theta);
}

template <class T>
struct Normal;
template <>
struct Normal<float> {
  using value_type = float;
  static constexpr int kPerCounter = 4;
  TERRA_HD static void values(const Philox4x32& r, float out[4]) {
    for (int k = 0; k < 2; ++k) {
      double z0, z1;
      box_muller(1.0 - uniform_float(r.v[2 * k]), uniform_float(r.v[2 * k + 1]), z0, z1);
      out[2 * k] = static_cast<float>(z0);
      out[2 * k + 1] = static_cast<float>(z1);
    }
  }
};
template <>
struct Normal<double> {
  using value_type = double;
  static constexpr int kPerCounter = 2;
  TERRA_HD static void values(const Philox4x32& r, double out[2]) {
    box_muller(1.0 - uniform_double(r.v[0], r.v[1]), uniform_double(r.v[2], r.v[3]), out[0], out[1]);
  }
};

struct Bits64 {
  using value_type = uint64_t;
  static constexpr int kPerCounter = 2;
  TERRA_HD static void values(const Philox4x32& r, uint64_t out[2]) {
    out[0] = (static_cast<uint64_t>(r.v[0]) << 32) | r.v[1];
    out[1] = (static_cast<uint64_t>(r.v[2]) << 32) | r.v[3];
  }
};

// randint's value in [low, low + range): 64 random bits modulo the range (the bias is below
// range / 2^64, negligible for any range a tensor can use). Wraps like two's complement so
// ranges wider than int64's positive half work.
TERRA_HD int64_t randint_value(uint64_t bits, int64_t low, uint64_t range) {
  return static_cast<int64_t>(static_cast<uint64_t>(low) + bits % range);
}

// bernoulli: 1 with probability p, from a Uniform<float> draw u (p = 0 never, p = 1 always).
TERRA_HD bool bernoulli_value(float u, double p) { return static_cast<double>(u) < p; }

// dropout keeps an element with probability 1 - p, from a Uniform<float> draw u.
TERRA_HD bool dropout_keep(float u, double p) { return static_cast<double>(u) >= p; }

// randperm sorts the indices 0..n-1 by their Bits64 keys, stably (equal keys keep index order),
// so a device's permutation is fixed by the keys alone whatever sort it uses.

}  // namespace terra::math
