// Helpers shared by the loss tests: calls that leave trailing optional tensors out, the operand
// layouts every case runs on, and the class losses' float64 view of a [C] or [N, C, d...] value
// vector as samples x classes, with random class-index and class-probability targets.
#pragma once
#include <algorithm>
#include <limits>
#include <optional>
#include <random>

#include "helpers.hpp"

namespace terra::test {

// call1 with the trailing optional tensors (weight, pos_weight, ...) left out passed as absent.
inline Tensor call_loss(const char* op, std::vector<Tensor> inputs, const NamedAttrs& attrs = {}) {
  inputs.resize(Registry::instance().get(op).schema.num_inputs);
  return call1(op, std::move(inputs), attrs);
}

// The layouts a test runs on: as made, then non-contiguous (a 0-d tensor has only the one).
inline std::vector<Tensor> operand_layouts(const Tensor& t) {
  if (t.dim() == 0) return {t};
  return {t, strided_copy(t), transposed_copy(t)};
}

// A row-major [N, C, d...] (or [C]) value vector seen as samples x classes.
struct ClassLayout {
  int64_t outer, C, inner;
  explicit ClassLayout(const Shape& s) {
    outer = s.size() == 1 ? 1 : s[0];
    C = s.size() == 1 ? s[0] : s[1];
    inner = 1;
    for (size_t d = 2; d < s.size(); ++d) inner *= s[d];
  }
  int64_t samples() const { return outer * inner; }
  int64_t at(int64_t s, int64_t k) const { return ((s / inner) * C + k) * inner + s % inner; }
};

// The targets' (and reduction='none' loss's) shape for an input of shape x.
inline Shape target_shape(const Shape& x) {
  if (x.size() == 1) return {};
  Shape t = x;
  t.erase(t.begin() + 1);
  return t;
}

inline std::vector<double> log_softmax_ref(const std::vector<double>& x, const ClassLayout& L) {
  std::vector<double> out(x.size());
  for (int64_t s = 0; s < L.samples(); ++s) {
    double m = -std::numeric_limits<double>::infinity(), sum = 0;
    for (int64_t k = 0; k < L.C; ++k) m = std::max(m, x[L.at(s, k)]);
    for (int64_t k = 0; k < L.C; ++k) sum += std::exp(x[L.at(s, k)] - m);
    for (int64_t k = 0; k < L.C; ++k) out[L.at(s, k)] = x[L.at(s, k)] - m - std::log(sum);
  }
  return out;
}

using Weights = std::optional<std::vector<double>>;

inline double wt(const Weights& w, int64_t k) { return w ? (*w)[k] : 1.0; }

// Class indices with every 4th sample set to `ignore` (when that is not itself a class).
inline std::vector<int64_t> random_targets(const ClassLayout& L, int64_t ignore, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<int64_t> t(L.samples());
  for (int64_t s = 0; s < L.samples(); ++s) {
    t[s] = static_cast<int64_t>(rng() % static_cast<uint64_t>(std::max<int64_t>(L.C, 1)));
    if (s % 4 == 1 && ignore < 0) t[s] = ignore;
  }
  return t;
}

// Random class probabilities: positive, summing to 1 over the classes of each sample.
inline std::vector<double> random_probabilities(const ClassLayout& L, uint64_t seed) {
  std::vector<double> q = values(random_tensor({L.outer * L.C * L.inner}, DType::Float64, seed, 0.05, 1.0));
  for (int64_t s = 0; s < L.samples(); ++s) {
    double sum = 0;
    for (int64_t k = 0; k < L.C; ++k) sum += q[L.at(s, k)];
    for (int64_t k = 0; k < L.C; ++k) q[L.at(s, k)] /= sum;
  }
  return q;
}

inline Tensor index_tensor(const std::vector<int64_t>& t, const Shape& shape) {
  return from_values(std::vector<double>(t.begin(), t.end()), shape, DType::Int64);
}

// Input shapes of the class losses: [C], [N, C], [N, C, d...], long rows, size-1 and empty dims.
inline const std::vector<Shape>& class_shapes() {
  static const std::vector<Shape> shapes = {{5},       {4, 3},    {3, 5, 2}, {2, 4, 3, 2}, {2, 3, 300},
                                            {3, 70},   {1, 1},    {3, 1},    {0, 4},       {2, 3, 0}};
  return shapes;
}

}  // namespace terra::test
