// Gradients of softmax and log_softmax, the losses and the normalization ops against central
// differences: every dim, reduction and optional input that changes the math, class-index and
// class-probability targets, broadcasting, non-contiguous inputs; the backward ops' own gradients
// (double backward) where they have one; hand-computed values for a few cases; and the rules
// around them (running statistics untouched, in-place ops after batch_norm, errors).
#include "engine/autograd/record.hpp"
#include "gradgradcheck.hpp"

using namespace terra;
using namespace terra::test;

namespace {

Tensor r(const Shape& shape, uint64_t seed, double lo = -2.0, double hi = 2.0) {
  return random_tensor(shape, DType::Float64, seed, lo, hi);
}

// Class indices in [0, classes), with every `ignore_every`-th one set to `ignore` (when > 0).
Tensor targets(const Shape& shape, int64_t classes, uint64_t seed, int64_t ignore_every = 0, int64_t ignore = -100) {
  Tensor t = random_tensor(shape, DType::Int64, seed, 0, static_cast<double>(classes - 1), false);
  for (int64_t i = 0; ignore_every > 0 && i < t.numel(); i += ignore_every) t.data<int64_t>()[i] = ignore;
  return t;
}

// Probabilities over dim `class_dim` (positive, summing to 1).
Tensor probabilities(const Shape& shape, int64_t class_dim, uint64_t seed) {
  return call1("softmax", {r(shape, seed)}, {{"dim", class_dim}});
}

const char* const kReductions[] = {"mean", "sum", "none"};

// Gradient checks of a backward op's own formula: its inputs are gradcheck's inputs.
Tensor call_with(const char* op, const TensorList& x, const NamedAttrs& attrs) { return call1(op, x, attrs); }

}  // namespace

TEST_CASE("softmax and log_softmax gradients over every dim", "[grad][nn][softmax]") {
  uint64_t seed = 1;
  for (const char* op : {"softmax", "log_softmax"})
    for (const Shape& shape : {Shape{5}, Shape{3, 5}, Shape{2, 3, 4}}) {
      Tensor x = r(shape, seed++);
      for (int64_t dim = -1; dim < static_cast<int64_t>(shape.size()); ++dim) {
        auto f = [&](const TensorList& t) { return call1(op, {t[0]}, {{"dim", dim}}); };
        gradcheck(std::string(op) + " " + shape_str(shape) + " dim " + std::to_string(dim), f, {x});
        if (shape.size() > 1) gradcheck(std::string(op) + " transposed input", f, {transposed_copy(x)});
      }
    }
  // dtype= converts first: the gradient flows back through the conversion (float32 precision).
  gradcheck("softmax dtype=float32", [](const TensorList& t) {
    return call1("to_dtype", {call1("softmax", {t[0]}, {{"dim", 1}, {"dtype", DType::Float32}})}, {{"dtype", DType::Float64}});
  }, {r({2, 3}, 9)}, {1e-3, 1e-3, 1e-2, {}});
}

TEST_CASE("softmax_backward and log_softmax_backward have gradients", "[grad][nn][softmax][double]") {
  uint64_t seed = 20;
  for (const char* op : {"softmax_backward", "log_softmax_backward"})
    for (int64_t dim : {0, 1, 2}) {
      const Shape shape{2, 3, 4};
      // A real (log-)probability output, so log_softmax_backward's exp(y) stays in range.
      Tensor y = call1(std::string(op) == "softmax_backward" ? "softmax" : "log_softmax", {r(shape, seed++)},
                       {{"dim", dim}});
      gradcheck(std::string(op) + " dim " + std::to_string(dim),
                [&](const TensorList& t) { return call_with(op, t, {{"dim", dim}}); }, {r(shape, seed++), y});
    }
}

TEST_CASE("softmax gradient matches hand-computed values", "[grad][nn][softmax]") {
  // y = softmax([0, ln 3]) = [1/4, 3/4]; with g = [1, 0]: dx = y * (g - y . g) = [3/16, -3/16].
  Tensor x = from_values({0, std::log(3.0)}, {2});
  autograd::set_requires_grad(x, true);
  autograd::backward({call1("softmax", {x}, {{"dim", 0}})}, {from_values({1, 0}, {2})}, false, false);
  check_values(autograd::grad(x), {3.0 / 16, -3.0 / 16}, 1e-12, 1e-12);
}

TEST_CASE("cross_entropy and nll_loss gradients with class-index targets", "[grad][nn][loss]") {
  struct Case {
    Shape input, target;
  };
  const Case cases[] = {{{4, 3}, {4}}, {{2, 3, 2, 2}, {2, 2, 2}}, {{3}, {}}};
  uint64_t seed = 100;
  for (const Case& k : cases) {
    const int64_t C = k.input.size() == 1 ? k.input[0] : k.input[1];
    for (const char* reduction : kReductions)
      for (bool weighted : {false, true})
        for (int64_t ignore_every : {0, 3})
          for (double smoothing : {0.0, 0.2}) {
            INFO(shape_str(k.input) << " " << reduction << " weight " << weighted << " ignore " << ignore_every
                                    << " smoothing " << smoothing);
            Tensor x = r(k.input, seed++);
            Tensor t = targets(k.target, C, seed++, k.target.empty() ? 0 : ignore_every, -1);
            Tensor w = weighted ? r({C}, seed++, 0.5, 2.0) : Tensor();
            const NamedAttrs attrs{{"reduction", reduction}, {"ignore_index", -1}, {"label_smoothing", smoothing}};
            gradcheck("cross_entropy", [&](const TensorList& v) { return call1("cross_entropy", {v[0], t, w}, attrs); },
                      {x});
            // The fused backward's own gradient, for grad_output and the logits (double backward).
            Tensor g = r(call1("cross_entropy", {x, t, w}, attrs).shape(), seed++);
            gradcheck("cross_entropy_backward", [&](const TensorList& v) {
              return call1("cross_entropy_backward", {v[0], v[1], t, w}, attrs);
            }, {g, x});
            if (smoothing == 0.0) {
              const NamedAttrs nll{{"reduction", reduction}, {"ignore_index", -1}};
              gradcheck("nll_loss", [&](const TensorList& v) { return call1("nll_loss", {v[0], t, w}, nll); }, {x});
              // Its backward is linear in grad_output: its own gradient is nll_loss again.
              Tensor g = call1("nll_loss", {x, t, w}, nll);
              gradcheck("nll_loss_backward",
                        [&](const TensorList& v) { return call1("nll_loss_backward", {v[0], x, t, w}, nll); },
                        {r(g.shape(), seed++)});
            }
          }
  }
  gradcheck("cross_entropy non-contiguous input", [](const TensorList& v) {
    return call1("cross_entropy", {v[0], from_values({2, 0, 1}, {3}, DType::Int64)});
  }, {transposed_copy(r({3, 4}, 150))});
}

TEST_CASE("cross_entropy gradients with class-probability targets", "[grad][nn][loss]") {
  uint64_t seed = 200;
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 2}, Shape{3}})
    for (const char* reduction : kReductions)
      for (bool weighted : {false, true})
        for (double smoothing : {0.0, 0.3}) {
          INFO(shape_str(shape) << " " << reduction << " weight " << weighted << " smoothing " << smoothing);
          const int64_t class_dim = shape.size() == 1 ? 0 : 1;
          Tensor x = r(shape, seed++), q = probabilities(shape, class_dim, seed++);
          Tensor w = weighted ? r({shape[class_dim]}, seed++, 0.5, 2.0) : Tensor();
          // The target takes part too (PyTorch differentiates class probabilities).
          const NamedAttrs attrs{{"reduction", reduction}, {"label_smoothing", smoothing}};
          gradcheck("cross_entropy probabilities",
                    [&](const TensorList& v) { return call1("cross_entropy", {v[0], v[1], w}, attrs); }, {x, q});
          Tensor g = r(call1("cross_entropy", {x, q, w}, attrs).shape(), seed++);
          gradcheck("cross_entropy_backward probabilities", [&](const TensorList& v) {
            return call1("cross_entropy_backward", {v[0], v[1], v[2], w}, attrs);
          }, {g, x, q});
        }
}

TEST_CASE("cross_entropy gradient matches softmax minus one-hot", "[grad][nn][loss]") {
  // mean over 2 samples: dx = (softmax(x) - onehot(t)) / 2.
  Tensor x = from_values({0, std::log(3.0), 1, 1}, {2, 2});
  autograd::set_requires_grad(x, true);
  Tensor loss = call1("cross_entropy", {x, from_values({1, 0}, {2}, DType::Int64)});
  autograd::backward({loss}, {}, false, false);
  check_values(autograd::grad(x), {0.25 / 2, -0.25 / 2, -0.5 / 2, 0.5 / 2}, 1e-12, 1e-12);
}

TEST_CASE("class losses: no gradient for class weights", "[grad][nn][loss][errors]") {
  Tensor x = r({3, 4}, 300), w = r({4}, 301, 0.5, 2);
  autograd::set_requires_grad(x, true);
  autograd::set_requires_grad(w, true);
  Tensor t = targets({3}, 4, 302);
  for (const char* op : {"cross_entropy", "nll_loss"}) {
    Tensor loss = call1(op, {x, t, w});
    require_error([&] { autograd::backward({loss}, {}, false, false); }, ErrorKind::NotImplemented,
                  {"the derivative for '", op, "' with respect to weight is not implemented"});
  }
  // Nor through the backward op.
  Tensor d = call1("cross_entropy_backward", {from_values({1}, {}), x, t, w});
  require_error([&] { autograd::backward({d}, {r({3, 4}, 303)}, false, false); }, ErrorKind::NotImplemented,
                {"the derivative for 'cross_entropy_backward' with respect to weight is not implemented"});
}

TEST_CASE("cross_entropy second derivatives through autograd (create_graph)", "[grad][nn][loss][double]") {
  // d/dx <grad_x cross_entropy(x), v> is the Hessian times v: H = diag(p) - p p^T per sample, / N.
  Tensor x = r({2, 3}, 310), v = r({2, 3}, 311);
  autograd::set_requires_grad(x, true);
  Tensor loss = call1("cross_entropy", {x, from_values({0, 2}, {2}, DType::Int64)});
  Tensor g = autograd::grad({loss}, {x}, {}, true, true, false)[0];
  Tensor hv = autograd::grad({g}, {x}, {v}, false, false, false)[0];
  const std::vector<double> p = values(call1("softmax", {x}, {{"dim", 1}})), vv = values(v);
  std::vector<double> want(6);
  for (int s = 0; s < 2; ++s) {
    double pv = 0;
    for (int k = 0; k < 3; ++k) pv += p[s * 3 + k] * vv[s * 3 + k];
    for (int k = 0; k < 3; ++k) want[s * 3 + k] = p[s * 3 + k] * (vv[s * 3 + k] - pv) / 2;
  }
  check_values(hv, want, 1e-10, 1e-12);
}

TEST_CASE("regression loss gradients for input and target", "[grad][nn][loss]") {
  struct Case {
    Shape self, target;
  };
  // Same shapes, target broadcast, and self broadcast against target.
  const Case cases[] = {{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}};
  uint64_t seed = 400;
  for (const Case& k : cases)
    for (const char* reduction : kReductions) {
      Tensor x = r(k.self, seed++), y = r(k.target, seed++);
      INFO(shape_str(k.self) << " vs " << shape_str(k.target) << " " << reduction);
      const NamedAttrs red{{"reduction", reduction}};
      gradcheck("mse_loss", [&](const TensorList& v) { return call1("mse_loss", {v[0], v[1]}, red); }, {x, y});
      gradcheck("l1_loss", [&](const TensorList& v) { return call1("l1_loss", {v[0], v[1]}, red); }, {x, y});
      for (double beta : {1.0, 0.5, 0.0}) {
        const NamedAttrs attrs{{"reduction", reduction}, {"beta", beta}};
        gradcheck("smooth_l1_loss beta " + std::to_string(beta),
                  [&](const TensorList& v) { return call1("smooth_l1_loss", {v[0], v[1]}, attrs); }, {x, y});
      }
      // The backward ops' own gradients, for grad_output, self and target.
      Tensor g = r(call1("mse_loss", {x, y}, red).shape(), seed++);
      gradcheck("mse_loss_backward", [&](const TensorList& v) { return call_with("mse_loss_backward", v, red); },
                {g, x, y});
      gradcheck("l1_loss_backward", [&](const TensorList& v) { return call_with("l1_loss_backward", v, red); },
                {g, x, y});
      for (double beta : {1.5, 0.0}) {
        const NamedAttrs smooth{{"reduction", reduction}, {"beta", beta}};
        gradcheck("smooth_l1_loss_backward beta " + std::to_string(beta),
                  [&](const TensorList& v) { return call_with("smooth_l1_loss_backward", v, smooth); }, {g, x, y});
      }
    }
  gradcheck("mse_loss non-contiguous", [](const TensorList& v) { return call1("mse_loss", {v[0], v[1]}); },
            {transposed_copy(r({3, 4}, 450)), strided_copy(r({3, 4}, 451))});
}

TEST_CASE("binary cross-entropy gradients for input, target and weights", "[grad][nn][loss]") {
  uint64_t seed = 500;
  for (const char* reduction : kReductions) {
    INFO(reduction);
    const NamedAttrs red{{"reduction", reduction}};
    Tensor p = r({3, 4}, seed++, 0.05, 0.95), y = r({3, 4}, seed++, 0.0, 1.0);
    gradcheck("binary_cross_entropy", [&](const TensorList& v) {
      return call1("binary_cross_entropy", {v[0], v[1]}, red);
    }, {p, y});
    gradcheck("binary_cross_entropy weight", [&](const TensorList& v) {
      return call1("binary_cross_entropy", {v[0], v[1], v[2]}, red);
    }, {p, y, r({4}, seed++, 0.5, 2)});
    Tensor x = r({3, 4}, seed++, -4, 4);
    gradcheck("binary_cross_entropy_with_logits", [&](const TensorList& v) {
      return call1("binary_cross_entropy_with_logits", {v[0], v[1]}, red);
    }, {x, y});
    gradcheck("binary_cross_entropy_with_logits weight and pos_weight", [&](const TensorList& v) {
      return call1("binary_cross_entropy_with_logits", {v[0], v[1], v[2], v[3]}, red);
    }, {x, y, r({3, 1}, seed++, 0.5, 2), r({4}, seed++, 0.5, 3)});
    // pos_weight with more dims than the input: the loss (and self's gradient) broadcast.
    gradcheck("binary_cross_entropy_with_logits broadcast pos_weight", [&](const TensorList& v) {
      return call1("binary_cross_entropy_with_logits", {v[0], v[1], Tensor(), v[2]}, red);
    }, {r({4}, seed++), r({4}, seed++, 0, 1), r({2, 4}, seed++, 0.5, 3)});
  }
}

TEST_CASE("layer_norm gradients", "[grad][nn][norm]") {
  uint64_t seed = 600;
  struct Case {
    Shape input;
    std::vector<int64_t> normalized;
  };
  const Case cases[] = {{{3, 5}, {5}}, {{2, 3, 4}, {3, 4}}, {{4}, {4}}, {{2, 2, 3}, {3}}};
  for (const Case& k : cases)
    for (int params = 0; params < 4; ++params) {
      const bool has_w = params & 1, has_b = params & 2;
      INFO(shape_str(k.input) << " weight " << has_w << " bias " << has_b);
      Tensor x = r(k.input, seed++);
      Tensor w = has_w ? r(Shape(k.normalized), seed++) : Tensor(), b = has_b ? r(Shape(k.normalized), seed++) : Tensor();
      auto f = [&](const TensorList& v) {
        return call("layer_norm", {v[0], has_w ? v[1] : Tensor(), has_b ? v[2] : Tensor()},
                    {{"normalized_shape", k.normalized}, {"eps", 1e-5}})[0];
      };
      TensorList args{x, has_w ? w : r({1}, 0), has_b ? b : r({1}, 0)};
      gradcheck("layer_norm", f, args, {1e-6, 1e-5, 1e-4, {true, has_w, has_b}});
      args[0] = k.input.size() > 1 ? transposed_copy(x) : strided_copy(x);
      gradcheck("layer_norm non-contiguous", f, args, {1e-6, 1e-5, 1e-4, {true, has_w, has_b}});
    }
}

TEST_CASE("group_norm gradients", "[grad][nn][norm]") {
  uint64_t seed = 700;
  for (const Shape& shape : {Shape{2, 4, 3}, Shape{2, 4, 2, 3}, Shape{3, 6}})
    for (int64_t groups : {int64_t{1}, int64_t{2}, shape[1]})
      for (bool affine : {false, true}) {
        INFO(shape_str(shape) << " groups " << groups << " affine " << affine);
        auto f = [&](const TensorList& v) {
          return call("group_norm", {v[0], affine ? v[1] : Tensor(), affine ? v[2] : Tensor()},
                      {{"num_groups", groups}, {"eps", 1e-5}})[0];
        };
        gradcheck("group_norm", f, {r(shape, seed++), r({shape[1]}, seed++), r({shape[1]}, seed++)},
                  {1e-6, 1e-5, 1e-4, {true, affine, affine}});
      }
}

TEST_CASE("batch_norm gradients in training and eval mode", "[grad][nn][norm]") {
  uint64_t seed = 800;
  // (N, C) and short (N, C, L) channels are summed by rows, long ones by runs.
  for (const Shape& shape : {Shape{4, 3}, Shape{2, 3, 5}, Shape{2, 2, 16}, Shape{2, 2, 3, 6}})
    for (bool training : {true, false})
      for (int params = 0; params < 4; ++params) {
        const bool has_w = params & 1, has_b = params & 2;
        INFO(shape_str(shape) << " training " << training << " weight " << has_w << " bias " << has_b);
        const int64_t c = shape[1];
        Tensor rm = r({c}, seed++), rv = r({c}, seed++, 0.5, 2);
        auto f = [&](const TensorList& v) {
          return call("batch_norm", {v[0], has_w ? v[1] : Tensor(), has_b ? v[2] : Tensor(), rm, rv},
                      {{"training", training}, {"momentum", 0.1}, {"eps", 1e-5}})[0];
        };
        Tensor x = r(shape, seed++);
        TensorList args{x, r({c}, seed++), r({c}, seed++)};
        gradcheck("batch_norm", f, args, {1e-6, 1e-5, 1e-4, {true, has_w, has_b}});
        args[0] = transposed_copy(x);
        gradcheck("batch_norm non-contiguous", f, args, {1e-6, 1e-5, 1e-4, {true, has_w, has_b}});
      }
}

TEST_CASE("batch_norm backward leaves running statistics alone", "[grad][nn][norm]") {
  for (bool training : {true, false}) {
    Tensor x = r({4, 3, 2}, 900), w = r({3}, 901);
    Tensor rm = r({3}, 902), rv = r({3}, 903, 0.5, 2);
    autograd::set_requires_grad(x, true);
    autograd::set_requires_grad(w, true);
    const NamedAttrs attrs{{"training", training}, {"momentum", 0.1}, {"eps", 1e-5}};
    Tensor y = call("batch_norm", {x, w, Tensor(), rm, rv}, attrs)[0];
    const std::vector<double> mean_after = values(rm), var_after = values(rv);
    const uint32_t version = rm.version();
    // Two training-mode calls before backward (two views of a batch): the first graph still
    // runs, though the second call changed the running statistics.
    Tensor y2 = call("batch_norm", {x, w, Tensor(), rm, rv}, attrs)[0];
    // An in-place op on the output is fine: batch_norm keeps no output for its gradient.
    call_inplace("mul", {y, Tensor::wrap_scalar(2.0, DType::Float64)});
    autograd::backward({y, y2}, {r({4, 3, 2}, 904), r({4, 3, 2}, 905)}, false, false);
    CHECK(autograd::grad(x).defined());
    CHECK(!autograd::requires_grad(rm));
    if (!training) {
      check_values(rm, mean_after, 0, 0);
      check_values(rv, var_after, 0, 0);
      CHECK(rm.version() == version);
    }
  }
}

TEST_CASE("normalization gradients match hand-computed values", "[grad][nn][norm]") {
  // layer_norm of [1, 3] (mean 2, var 1, eps 0): xhat = [-1, 1]; any g with sum(g) = 0 and
  // sum(g xhat) = 0 is killed, and g = [1, 1] too; g = [1, -1] gives dx = [1, -1] - xhat * (-2)/2 ... = 0.
  // Here g = [1, 0]: mean(g) = 1/2, mean(g xhat) = -1/2, dx = [1 - 1/2 - 1/2, 0 - 1/2 + 1/2] = [0, 0];
  // with a weight [2, 3]: gw = [2, 0], mean 1, mean(gw xhat) = -1, dx = [2 - 1 - 1, 0 - 1 + 1] = 0,
  // d weight = g * xhat = [-1, 0], d bias = g = [1, 0].
  Tensor x = from_values({1, 3}, {1, 2}), w = from_values({2, 3}, {2}), b = from_values({0, 0}, {2});
  for (Tensor* t : {&x, &w, &b}) autograd::set_requires_grad(*t, true);
  Tensor y = call("layer_norm", {x, w, b}, {{"normalized_shape", {2}}, {"eps", 0.0}})[0];
  autograd::backward({y}, {from_values({1, 0}, {1, 2})}, false, false);
  check_values(autograd::grad(x), {0, 0}, 0, 1e-12);
  check_values(autograd::grad(w), {-1, 0}, 0, 1e-12);
  check_values(autograd::grad(b), {1, 0}, 0, 1e-12);
}

TEST_CASE("normalization backward ops have no double backward", "[grad][nn][norm][errors]") {
  Tensor x = r({3, 4}, 950);
  autograd::set_requires_grad(x, true);
  Tensor y = call("layer_norm", {x}, {{"normalized_shape", {4}}})[0];
  Tensor g = autograd::grad({y}, {x}, {r({3, 4}, 951)}, false, true, false)[0];
  require_error([&] { autograd::backward({g}, {r({3, 4}, 952)}, false, false); }, ErrorKind::NotImplemented,
                {"the derivative for 'layer_norm_backward' is not implemented"});
}

// fused_lstm_cell: hy, cy and their sum (both gradients flowing, or one absent), with and without
// hidden_gates; double backward goes through the formula's op-by-op path (create_graph).
TEST_CASE("fused_lstm_cell gradients and double backward", "[grad][nn][recurrent]") {
  uint64_t seed = 1500;
  for (bool has_hidden : {false, true})
    for (int out = 0; out < 3; ++out) {  // 0: hy, 1: cy, 2: hy + cy
      INFO("hidden " << has_hidden << " output " << out);
      auto f = [has_hidden, out](const TensorList& v) {
        const TensorList hc = call("fused_lstm_cell", {v[0], v[1], has_hidden ? v[2] : Tensor()});
        return out < 2 ? hc[out] : call1("add", {hc[0], hc[1]});
      };
      const TensorList args{r({3, 8}, seed++, -3, 3), r({3, 2}, seed++), r({3, 8}, seed++, -3, 3)};
      const GradcheckOptions opt{1e-6, 1e-5, 1e-4, {true, true, has_hidden}};
      gradcheck("fused_lstm_cell", f, args, opt);
      gradcheck("fused_lstm_cell non-contiguous", f, {transposed_copy(args[0]), strided_copy(args[1]), args[2]}, opt);
      for (size_t which : {size_t{0}, size_t{1}}) gradgradcheck("fused_lstm_cell double backward", f, args, which, opt);
    }
}

TEST_CASE("fused_gru_cell gradients and double backward", "[grad][nn][recurrent]") {
  uint64_t seed = 1600;
  auto f = [](const TensorList& v) { return call1("fused_gru_cell", {v[0], v[1], v[2]}); };
  const TensorList args{r({3, 6}, seed++, -3, 3), r({3, 6}, seed++, -3, 3), r({3, 2}, seed++)};
  gradcheck("fused_gru_cell", f, args);
  gradcheck("fused_gru_cell non-contiguous", f, {transposed_copy(args[0]), strided_copy(args[1]), args[2]});
  for (size_t which : {size_t{0}, size_t{1}, size_t{2}}) gradgradcheck("fused_gru_cell double backward", f, args, which);
}
