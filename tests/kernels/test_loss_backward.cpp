// The losses' backward ops against float64 references of the derivatives: nll_loss_backward and
// the fused cross_entropy_backward over [C], [N, C] and [N, C, d...] inputs with weights,
// ignore_index, label smoothing, class probabilities and every reduction (and cross_entropy's
// against its decomposition, log_softmax_backward of nll_loss_backward); the pointwise losses'
// backward ops with broadcasting, weights and pos_weight; both float dtypes, non-contiguous
// operands, empty inputs, and errors.
#include <functional>

#include "loss_ref.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("nll_loss_backward", "cross_entropy_backward", "mse_loss_backward", "l1_loss_backward",
             "smooth_l1_loss_backward", "binary_cross_entropy_backward", "binary_cross_entropy_with_logits_backward");

namespace {

double tol(DType dt) { return dt == DType::Float32 ? 2e-5 : 1e-11; }

// --- class losses ---

Shape loss_shape(const Shape& x, const std::string& reduction) { return reduction == "none" ? target_shape(x) : Shape{}; }

std::vector<double> softmax_ref(const std::vector<double>& x, const ClassLayout& L) {
  std::vector<double> p = log_softmax_ref(x, L);
  for (double& v : p) v = std::exp(v);
  return p;
}

// Each sample's share of g: g[s] ('none'), g ('sum'), g / denominator ('mean').
double share(const std::vector<double>& g, const std::string& reduction, int64_t s, double denominator) {
  if (reduction == "none") return g[s];
  return reduction == "sum" ? g[0] : g[0] / denominator;
}

// d/dx of cross_entropy (PyTorch 1.13's definition) with class indices; nll_loss when `nll`
// (x then holds log-probabilities and the loss is linear in it).
std::vector<double> class_index_grad_ref(const std::vector<double>& x, const ClassLayout& L, const std::vector<int64_t>& t,
                                         const Weights& w, const std::vector<double>& g, const std::string& reduction,
                                         int64_t ignore, double ls, bool nll) {
  std::vector<double> dx(x.size(), 0.0);
  const std::vector<double> p = softmax_ref(x, L);
  double denominator = 0, w_total = 0;
  for (int64_t s = 0; s < L.samples(); ++s) denominator += t[s] == ignore ? 0.0 : wt(w, t[s]);
  for (int64_t k = 0; k < L.C; ++k) w_total += wt(w, k);
  for (int64_t s = 0; s < L.samples(); ++s) {
    if (t[s] == ignore) continue;
    const double f = share(g, reduction, s, denominator);
    if (nll) {
      dx[L.at(s, t[s])] = -wt(w, t[s]) * f;
      continue;
    }
    for (int64_t k = 0; k < L.C; ++k) {
      const double pk = p[L.at(s, k)];
      dx[L.at(s, k)] = f * ((1 - ls) * wt(w, t[s]) * (pk - (k == t[s])) + ls / L.C * (w_total * pk - wt(w, k)));
    }
  }
  return dx;
}

// With class probabilities q: f * (R p - r), r[k] = w[k] (q[k] (1 - ls) + ls / C), R = sum r.
std::vector<double> class_prob_grad_ref(const std::vector<double>& x, const ClassLayout& L, const std::vector<double>& q,
                                        const Weights& w, const std::vector<double>& g, const std::string& reduction,
                                        double ls) {
  std::vector<double> dx(x.size());
  const std::vector<double> p = softmax_ref(x, L);
  for (int64_t s = 0; s < L.samples(); ++s) {
    const double f = share(g, reduction, s, static_cast<double>(L.samples()));
    std::vector<double> r(L.C);
    double total = 0;
    for (int64_t k = 0; k < L.C; ++k) total += r[k] = wt(w, k) * (q[L.at(s, k)] * (1 - ls) + ls / L.C);
    for (int64_t k = 0; k < L.C; ++k) dx[L.at(s, k)] = f * (total * p[L.at(s, k)] - r[k]);
  }
  return dx;
}

const char* const kReductions[] = {"none", "mean", "sum"};

// --- pointwise losses ---

// d/dx times g at each element of the broadcast loss, with g's share per element.
std::vector<double> pointwise_grad_ref(const std::vector<std::pair<std::vector<double>, Shape>>& operands,
                                       const Shape& out, const std::vector<double>& g, const std::string& reduction,
                                       const std::function<double(const std::vector<double>&)>& d) {
  const int64_t n = shape_numel(out);
  std::vector<double> dx(n), args(operands.size());
  for (int64_t i = 0; i < n; ++i) {
    for (size_t k = 0; k < operands.size(); ++k) args[k] = broadcast_at(operands[k].first, operands[k].second, out, i);
    const double gi = reduction == "none" ? g[i] : (reduction == "sum" ? g[0] : g[0] / static_cast<double>(n));
    dx[i] = d(args) * gi;
  }
  return dx;
}

double sign(double v) { return (0 < v) - (v < 0); }

}  // namespace

TEST_CASE("nll_loss_backward and cross_entropy_backward match float64 references", "[nn][loss][backward]") {
  uint64_t seed = 1;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : class_shapes()) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -4.0, 4.0);
      const Tensor wtensor = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      for (int64_t ignore : {int64_t{-100}, int64_t{0}}) {
        const std::vector<int64_t> tv = random_targets(L, ignore, seed++);
        const Tensor t = index_tensor(tv, target_shape(xs));
        for (const char* red : kReductions)
          for (bool weighted : {false, true}) {
            const Tensor g = random_tensor(loss_shape(xs, red), dt, seed++);
            const Weights w = weighted ? Weights(values(wtensor)) : std::nullopt;
            const Tensor wt_or_none = weighted ? wtensor : Tensor();
            for (double ls : {0.0, 0.25}) {
              INFO(x.describe() << " " << red << " weighted " << weighted << " ignore " << ignore << " smoothing " << ls);
              const auto expected = class_index_grad_ref(values(x), L, tv, w, values(g), red, ignore, ls, false);
              for (const Tensor& xl : operand_layouts(x)) {
                Tensor dx = call_loss("cross_entropy_backward", {g, xl, t, wt_or_none},
                               {{"reduction", red}, {"ignore_index", ignore}, {"label_smoothing", ls}});
                CHECK(dx.shape() == xs);
                CHECK(dx.dtype() == dt);
                check_values(dx, expected, tol(dt), tol(dt));
              }
            }
            INFO(x.describe() << " nll " << red << " weighted " << weighted << " ignore " << ignore);
            const auto expected = class_index_grad_ref(values(x), L, tv, w, values(g), red, ignore, 0, true);
            for (const Tensor& tl : operand_layouts(t))
              check_values(call_loss("nll_loss_backward", {g, x, tl, wt_or_none}, {{"reduction", red}, {"ignore_index", ignore}}),
                           expected, tol(dt), tol(dt));
          }
      }
    }
}

TEST_CASE("class loss backward ops over many samples use every thread's chunk", "[nn][loss][backward]") {
  for (DType dt : {DType::Float32, DType::Float64}) {
    const Shape xs{3000, 40};
    const ClassLayout L(xs);
    const Tensor x = random_tensor(xs, dt, 1, -4.0, 4.0), w = random_tensor({40}, dt, 2, 0.1, 2.0);
    const std::vector<int64_t> tv = random_targets(L, -100, 3);
    const Tensor t = index_tensor(tv, target_shape(xs));
    for (const char* red : kReductions) {
      const Tensor g = random_tensor(loss_shape(xs, red), dt, 4);
      const NamedAttrs attrs{{"reduction", red}, {"ignore_index", -100}};
      check_values(call_loss("nll_loss_backward", {g, x, t, w}, attrs),
                   class_index_grad_ref(values(x), L, tv, Weights(values(w)), values(g), red, -100, 0, true), tol(dt),
                   tol(dt));
      NamedAttrs smoothed = attrs;
      smoothed.emplace_back("label_smoothing", 0.1);
      check_values(call_loss("cross_entropy_backward", {g, x, t, w}, smoothed),
                   class_index_grad_ref(values(x), L, tv, Weights(values(w)), values(g), red, -100, 0.1, false),
                   tol(dt), tol(dt));
    }
  }
}

TEST_CASE("cross_entropy_backward with class probabilities matches a float64 reference", "[nn][loss][backward]") {
  uint64_t seed = 500;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& xs : class_shapes()) {
      const ClassLayout L(xs);
      const Tensor x = random_tensor(xs, dt, seed++, -4.0, 4.0);
      const Tensor q = call1("softmax", {random_tensor(xs, dt, seed++)}, {{"dim", xs.size() == 1 ? 0 : 1}});
      const Tensor wtensor = random_tensor({L.C}, dt, seed++, 0.1, 2.0);
      for (const char* red : kReductions)
        for (bool weighted : {false, true})
          for (double ls : {0.0, 0.3}) {
            INFO(x.describe() << " " << red << " weighted " << weighted << " smoothing " << ls);
            const Tensor g = random_tensor(loss_shape(xs, red), dt, seed++);
            const auto expected = class_prob_grad_ref(values(x), L, values(q), weighted ? Weights(values(wtensor)) : std::nullopt,
                                                      values(g), red, ls);
            for (const Tensor& ql : operand_layouts(q))
              check_values(call_loss("cross_entropy_backward", {g, transposed_copy(x), ql, weighted ? wtensor : Tensor()},
                              {{"reduction", red}, {"label_smoothing", ls}}),
                           expected, tol(dt), tol(dt));
          }
    }
}

TEST_CASE("the fused cross_entropy_backward equals its decomposition", "[nn][loss][backward]") {
  // cross_entropy = nll_loss(log_softmax(x)): its gradient is log_softmax_backward(nll_loss_backward).
  for (const Shape& xs : {Shape{6, 5}, Shape{2, 4, 3}}) {
    Tensor x = random_tensor(xs, DType::Float64, 1);
    const ClassLayout L(xs);
    Tensor t = index_tensor(random_targets(L, -100, 2), target_shape(xs));
    Tensor w = random_tensor({L.C}, DType::Float64, 3, 0.5, 2);
    for (const char* red : kReductions) {
      Tensor g = random_tensor(loss_shape(xs, red), DType::Float64, 4);
      const NamedAttrs attrs{{"reduction", red}, {"ignore_index", -100}};
      Tensor logp = call1("log_softmax", {x}, {{"dim", 1}});
      Tensor composed = call1("log_softmax_backward", {call_loss("nll_loss_backward", {g, logp, t, w}, attrs), logp}, {{"dim", 1}});
      check_values(call_loss("cross_entropy_backward", {g, x, t, w}, attrs), values(composed), 1e-12, 1e-14);
    }
  }
}

TEST_CASE("class loss backward ops check targets and grad_output", "[nn][loss][backward][errors]") {
  Tensor x = random_tensor({3, 4}, DType::Float32, 1);
  Tensor t = from_values({0, 4, 1}, {3}, DType::Int64);
  Tensor g = from_values({1}, {}, DType::Float32);
  for (const char* name : {"nll_loss_backward", "cross_entropy_backward"}) {
    require_error([&] { call_loss(name, {g, x, t}, {{"reduction", "mean"}, {"ignore_index", -100}}); }, ErrorKind::Index,
                  {name, "Target 4 is out of bounds."});
    require_error([&] { call_loss(name, {g, x, from_values({0, 1, 2}, {3}, DType::Int64)}, {{"reduction", "none"}, {"ignore_index", -100}}); },
                  ErrorKind::Runtime, {name, "grad_output of shape [] does not match the loss of shape [3]"});
  }
}

TEST_CASE("pointwise loss backward ops match float64 references", "[nn][loss][backward]") {
  struct Case {
    Shape self, target;
  };
  const Case cases[] = {{{3, 4}, {3, 4}}, {{3, 4}, {4}}, {{3, 1}, {1, 4}}, {{70, 300}, {70, 300}}, {{0, 3}, {3}}, {{}, {}}};
  uint64_t seed = 900;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Case& k : cases)
      for (const char* red : kReductions) {
        const Shape out = broadcast_shapes(k.self, k.target);
        Tensor x = random_tensor(k.self, dt, seed++), y = random_tensor(k.target, dt, seed++);
        Tensor g = random_tensor(std::string(red) == "none" ? out : Shape{}, dt, seed++);
        const std::vector<std::pair<std::vector<double>, Shape>> xy{{values(x), k.self}, {values(y), k.target}};
        INFO(x.describe() << " " << y.describe() << " " << red);
        for (const Tensor& xl : operand_layouts(x)) {
          check_values(call_loss("mse_loss_backward", {g, xl, y}, {{"reduction", red}}),
                       pointwise_grad_ref(xy, out, values(g), red, [](auto& a) { return 2 * (a[0] - a[1]); }), tol(dt),
                       tol(dt));
          check_values(call_loss("l1_loss_backward", {g, xl, y}, {{"reduction", red}}),
                       pointwise_grad_ref(xy, out, values(g), red, [](auto& a) { return sign(a[0] - a[1]); }), tol(dt),
                       tol(dt));
          for (double beta : {1.0, 0.0}) {
            auto d = [beta](auto& a) {
              const double z = a[0] - a[1];
              return std::abs(z) < beta ? z / beta : sign(z);
            };
            check_values(call_loss("smooth_l1_loss_backward", {g, xl, y}, {{"reduction", red}, {"beta", beta}}),
                         pointwise_grad_ref(xy, out, values(g), red, d), tol(dt), tol(dt));
          }
        }
      }
}

TEST_CASE("binary cross-entropy backward ops match float64 references", "[nn][loss][backward]") {
  uint64_t seed = 1000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Shape& s : {Shape{3, 4}, Shape{70, 300}, Shape{0, 4}})
      for (const char* red : kReductions)
        for (bool weighted : {false, true}) {
          INFO(shape_str(s) << " " << dtype_name(dt) << " " << red << " weighted " << weighted);
          const Shape ws{s.back()};
          Tensor p = random_tensor(s, dt, seed++, 0.02, 0.98), y = random_tensor(s, dt, seed++, 0, 1);
          Tensor w = weighted ? random_tensor(ws, dt, seed++, 0.5, 2) : Tensor();
          Tensor g = random_tensor(std::string(red) == "none" ? s : Shape{}, dt, seed++);
          const std::vector<double> ones(s.back(), 1.0);
          const std::vector<std::pair<std::vector<double>, Shape>> operands{
              {values(p), s}, {values(y), s}, {weighted ? values(w) : ones, ws}};
          auto d = [](auto& a) { return (a[0] - a[1]) / std::max(a[0] * (1 - a[0]), 1e-12) * a[2]; };
          for (const Tensor& pl : operand_layouts(p))
            check_values(call_loss("binary_cross_entropy_backward", {g, pl, y, w}, {{"reduction", red}}),
                         pointwise_grad_ref(operands, s, values(g), red, d), tol(dt), tol(dt));
          // With logits, and pos_weight broadcast from [2, 1, C] (it widens the loss).
          Tensor x = random_tensor(s, dt, seed++, -6, 6);
          Tensor pw = random_tensor({2, 1, s.back()}, dt, seed++, 0.5, 3);
          const Shape out = broadcast_shapes(s, pw.shape());
          Tensor g2 = random_tensor(std::string(red) == "none" ? out : Shape{}, dt, seed++);
          const std::vector<std::pair<std::vector<double>, Shape>> logits{
              {values(x), s}, {values(y), s}, {weighted ? values(w) : ones, ws}, {values(pw), pw.shape()}};
          auto dl = [](auto& a) {
            const double sig = 1 / (1 + std::exp(-a[0])), t = a[3] * a[1];
            return ((t + 1 - a[1]) * sig - t) * a[2];
          };
          for (const Tensor& xl : operand_layouts(x))
            check_values(call_loss("binary_cross_entropy_with_logits_backward", {g2, xl, y, w, pw}, {{"reduction", red}}),
                         pointwise_grad_ref(logits, out, values(g2), red, dl), tol(dt), tol(dt));
        }
}

TEST_CASE("pointwise loss backward ops check grad_output against the loss", "[nn][loss][backward][errors]") {
  Tensor x = random_tensor({2, 3}, DType::Float32, 1);
  require_error([&] { call_loss("mse_loss_backward", {x, x, x}, {{"reduction", "mean"}}); }, ErrorKind::Runtime,
                {"mse_loss_backward", "grad_output of shape [2, 3] does not match the loss of shape []"});
  require_error([&] { call_loss("l1_loss_backward", {random_tensor({3}, DType::Float32, 2), x, x}, {{"reduction", "none"}}); },
                ErrorKind::Runtime, {"l1_loss_backward", "does not match the loss of shape [2, 3]"});
  Tensor xi = random_tensor({2, 3}, DType::Int64, 3, -3, 3);
  require_error([&] { call_loss("l1_loss_backward", {xi, xi, xi}, {{"reduction", "none"}}); }, ErrorKind::Runtime,
                {"l1_loss_backward", "not implemented for 'int64'"});
}
