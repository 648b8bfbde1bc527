// Elementwise-heavy programs the graph tests and tools/bench/graph_bench.cpp build: an LSTM cell,
// GELU with the tanh approximation written as elementwise ops, and a LayerNorm written as a
// reduction plus elementwise ops. Python numbers enter as bound 0-d wrapped numbers, as the tracer
// binds them. Each function keeps the results Python would hold.
#pragma once
#include "tests/engine/graph_builder.hpp"

namespace terra::test {

inline int scalar(GraphBuilder& g, double v) { return g.bind(Tensor::wrap_scalar(v, DType::Float64)); }

// Bound: x [B, I], h and c [B, H], w_ih [I, 4H], w_hh [H, 4H], bias [4H]; keeps h' and c'.
struct LstmInputs {
  int x, h, c, w_ih, w_hh, bias;
};
inline void lstm_cell(GraphBuilder& g, const LstmInputs& in) {
  const int gates = g.op1("add", {g.op1("add", {g.op1("mm", {in.x, in.w_ih}), g.op1("mm", {in.h, in.w_hh})}), in.bias});
  const std::vector<int> parts = g.op("chunk", {gates}, {{"chunks", 4}, {"dim", 1}});
  const int i = g.op1("sigmoid", {parts[0]}), f = g.op1("sigmoid", {parts[1]});
  const int cell = g.op1("tanh", {parts[2]}), o = g.op1("sigmoid", {parts[3]});
  const int c2 = g.op1("add", {g.op1("mul", {f, in.c}), g.op1("mul", {i, cell})});
  const int h2 = g.op1("mul", {o, g.op1("tanh", {c2})});
  g.keep(c2);
  g.keep(h2);
}

// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) on bound x; keeps the result.
inline void gelu_tanh(GraphBuilder& g, int x) {
  const int half = scalar(g, 0.5), one = scalar(g, 1.0), k = scalar(g, 0.7978845608028654), c = scalar(g, 0.044715);
  const int cube = g.op1("mul", {g.op1("mul", {x, x}), x});
  const int inner = g.op1("mul", {g.op1("add", {x, g.op1("mul", {cube, c})}), k});
  const int y = g.op1("mul", {g.op1("mul", {x, half}), g.op1("add", {g.op1("tanh", {inner}), one})});
  g.keep(y);
}

// (x - mean) * rsqrt(var + eps) * weight + bias over the last dim; bound x [B, N], weight and
// bias [N]; keeps the result.
inline void layer_norm(GraphBuilder& g, int x, int weight, int bias) {
  const int eps = scalar(g, 1e-5);
  const NamedAttrs last{{"dim", std::vector<int64_t>{-1}}, {"keepdim", true}};
  const int centered = g.op1("sub", {x, g.op1("mean", {x}, last)});
  const int var = g.op1("mean", {g.op1("mul", {centered, centered})}, last);
  const int rstd = g.op1("rsqrt", {g.op1("add", {var, eps})});
  const int y = g.op1("add", {g.op1("mul", {g.op1("mul", {centered, rstd}), weight}), bias});
  g.keep(y);
}

}  // namespace terra::test
