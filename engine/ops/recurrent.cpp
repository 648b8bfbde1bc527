// Registry entries of the fused LSTM and GRU cells (PyTorch's _thnn_fused_lstm_cell and
// _thnn_fused_gru_cell, without the workspace): the gate arithmetic of one time step after the
// projections, as one op and one backward op instead of a dozen elementwise ops and their backward
// ones. nn.LSTM, nn.LSTMCell, nn.GRU and nn.GRUCell call them; the math is
// kernels/common/recurrent_math.hpp.
#include "engine/autograd/grad_helpers.hpp"
#include "engine/autograd/grad_mode.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

// gates [B, 4H], cx [B, H], hidden_gates absent or like gates; one floating dtype. Returns H.
int64_t check_cell(const Tensor& gates, const Tensor& cx, const Tensor& hidden) {
  TERRA_CHECK(gates.dim() == 2 && gates.size(1) % 4 == 0, Runtime,
              "expected gates of shape [batch, 4 * hidden_size], got ", shape_str(gates.shape()));
  const int64_t H = gates.size(1) / 4;
  TERRA_CHECK(cx.shape() == Shape({gates.size(0), H}), Runtime, "expected cx of shape ",
              shape_str({gates.size(0), H}), " for gates of shape ", shape_str(gates.shape()), ", got ",
              shape_str(cx.shape()));
  TERRA_CHECK(!hidden.defined() || hidden.shape() == gates.shape(), Runtime,
              "expected hidden_gates of the gates' shape ", shape_str(gates.shape()), ", got ",
              shape_str(hidden.shape()));
  rules::require_floating(gates, "fused_lstm_cell");
  rules::require_same_dtype(cx, gates);
  rules::require_same_dtype(hidden, gates);
  return H;
}

Inferred lstm_cell_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &gates = in[0], &cx = in[1];
  check_cell(gates, cx, in[2]);
  Inferred inf;
  inf.outputs = {TensorMeta{cx.shape(), gates.dtype(), gates.device()},
                 TensorMeta{cx.shape(), gates.dtype(), gates.device()}};
  return inf;
}

Inferred lstm_cell_backward_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &gates = in[2], &cx = in[3];
  check_cell(gates, cx, in[4]);
  for (const Tensor* g : {&in[0], &in[1]}) {
    if (!g->defined()) continue;
    TERRA_CHECK(g->shape() == cx.shape() && g->dtype() == gates.dtype(), Runtime,
                "expected gradients of shape ", shape_str(cx.shape()), " and type ", dtype_name(gates.dtype()),
                ", got ", shape_str(g->shape()), " ", dtype_name(g->dtype()));
  }
  TERRA_CHECK(in[0].defined() || in[1].defined(), Runtime, "expected a gradient of hy or cy");
  Inferred inf;
  inf.outputs = {TensorMeta{gates.shape(), gates.dtype(), gates.device()},
                 TensorMeta{cx.shape(), gates.dtype(), gates.device()}};
  return inf;
}

Tensor gate(const Tensor& a, int64_t k, int64_t H) {
  return call1("narrow", {a}, {{"dim", 1}, {"start", k * H}, {"length", H}});
}
Tensor mul(const Tensor& a, const Tensor& b) { return call1("mul", {a, b}); }

// The backward as differentiable ops, for create_graph (double backward): the same formulas as
// LstmCellBackward, each step an op with a gradient of its own.
std::pair<Tensor, Tensor> lstm_cell_backward_ops(const Tensor& grad_hy, const Tensor& grad_cy, const Tensor& gates,
                                                 const Tensor& cx, const Tensor& hidden) {
  const int64_t H = cx.size(1);
  const Tensor a = hidden.defined() ? call1("add", {gates, hidden}) : gates;
  const Tensor i = call1("sigmoid", {gate(a, 0, H)}), f = call1("sigmoid", {gate(a, 1, H)}),
               g = call1("tanh", {gate(a, 2, H)}), o = call1("sigmoid", {gate(a, 3, H)});
  const Tensor tc = call1("tanh", {call1("add", {mul(f, cx), mul(i, g)})});
  Tensor dc = grad_cy;
  Tensor d_o = grad::zeros(cx.shape(), cx);
  if (grad_hy.defined()) {
    const Tensor from_hy = call1("tanh_backward", {mul(grad_hy, o), tc});
    dc = dc.defined() ? call1("add", {dc, from_hy}) : from_hy;
    d_o = call1("sigmoid_backward", {mul(grad_hy, tc), o});
  }
  const Tensor grad_gates = call1("cat", {call1("sigmoid_backward", {mul(dc, g), i}),
                                          call1("sigmoid_backward", {mul(dc, cx), f}),
                                          call1("tanh_backward", {mul(dc, i), g}), d_o},
                                  {{"dim", 1}});
  return {grad_gates, mul(dc, f)};
}

// One gradient for both projections: d(gates + hidden_gates) flows to each unchanged.
TensorList lstm_cell_grad(const GradContext& c) {
  Tensor grad_gates, grad_cx;
  if (GradMode::is_enabled()) {
    std::tie(grad_gates, grad_cx) = lstm_cell_backward_ops(c.grad(0), c.grad(1), c.input(0), c.input(1), c.input(2));
  } else {
    std::vector<Tensor> r = call("fused_lstm_cell_backward", {c.grad(0), c.grad(1), c.input(0), c.input(1), c.input(2)});
    grad_gates = r[0];
    grad_cx = r[1];
  }
  return {c.needs(0) ? grad_gates : Tensor(), c.needs(1) ? grad_cx : Tensor(), c.needs(2) ? grad_gates : Tensor()};
}

// input_gates and hidden_gates [B, 3H], hx [B, H], one floating dtype.
void check_gru(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& hx) {
  TERRA_CHECK(input_gates.dim() == 2 && input_gates.size(1) % 3 == 0, Runtime,
              "expected input_gates of shape [batch, 3 * hidden_size], got ", shape_str(input_gates.shape()));
  TERRA_CHECK(hidden_gates.shape() == input_gates.shape(), Runtime, "expected hidden_gates of the input_gates' shape ",
              shape_str(input_gates.shape()), ", got ", shape_str(hidden_gates.shape()));
  const Shape state{input_gates.size(0), input_gates.size(1) / 3};
  TERRA_CHECK(hx.shape() == state, Runtime, "expected hx of shape ", shape_str(state), " for gates of shape ",
              shape_str(input_gates.shape()), ", got ", shape_str(hx.shape()));
  rules::require_floating(input_gates, "fused_gru_cell");
  rules::require_same_dtype(hidden_gates, input_gates);
  rules::require_same_dtype(hx, input_gates);
}

Inferred gru_cell_rule(const std::vector<Tensor>& in, const Attrs&) {
  check_gru(in[0], in[1], in[2]);
  Inferred inf;
  inf.outputs = {TensorMeta{in[2].shape(), in[0].dtype(), in[0].device()}};
  return inf;
}

Inferred gru_cell_backward_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &grad = in[0], &input_gates = in[1], &hx = in[3];
  check_gru(input_gates, in[2], hx);
  TERRA_CHECK(grad.shape() == hx.shape() && grad.dtype() == hx.dtype(), Runtime, "expected a gradient of shape ",
              shape_str(hx.shape()), " and type ", dtype_name(hx.dtype()), ", got ", shape_str(grad.shape()), " ",
              dtype_name(grad.dtype()));
  Inferred inf;
  const TensorMeta gates{input_gates.shape(), input_gates.dtype(), input_gates.device()};
  inf.outputs = {gates, gates, TensorMeta{hx.shape(), hx.dtype(), hx.device()}};
  return inf;
}

// The GRU backward as differentiable ops, for create_graph: GruGrads' formulas.
std::vector<Tensor> gru_cell_backward_ops(const Tensor& grad_hy, const Tensor& ig, const Tensor& hg, const Tensor& hx) {
  const int64_t H = hx.size(1);
  const Tensor r = call1("sigmoid", {call1("add", {gate(ig, 0, H), gate(hg, 0, H)})});
  const Tensor z = call1("sigmoid", {call1("add", {gate(ig, 1, H), gate(hg, 1, H)})});
  const Tensor hn = gate(hg, 2, H);
  const Tensor n = call1("tanh", {call1("add", {gate(ig, 2, H), mul(r, hn)})});
  const Tensor dn = call1("tanh_backward", {call1("sub", {grad_hy, mul(grad_hy, z)}), n});
  const Tensor dr = call1("sigmoid_backward", {mul(dn, hn), r});
  const Tensor dz = call1("sigmoid_backward", {mul(grad_hy, call1("sub", {hx, n})), z});
  return {call1("cat", {dr, dz, dn}, {{"dim", 1}}), call1("cat", {dr, dz, mul(dn, r)}, {{"dim", 1}}), mul(grad_hy, z)};
}

TensorList gru_cell_grad(const GradContext& c) {
  const std::vector<Tensor> g =
      GradMode::is_enabled()
          ? gru_cell_backward_ops(c.grad(0), c.input(0), c.input(1), c.input(2))
          : call("fused_gru_cell_backward", {c.grad(0), c.input(0), c.input(1), c.input(2)});
  TensorList out(3);
  for (size_t i = 0; i < 3; ++i)
    if (c.needs(i)) out[i] = g[i];
  return out;
}

}  // namespace

// hy = o * tanh(cy), cy = f * cx + i * g with i, f, g, o = sigmoid, sigmoid, tanh, sigmoid of the
// quarters of gates (+ hidden_gates). The backward recomputes the activations from the saved
// gates rather than keeping them from the forward.
TERRA_OP("fused_lstm_cell(Tensor gates, Tensor cx, Tensor? hidden_gates=None) -> (Tensor hy, Tensor cy)")
    .infer(lstm_cell_rule)
    .grad(lstm_cell_grad, SaveSet::only_inputs({0, 1, 2}));
// No double backward of its own: under create_graph the formula above takes the op-by-op path
// (the engine reports this op's derivative as not implemented if it is ever reached).
TERRA_OP("fused_lstm_cell_backward(Tensor? grad_hy, Tensor? grad_cy, Tensor gates, Tensor cx, "
         "Tensor? hidden_gates=None) -> (Tensor grad_gates, Tensor grad_cx)")
    .infer(lstm_cell_backward_rule);

// hy = n + z * (hx - n) with r, z = sigmoid of the summed r and z quarters of the two
// projections and n = tanh(in + r * hn); the backward recomputes them from the saved projections.
TERRA_OP("fused_gru_cell(Tensor input_gates, Tensor hidden_gates, Tensor hx) -> Tensor")
    .infer(gru_cell_rule)
    .grad(gru_cell_grad, SaveSet::only_inputs({0, 1, 2}));
// No double backward of its own, as fused_lstm_cell_backward.
TERRA_OP("fused_gru_cell_backward(Tensor grad_hy, Tensor input_gates, Tensor hidden_gates, Tensor hx) "
         "-> (Tensor grad_input_gates, Tensor grad_hidden_gates, Tensor grad_hx)")
    .infer(gru_cell_backward_rule);

}  // namespace terra
