// Shorthands for gradient formulas (engine/autograd/grad_context.hpp): each is one call of a
// registered op, so a formula written with them records, traces and differentiates again
// (create_graph) like any other op call. A double operand becomes a wrapped number of the
// tensor operand's dtype, so it never promotes the result (PyTorch's `grad * 2`).
#pragma once
#include "engine/autograd/grad_helpers.hpp"

namespace terra::formula {

inline Tensor scalar(double v, const Tensor& like) { return Tensor::wrap_scalar(v, like.dtype()); }
using grad::zeros;  // of `shape`, with like's dtype and device

inline Tensor add(const Tensor& a, const Tensor& b) { return call1("add", {a, b}); }
inline Tensor add(const Tensor& a, double b) { return add(a, scalar(b, a)); }
inline Tensor sub(const Tensor& a, const Tensor& b) { return call1("sub", {a, b}); }
inline Tensor sub(double a, const Tensor& b) { return sub(scalar(a, b), b); }
inline Tensor mul(const Tensor& a, const Tensor& b) { return call1("mul", {a, b}); }
inline Tensor mul(const Tensor& a, double b) { return mul(a, scalar(b, a)); }
inline Tensor div(const Tensor& a, const Tensor& b) { return call1("div", {a, b}); }
inline Tensor div(const Tensor& a, double b) { return div(a, scalar(b, a)); }
inline Tensor pow(const Tensor& a, double b) { return call1("pow", {a, scalar(b, a)}); }
inline Tensor neg(const Tensor& a) { return call1("neg", {a}); }
inline Tensor exp(const Tensor& a) { return call1("exp", {a}); }

inline Tensor eq(const Tensor& a, const Tensor& b) { return call1("eq", {a, b}); }
inline Tensor eq(const Tensor& a, double b) { return eq(a, scalar(b, a)); }
inline Tensor gt(const Tensor& a, double b) { return call1("gt", {a, scalar(b, a)}); }
inline Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) { return call1("where", {cond, a, b}); }
// `a` where `cond` holds, zero elsewhere (PyTorch's masked_fill(~cond, 0), without the NaN of a * 0).
inline Tensor where_or_zero(const Tensor& cond, const Tensor& a) { return where(cond, a, scalar(0, a)); }
inline Tensor zero_where(const Tensor& cond, const Tensor& a) { return where(cond, scalar(0, a), a); }

}  // namespace terra::formula
