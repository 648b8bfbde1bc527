// fused_lstm_cell, fused_gru_cell and their backward ops against float64 references written from
// the textbook LSTM and GRU equations (not from the kernels' functions): float32 and float64, with
// and without hidden_gates (LSTM), with either incoming gradient absent (LSTM), strided and
// transposed operands, hidden sizes below, at and above the CPU's block of 64 and batches split
// over threads, empty batches; and the shape and dtype errors.
#include <cmath>
#include <utility>

#include "helpers.hpp"

using namespace terra;
using namespace terra::test;

TERRA_COVERS("fused_lstm_cell", "fused_lstm_cell_backward", "fused_gru_cell", "fused_gru_cell_backward");

namespace {

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

struct Ref {
  std::vector<double> hy, cy, grad_gates, grad_cx;
};

// gates (+ hidden) [B, 4H] in the order i, f, g, o; gh, gc may be empty (no gradient).
Ref reference(const std::vector<double>& gates, const std::vector<double>& hidden, const std::vector<double>& cx,
              const std::vector<double>& gh, const std::vector<double>& gc, int64_t B, int64_t H) {
  Ref r{std::vector<double>(B * H), std::vector<double>(B * H), std::vector<double>(B * 4 * H),
        std::vector<double>(B * H)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      auto pre = [&](int k) {
        const int64_t at = (b * 4 + k) * H + j;
        return gates[at] + (hidden.empty() ? 0.0 : hidden[at]);
      };
      const double i = sigmoid(pre(0)), f = sigmoid(pre(1)), g = std::tanh(pre(2)), o = sigmoid(pre(3));
      const int64_t at = b * H + j;
      const double c = f * cx[at] + i * g, tc = std::tanh(c);
      r.cy[at] = c;
      r.hy[at] = o * tc;
      // d hy / d c = o (1 - tanh(c)^2); the gates' derivatives through sigmoid' = s (1 - s), tanh' = 1 - t^2.
      const double dh = gh.empty() ? 0.0 : gh[at];
      const double dc = (gc.empty() ? 0.0 : gc[at]) + dh * o * (1 - tc * tc);
      r.grad_gates[(b * 4 + 0) * H + j] = dc * g * i * (1 - i);
      r.grad_gates[(b * 4 + 1) * H + j] = dc * cx[at] * f * (1 - f);
      r.grad_gates[(b * 4 + 2) * H + j] = dc * i * (1 - g * g);
      r.grad_gates[(b * 4 + 3) * H + j] = dh * tc * o * (1 - o);
      r.grad_cx[at] = dc * f;
    }
  return r;
}

struct GruRef {
  std::vector<double> hy, grad_ig, grad_hg, grad_hx;
};

// ig, hg [B, 3H] in the order r, z, n; hy = (1 - z) n + z hx.
GruRef gru_reference(const std::vector<double>& ig, const std::vector<double>& hg, const std::vector<double>& hx,
                     const std::vector<double>& g, int64_t B, int64_t H) {
  GruRef r{std::vector<double>(B * H), std::vector<double>(B * 3 * H), std::vector<double>(B * 3 * H),
           std::vector<double>(B * H)};
  for (int64_t b = 0; b < B; ++b)
    for (int64_t j = 0; j < H; ++j) {
      auto at = [&](int k) { return (b * 3 + k) * H + j; };
      const int64_t e = b * H + j;
      const double rr = sigmoid(ig[at(0)] + hg[at(0)]), z = sigmoid(ig[at(1)] + hg[at(1)]);
      const double n = std::tanh(ig[at(2)] + rr * hg[at(2)]);
      r.hy[e] = (1 - z) * n + z * hx[e];
      const double dn = g[e] * (1 - z) * (1 - n * n);  // d/d(in + r hn)
      const double dr = dn * hg[at(2)] * rr * (1 - rr), dz = g[e] * (hx[e] - n) * z * (1 - z);
      r.grad_ig[at(0)] = r.grad_hg[at(0)] = dr;
      r.grad_ig[at(1)] = r.grad_hg[at(1)] = dz;
      r.grad_ig[at(2)] = dn;
      r.grad_hg[at(2)] = dn * rr;
      r.grad_hx[e] = g[e] * z;
    }
  return r;
}

Tensor layout(const Tensor& t, int variant) {
  if (variant == 0 || !t.defined()) return t;
  return variant == 1 ? transposed_copy(t) : strided_copy(t);
}

std::vector<double> values_or_empty(const Tensor& t) { return t.defined() ? values(t) : std::vector<double>{}; }

double tol(DType dt) { return dt == DType::Float32 ? 1e-5 : 1e-12; }

}  // namespace

TEST_CASE("fused_lstm_cell and its backward match the LSTM equations in float64", "[recurrent]") {
  struct Size {
    int64_t B, H;
  };
  // H = 64 and 150 take whole and partial blocks; B = 300 with H = 150 splits over threads.
  const Size sizes[] = {{1, 1}, {3, 5}, {16, 32}, {2, 64}, {4, 150}, {300, 150}, {0, 7}};
  uint64_t seed = 1;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const Size& s : sizes)
      for (bool has_hidden : {false, true})
        for (int grads = 1; grads < 4; ++grads)  // bit 0: grad_hy, bit 1: grad_cy
          for (int variant = 0; variant < 3; ++variant) {
            INFO(dtype_name(dt) << " B " << s.B << " H " << s.H << " hidden " << has_hidden << " grads " << grads
                                << " layout " << variant);
            const Tensor gates = random_tensor({s.B, 4 * s.H}, dt, seed++, -3, 3);
            const Tensor hidden = has_hidden ? random_tensor({s.B, 4 * s.H}, dt, seed++, -3, 3) : Tensor();
            const Tensor cx = random_tensor({s.B, s.H}, dt, seed++);
            const Tensor gh = grads & 1 ? random_tensor({s.B, s.H}, dt, seed++) : Tensor();
            const Tensor gc = grads & 2 ? random_tensor({s.B, s.H}, dt, seed++) : Tensor();
            const Ref want = reference(values(gates), values_or_empty(hidden), values(cx), values_or_empty(gh),
                                       values_or_empty(gc), s.B, s.H);
            const std::vector<Tensor> fwd =
                call("fused_lstm_cell", {layout(gates, variant), layout(cx, variant), layout(hidden, variant)});
            REQUIRE(fwd.size() == 2);
            for (const Tensor& t : fwd) {
              CHECK(t.shape() == Shape({s.B, s.H}));
              CHECK(t.dtype() == dt);
            }
            check_values(fwd[0], want.hy, tol(dt), tol(dt));
            check_values(fwd[1], want.cy, tol(dt), tol(dt));
            const std::vector<Tensor> bwd =
                call("fused_lstm_cell_backward", {layout(gh, variant), layout(gc, variant), layout(gates, variant),
                                                  layout(cx, variant), layout(hidden, variant)});
            REQUIRE(bwd.size() == 2);
            CHECK(bwd[0].shape() == Shape({s.B, 4 * s.H}));
            CHECK(bwd[1].shape() == Shape({s.B, s.H}));
            check_values(bwd[0], want.grad_gates, tol(dt), tol(dt));
            check_values(bwd[1], want.grad_cx, tol(dt), tol(dt));
          }
}

TEST_CASE("fused_gru_cell and its backward match the GRU equations in float64", "[recurrent]") {
  const std::pair<int64_t, int64_t> sizes[] = {{1, 1}, {3, 5}, {16, 32}, {2, 64}, {4, 150}, {300, 150}, {0, 7}};
  uint64_t seed = 5000;
  for (DType dt : {DType::Float32, DType::Float64})
    for (const auto& [B, H] : sizes)
      for (int variant = 0; variant < 3; ++variant) {
        INFO(dtype_name(dt) << " B " << B << " H " << H << " layout " << variant);
        const Tensor ig = random_tensor({B, 3 * H}, dt, seed++, -3, 3), hg = random_tensor({B, 3 * H}, dt, seed++, -3, 3);
        const Tensor hx = random_tensor({B, H}, dt, seed++), g = random_tensor({B, H}, dt, seed++);
        const GruRef want = gru_reference(values(ig), values(hg), values(hx), values(g), B, H);
        const Tensor hy = call1("fused_gru_cell", {layout(ig, variant), layout(hg, variant), layout(hx, variant)});
        CHECK(hy.shape() == Shape({B, H}));
        CHECK(hy.dtype() == dt);
        check_values(hy, want.hy, tol(dt), tol(dt));
        const std::vector<Tensor> bwd = call("fused_gru_cell_backward", {layout(g, variant), layout(ig, variant),
                                                                         layout(hg, variant), layout(hx, variant)});
        REQUIRE(bwd.size() == 3);
        check_values(bwd[0], want.grad_ig, tol(dt), tol(dt));
        check_values(bwd[1], want.grad_hg, tol(dt), tol(dt));
        check_values(bwd[2], want.grad_hx, tol(dt), tol(dt));
      }
}

TEST_CASE("fused_gru_cell checks its operands", "[recurrent][errors]") {
  const Tensor ig = random_tensor({2, 6}, DType::Float32, 1), hx = random_tensor({2, 2}, DType::Float32, 2);
  require_error([&] { call("fused_gru_cell", {random_tensor({2, 7}, DType::Float32, 3), ig, hx}); }, ErrorKind::Runtime,
                {"fused_gru_cell", "expected input_gates of shape [batch, 3 * hidden_size], got [2, 7]"});
  require_error([&] { call("fused_gru_cell", {ig, random_tensor({2, 3}, DType::Float32, 4), hx}); }, ErrorKind::Runtime,
                {"fused_gru_cell", "expected hidden_gates of the input_gates' shape [2, 6], got [2, 3]"});
  require_error([&] { call("fused_gru_cell", {ig, ig, random_tensor({3, 2}, DType::Float32, 5)}); }, ErrorKind::Runtime,
                {"fused_gru_cell", "expected hx of shape [2, 2]", "got [3, 2]"});
  require_error([&] { call("fused_gru_cell", {ig, ig, random_tensor({2, 2}, DType::Float64, 6)}); }, ErrorKind::Runtime,
                {"fused_gru_cell", "expected scalar type float32 but found float64"});
  require_error([&] { call("fused_gru_cell_backward", {random_tensor({2, 3}, DType::Float32, 7), ig, ig, hx}); },
                ErrorKind::Runtime, {"fused_gru_cell_backward", "expected a gradient of shape [2, 2]"});
}

TEST_CASE("fused_lstm_cell checks its operands", "[recurrent][errors]") {
  const Tensor gates = random_tensor({2, 8}, DType::Float32, 1), cx = random_tensor({2, 2}, DType::Float32, 2);
  require_error([&] { call("fused_lstm_cell", {random_tensor({2, 7}, DType::Float32, 3), cx}); }, ErrorKind::Runtime,
                {"fused_lstm_cell", "expected gates of shape [batch, 4 * hidden_size], got [2, 7]"});
  require_error([&] { call("fused_lstm_cell", {random_tensor({8}, DType::Float32, 3), cx}); }, ErrorKind::Runtime,
                {"fused_lstm_cell", "got [8]"});
  require_error([&] { call("fused_lstm_cell", {gates, random_tensor({3, 2}, DType::Float32, 4)}); },
                ErrorKind::Runtime, {"fused_lstm_cell", "expected cx of shape [2, 2]", "got [3, 2]"});
  require_error([&] { call("fused_lstm_cell", {gates, cx, random_tensor({2, 4}, DType::Float32, 5)}); },
                ErrorKind::Runtime, {"fused_lstm_cell", "expected hidden_gates of the gates' shape [2, 8], got [2, 4]"});
  require_error([&] { call("fused_lstm_cell", {gates, random_tensor({2, 2}, DType::Float64, 6)}); },
                ErrorKind::Runtime, {"fused_lstm_cell", "expected scalar type float32 but found float64"});
  require_error([&] { call("fused_lstm_cell", {random_tensor({2, 8}, DType::Int64, 7), cx}); }, ErrorKind::Runtime,
                {"fused_lstm_cell"});
  require_error([&] { call("fused_lstm_cell_backward", {Tensor(), Tensor(), gates, cx}); }, ErrorKind::Runtime,
                {"fused_lstm_cell_backward", "expected a gradient of hy or cy"});
  require_error([&] { call("fused_lstm_cell_backward", {random_tensor({2, 3}, DType::Float32, 8), Tensor(), gates, cx}); },
                ErrorKind::Runtime, {"fused_lstm_cell_backward", "expected gradients of shape [2, 2]"});
}
