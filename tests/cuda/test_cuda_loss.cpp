// CUDA cases of the losses and their backward ops: every reduction mode, weights, pos_weight,
// ignore_index, label smoothing, class-probability targets, inputs of more than two dims,
// strided and broadcast operands, empty inputs, and the CPU's data errors (an input outside
// [0, 1] for binary_cross_entropy, a target out of bounds). Totals differ from the CPU only in
// summation order.
#include "cuda_cases.hpp"

using namespace terra;
using namespace terra::test;

namespace {

constexpr double kSumOrder = 10;  // rtol_scale: the device sums in another order

Case summed(Case c) {
  c.rtol_scale = kSumOrder;
  return c;
}

const char* const kReductions[] = {"none", "mean", "sum"};

// grad_output of a loss of shape `loss_shape` under `reduction`.
Input grad_for(const Shape& loss_shape, const std::string& reduction, DType dt, uint64_t seed) {
  return contiguous(reduction == "none" ? loss_shape : Shape{}, dt, seed);
}

std::vector<Case> pointwise_loss_cases() {
  std::vector<Case> cases;
  uint64_t seed = 40000;
  auto add = [&](Case c) { cases.push_back(summed(std::move(c))); };
  const Shape shape{3, 5, 7};
  const std::vector<std::pair<const char*, NamedAttrs>> regressions = {
      {"mse_loss", {}}, {"l1_loss", {}}, {"smooth_l1_loss", {}}, {"smooth_l1_loss", {{"beta", 0.5}}},
      {"smooth_l1_loss", {{"beta", 0.0}}}};
  for (const auto& [op, extra] : regressions) {
    const std::string backward = std::string(op) + "_backward";
    for (const char* red : kReductions) {
      NamedAttrs attrs = extra;
      attrs.push_back({"reduction", red});
      for (DType dt : {DType::Float32, DType::Float64, DType::Int64}) {
        if (!is_floating(dt) && std::string(op) != "l1_loss") {  // the CPU's error
          add({op, {contiguous(shape, dt, seed++), contiguous(shape, dt, seed++)}, attrs});
          continue;
        }
        for (Input& x : layouts(shape, dt, seed)) add({op, {x, transposed(shape, dt, seed++)}, attrs});
        add({op, {contiguous(shape, dt, seed++), contiguous({5, 7}, dt, seed++)}, attrs});  // broadcast target
        add({op, {contiguous({0, 4}, dt, seed++), contiguous({0, 4}, dt, seed++)}, attrs});
        add({op, {contiguous({}, dt, seed++), contiguous({}, dt, seed++)}, attrs});
        if (!is_floating(dt)) continue;  // the backward ops are floating only
        for (Input& x : layouts(shape, dt, seed))
          add({backward, {grad_for(shape, red, dt, seed++), x, strided(shape, dt, seed++)}, attrs});
        add({backward, {grad_for({0, 4}, red, dt, seed++), contiguous({0, 4}, dt, seed++), contiguous({0, 4}, dt, seed++)},
             attrs});
      }
      // A long sum split over blocks.
      add({op, {contiguous({700, 300}, DType::Float32, seed++), contiguous({700, 300}, DType::Float32, seed++)}, attrs});
    }
  }
  for (const char* red : kReductions) {
    const NamedAttrs attrs = {{"reduction", red}};
    for (DType dt : {DType::Float32, DType::Float64}) {
      for (Input& x : layouts(shape, dt, seed, 0.02, 0.98)) {
        add({"binary_cross_entropy", {x, contiguous(shape, dt, seed++, 0, 1)}, attrs});
        add({"binary_cross_entropy", {x, contiguous(shape, dt, seed++, 0, 1), contiguous({7}, dt, seed++, 0.1, 2)}, attrs});
        add({"binary_cross_entropy_backward",
             {grad_for(shape, red, dt, seed++), x, contiguous(shape, dt, seed++, 0, 1), expanded(shape, dt, seed++, 0.1, 2)},
             attrs});
        add({"binary_cross_entropy_backward", {grad_for(shape, red, dt, seed++), x, strided(shape, dt, seed++, 0, 1)}, attrs});
      }
      // Inputs of exactly 0 and 1 (clamped logs), and the CPU's range error.
      const Input edges{from_values({0, 1, 0.5, 1, 0, 0.25}, {2, 3}, dt), nullptr, "edges"};
      add({"binary_cross_entropy", {edges, contiguous({2, 3}, dt, seed++, 0, 1)}, attrs});
      add({"binary_cross_entropy", {contiguous(shape, dt, seed++, -1, 2), contiguous(shape, dt, seed++, 0, 1)}, attrs});
      add({"binary_cross_entropy", {contiguous({0, 3}, dt, seed++), contiguous({0, 3}, dt, seed++)}, attrs});
      for (Input& x : layouts(shape, dt, seed, -6, 6)) {
        const Input y = contiguous(shape, dt, seed++, 0, 1);
        add({"binary_cross_entropy_with_logits", {x, y}, attrs});
        add({"binary_cross_entropy_with_logits", {x, y, contiguous({5, 7}, dt, seed++, 0.1, 2)}, attrs});
        add({"binary_cross_entropy_with_logits",
             {x, y, contiguous({7}, dt, seed++, 0.1, 2), contiguous({7}, dt, seed++, 0.1, 3)}, attrs});
        add({"binary_cross_entropy_with_logits_backward", {grad_for(shape, red, dt, seed++), x, y}, attrs});
        add({"binary_cross_entropy_with_logits_backward",
             {grad_for(shape, red, dt, seed++), x, y, contiguous({7}, dt, seed++, 0.1, 2), contiguous({7}, dt, seed++, 0.1, 3)},
             attrs});
      }
      const Input big{from_values({-100, 100, 0, 40, -40, 1e-3}, {2, 3}, dt), nullptr, "large logits"};
      add({"binary_cross_entropy_with_logits", {big, contiguous({2, 3}, dt, seed++, 0, 1)}, attrs});
    }
  }
  return cases;
}

struct ClassShape {
  Shape input, target;
};

std::vector<Case> class_loss_cases() {
  std::vector<Case> cases;
  uint64_t seed = 50000;
  auto add = [&](Case c) { cases.push_back(summed(std::move(c))); };
  const std::vector<ClassShape> shapes = {
      {{6, 5}, {6}}, {{5}, {}}, {{4, 5, 3, 2}, {4, 3, 2}}, {{300, 40}, {300}}, {{0, 5}, {0}}};
  for (DType dt : {DType::Float32, DType::Float64}) {
    for (const ClassShape& s : shapes) {
      const int64_t C = s.input.size() == 1 ? s.input[0] : s.input[1];
      for (const char* red : kReductions) {
        for (int64_t ignore : {int64_t(-100), int64_t(2)}) {
          const NamedAttrs attrs = {{"reduction", red}, {"ignore_index", ignore}};
          const Input x = s.input.size() >= 2 ? transposed(s.input, dt, seed++) : contiguous(s.input, dt, seed++);
          const Input t = indices(s.target, C, seed++);
          const Input w = contiguous({C}, dt, seed++, 0.1, 2);
          const Input g = grad_for(s.target, red, dt, seed++);
          add({"nll_loss", {x, t}, attrs});
          add({"nll_loss", {x, t, w}, attrs});
          add({"nll_loss_backward", {g, x, t}, attrs});
          add({"nll_loss_backward", {g, x, t, w}, attrs});
          for (double e : {0.0, 0.1}) {
            NamedAttrs ce = attrs;
            ce.push_back({"label_smoothing", e});
            add({"cross_entropy", {x, t}, ce});
            add({"cross_entropy", {x, t, w}, ce});
            add({"cross_entropy_backward", {g, x, t}, ce});
            add({"cross_entropy_backward", {g, x, t, w}, ce});
            if (ignore != -100) continue;
            // Class probabilities (a floating target of the input's shape).
            const Input q = contiguous(s.input, dt, seed++, 0, 1);
            add({"cross_entropy", {x, q}, ce});
            add({"cross_entropy", {x, q, w}, ce});
            add({"cross_entropy_backward", {g, x, q}, ce});
            add({"cross_entropy_backward", {g, x, q, w}, ce});
          }
        }
      }
      // A target out of bounds: the CPU's IndexError.
      if (shape_numel(s.target) > 0) {
        const Input x = contiguous(s.input, dt, seed++);
        const Input bad = indices(s.target, C + 3, seed++);
        add({"nll_loss", {x, bad}, {{"reduction", "sum"}}});
        add({"cross_entropy", {x, bad}, {{"reduction", "none"}}});
        add({"nll_loss_backward", {grad_for(s.target, "none", dt, seed++), x, bad}, {{"reduction", "none"}}});
        add({"cross_entropy_backward", {grad_for(s.target, "mean", dt, seed++), x, bad}, {{"reduction", "mean"}}});
      }
    }
    // Every sample ignored: 'mean' divides by a zero total.
    const Input x = contiguous({4, 3}, dt, seed++);
    const Input all_ignored{from_values({1, 1, 1, 1}, {4}, DType::Int64), nullptr, "indices"};
    for (const char* op : {"nll_loss", "cross_entropy"}) add({op, {x, all_ignored}, {{"ignore_index", 1}}});
    for (const char* op : {"nll_loss_backward", "cross_entropy_backward"})
      add({op, {contiguous({}, dt, seed++), x, all_ignored}, {{"ignore_index", 1}}});
  }
  return cases;
}

}  // namespace

TERRA_CUDA_CASES(pointwise_loss, pointwise_loss_cases);
TERRA_CUDA_CASES(class_loss, class_loss_cases);
