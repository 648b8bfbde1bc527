// Registry entries of the matrix products: mm, bmm, matmul (every PyTorch case: dot, matrix-vector,
// vector-matrix, matrix-matrix, batched with broadcast batch dims, 1-D operands against N-D ones),
// addmm, baddbmm, linear, and outer as a composite. CPU kernels: kernels/cpu/blas.cpp.
// As in PyTorch the products do not promote: both operands must have one numeric dtype. Where
// PyTorch's message describes its internal decomposition of matmul (a folded N-D operand, a
// transposed rhs), the same message is given here, so the numbers in it read the same.
// Gradients are products again (mm, bmm, matmul) of the saved operands read through transposed
// views, so BLAS takes the transposes from the strides and nothing is copied (Note [Product
// gradients]).
#include <algorithm>

#include "engine/autograd/grad_helpers.hpp"
#include "engine/ops/rules.hpp"
#include "engine/registry/registry.hpp"

namespace terra {
namespace {

int64_t numel_of(Shape::const_iterator begin, Shape::const_iterator end) {
  int64_t n = 1;
  for (auto it = begin; it != end; ++it) n *= *it;
  return n;
}

void check_operand_dtypes(const Tensor& a, const Tensor& b, const char* op) {
  TERRA_CHECK(a.dtype() == b.dtype(), Runtime, "expected m1 and m2 to have the same dtype, but got: ",
              dtype_name(a.dtype()), " != ", dtype_name(b.dtype()));
  TERRA_CHECK(a.dtype() != DType::Bool, Runtime, "\"", op, "\" not implemented for '", dtype_name(a.dtype()), "'");
}

void check_mm_sizes(int64_t m, int64_t k1, int64_t k2, int64_t n) {
  TERRA_CHECK(k1 == k2, Runtime, "mat1 and mat2 shapes cannot be multiplied (", m, "x", k1, " and ", k2, "x", n, ")");
}

void check_bmm_sizes(int64_t batch, int64_t k, int64_t batch2, int64_t k2) {
  TERRA_CHECK(batch2 == batch && k2 == k, Runtime, "Expected size for first two dimensions of batch2 tensor to be: [",
              batch, ", ", k, "] but got: [", batch2, ", ", k2, "].");
}

// addmm's self, baddbmm's self and linear's bias are expanded to the output's shape.
void check_expands_to(const Tensor& t, const Shape& target) {
  TERRA_CHECK(t.dim() <= static_cast<int64_t>(target.size()), Runtime, "expand: the number of sizes provided (",
              target.size(), ") must be greater or equal to the number of dimensions in the tensor (", t.dim(), ")");
  broadcast_strides(t.shape(), t.strides(), target);  // raises PyTorch's expand() message
}

// matmul's output shape, with PyTorch's messages (see the file comment).
Shape matmul_shape(const Shape& sa, const Shape& sb) {
  const size_t da = sa.size(), db = sb.size();
  TERRA_CHECK(da >= 1 && db >= 1, Runtime, "both arguments to matmul need to be at least 1D, but they are ", da,
              "D and ", db, "D");
  const int64_t ka = sa.back(), kb = db == 1 ? sb[0] : sb[db - 2];
  if (da == 1 && db == 1) {
    TERRA_CHECK(ka == kb, Runtime, "inconsistent tensor size, expected tensor [", ka, "] and src [", kb,
                "] to have the same number of elements, but got ", ka, " and ", kb, " elements respectively");
    return {};
  }
  if (da == 1 && db == 2) {
    check_mm_sizes(1, ka, kb, sb[1]);
    return {sb[1]};
  }
  if (db <= 2) {  // lhs of 2 or more dims: PyTorch folds its leading dims into rows
    const int64_t rows = numel_of(sa.begin(), sa.end() - 1);
    if (db == 1) {
      TERRA_CHECK(ka == kb, Runtime, "size mismatch, got ", rows, ", ", rows, "x", ka, ",", kb);
    } else {
      check_mm_sizes(rows, ka, kb, sb[1]);
    }
    Shape out(sa.begin(), sa.end() - 1);
    if (db == 2) out.push_back(sb[1]);
    return out;
  }
  if (da <= 2) {  // rhs of 3 or more dims against a vector or matrix: PyTorch folds the transposed rhs
    const int64_t rows = numel_of(sb.begin(), sb.end() - 2) * sb.back();
    if (da == 1) {
      TERRA_CHECK(ka == kb, Runtime, "size mismatch, got ", rows, ", ", rows, "x", kb, ",", ka);
    } else {
      check_mm_sizes(rows, kb, ka, sa[0]);
    }
    Shape out(sb.begin(), sb.end() - 2);
    if (da == 2) out.push_back(sa[0]);
    out.push_back(sb.back());
    return out;
  }
  Shape out = broadcast_shapes(Shape(sa.begin(), sa.end() - 2), Shape(sb.begin(), sb.end() - 2));
  const int64_t batch = shape_numel(out);
  check_bmm_sizes(batch, ka, batch, kb);
  out.push_back(sa[da - 2]);
  out.push_back(sb.back());
  return out;
}

Inferred result(const Tensor& like, Shape shape) {
  Inferred inf;
  inf.outputs.push_back(TensorMeta{std::move(shape), like.dtype(), like.device()});
  return inf;
}

Inferred mm_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &a = in[0], &b = in[1];
  TERRA_CHECK(a.dim() == 2, Runtime, "self must be a matrix");
  TERRA_CHECK(b.dim() == 2, Runtime, "mat2 must be a matrix");
  check_operand_dtypes(a, b, "mm");
  check_mm_sizes(a.size(0), a.size(1), b.size(0), b.size(1));
  return result(a, {a.size(0), b.size(1)});
}

void check_batches(const Tensor& a, const Tensor& b, const char* op) {
  TERRA_CHECK(a.dim() == 3, Runtime, "batch1 must be a 3D tensor");
  TERRA_CHECK(b.dim() == 3, Runtime, "batch2 must be a 3D tensor");
  check_operand_dtypes(a, b, op);
  check_bmm_sizes(a.size(0), a.size(2), b.size(0), b.size(1));
}

Inferred bmm_rule(const std::vector<Tensor>& in, const Attrs&) {
  check_batches(in[0], in[1], "bmm");
  return result(in[0], {in[0].size(0), in[0].size(1), in[1].size(2)});
}

Inferred matmul_rule(const std::vector<Tensor>& in, const Attrs&) {
  Shape out = matmul_shape(in[0].shape(), in[1].shape());
  check_operand_dtypes(in[0], in[1], "matmul");
  return result(in[0], std::move(out));
}

Inferred addmm_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &self = in[0], &m1 = in[1], &m2 = in[2];
  TERRA_CHECK(m1.dim() == 2, Runtime, "mat1 must be a matrix, got ", m1.dim(), "-D tensor");
  TERRA_CHECK(m2.dim() == 2, Runtime, "mat2 must be a matrix, got ", m2.dim(), "-D tensor");
  check_operand_dtypes(m1, m2, "addmm");
  check_mm_sizes(m1.size(0), m1.size(1), m2.size(0), m2.size(1));
  TERRA_CHECK(self.dtype() == m1.dtype(), Runtime, "self and mat2 must have the same dtype");
  Shape out{m1.size(0), m2.size(1)};
  check_expands_to(self, out);
  return result(m1, std::move(out));
}

// Unlike addmm, PyTorch's baddbmm converts self to the batches' dtype.
Inferred baddbmm_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &self = in[0], &b1 = in[1], &b2 = in[2];
  check_batches(b1, b2, "baddbmm");
  Shape out{b1.size(0), b1.size(1), b2.size(2)};
  check_expands_to(self, out);
  Inferred inf = result(b1, std::move(out));
  inf.input_dtypes.assign(3, b1.dtype());
  return inf;
}

// linear(input, weight, bias) = matmul(input, weight.t()) + bias, weight stored [out, in].
Inferred linear_rule(const std::vector<Tensor>& in, const Attrs&) {
  const Tensor &input = in[0], &weight = in[1], &bias = in[2];
  TERRA_CHECK(weight.dim() <= 2, Runtime, "t() expects a tensor with <= 2 dimensions, but self is ", weight.dim(), "D");
  Shape wt = weight.shape();
  std::reverse(wt.begin(), wt.end());
  Shape out = matmul_shape(input.shape(), wt);
  check_operand_dtypes(input, weight, "linear");
  if (bias.defined()) {
    TERRA_CHECK(bias.dtype() == input.dtype(), Runtime, "self and mat2 must have the same dtype");
    check_expands_to(bias, out);
  }
  return result(input, std::move(out));
}

Inferred outer_rule(const std::vector<Tensor>& in, const Attrs&) {
  TERRA_CHECK(in[0].dim() == 1, Runtime, "outer: Expected 1-D argument self, but got ", in[0].dim(), "-D");
  TERRA_CHECK(in[1].dim() == 1, Runtime, "outer: Expected 1-D argument vec2, but got ", in[1].dim(), "-D");
  Inferred inf;
  inf.outputs.push_back(TensorMeta{{in[0].size(0), in[1].size(0)}, rules::result_type(in), rules::common_device(in)});
  return inf;
}

// outer(a, b) = a[:, None] * b, so it promotes and takes bool like mul (as PyTorch's does).
void outer_composite(KernelCall& c) {
  static const OpDef& unsqueeze = Registry::instance().get("unsqueeze");
  static const OpDef& mul = Registry::instance().get("mul");
  Tensor column = dispatch(unsqueeze, {c.inputs[0]}, make_attrs(unsqueeze, {{"dim", 1}}))[0];
  c.outputs = dispatch(mul, {column, c.inputs[1]}, make_attrs(mul, {}));
}

// Note [Product gradients]
// For C = A·B with incoming gradient G: dA = G·Bᵀ and dB = Aᵀ·G. The transposes are views
// (transpose of the last two dims), which the CPU gemm maps onto BLAS's transpose flags. Where a
// batched operand meets an unbatched one (matmul of [..., m, k] by [k, n], linear's weight), the
// unbatched gradient sums over the batch; folding the batch into the rows makes that sum part of
// one large product (dB = A_rowsᵀ · G_rows) instead of a batch of products summed afterwards.

using grad::dims_of;

Tensor mT(const Tensor& t) { return call1("transpose", {t}, {{"dim0", -2}, {"dim1", -1}}); }

// t itself when it has the shape already: a reshape that changes nothing would still be an op of
// its own in every gradient (traced, matched, replayed).
Tensor reshape_to(const Tensor& t, const Shape& shape) {
  return t.shape() == shape ? t : call1("reshape", {t}, {{"shape", dims_of(shape)}});
}

// t [..., n] as a matrix [rows, n] (a view when t's layout allows).
Tensor rows_of(const Tensor& t) { return reshape_to(t, {numel_of(t.shape().begin(), t.shape().end() - 1), t.size(-1)}); }

// alpha * (a · b), with alpha folded into the product (addmm/baddbmm with beta 0 never read self).
Tensor scaled_product(const char* op, const char* scaled_op, const Tensor& a, const Tensor& b, const AttrValue& alpha) {
  if (std::get<Scalar>(alpha).as_double() == 1.0) return call1(op, {a, b});
  return call1(scaled_op, {Tensor::wrap_scalar(0.0, a.dtype()), a, b}, {{"beta", 0}, {"alpha", alpha}});
}

Tensor scaled(const Tensor& g, const AttrValue& beta) {
  const double v = std::get<Scalar>(beta).as_double();
  return v == 1.0 ? g : call1("mul", {g, Tensor::wrap_scalar(v, g.dtype())});
}

TensorList mm_grad(const GradContext& c) {
  return {c.needs(0) ? call1("mm", {c.grad(), mT(c.input(1))}) : Tensor(),
          c.needs(1) ? call1("mm", {mT(c.input(0)), c.grad()}) : Tensor()};
}

TensorList bmm_grad(const GradContext& c) {
  return {c.needs(0) ? call1("bmm", {c.grad(), mT(c.input(1))}) : Tensor(),
          c.needs(1) ? call1("bmm", {mT(c.input(0)), c.grad()}) : Tensor()};
}

// A 1-D operand is a row on the left and a column on the right (and the output lost that dim):
// both are put back, the products differentiated as batched matrices, the dims dropped again.
TensorList matmul_grad(const GradContext& c) {
  // Shapes from the metas: each operand is kept only for the other's gradient (kEachForTheOther).
  const Shape &sa = c.input_shape(0), &sb = c.input_shape(1);
  const Tensor& g = c.grad();
  if (sa.size() == 1 && sb.size() == 1)  // dot: g is 0-d
    return {c.needs(0) ? call1("mul", {g, c.input(1)}) : Tensor(), c.needs(1) ? call1("mul", {g, c.input(0)}) : Tensor()};
  const auto as_matrix = [](const Tensor& t, int64_t dim) {
    return t.dim() == 1 ? call1("unsqueeze", {t}, {{"dim", dim}}) : t;
  };
  const Shape a2_shape = sa.size() == 1 ? Shape{1, sa[0]} : sa, b2_shape = sb.size() == 1 ? Shape{sb[0], 1} : sb;
  Tensor g2 = g;
  if (sa.size() == 1) g2 = call1("unsqueeze", {g2}, {{"dim", g2.dim() - (sb.size() == 1 ? 0 : 1)}});
  if (sb.size() == 1) g2 = call1("unsqueeze", {g2}, {{"dim", g2.dim()}});
  Tensor da, db;
  if (c.needs(0))
    da = reshape_to(grad::sum_to(call1("matmul", {g2, mT(as_matrix(c.input(1), 1))}), a2_shape), sa);
  if (c.needs(1)) {
    const Tensor a2 = as_matrix(c.input(0), 0);
    if (b2_shape.size() == 2 && a2.dim() > 2) {  // Note [Product gradients]: the batch folds into rows
      db = call1("mm", {mT(rows_of(a2)), rows_of(g2)});
    } else {
      db = grad::sum_to(call1("matmul", {mT(a2), g2}), b2_shape);
    }
    db = reshape_to(db, sb);
  }
  return {da, db};
}

TensorList addmm_grad(const GradContext& c) {
  const AttrValue& alpha = c.attrs["alpha"];
  return {c.needs(0) ? grad::sum_to(scaled(c.grad(), c.attrs["beta"]), c.input_shape(0)) : Tensor(),
          c.needs(1) ? scaled_product("mm", "addmm", c.grad(), mT(c.input(2)), alpha) : Tensor(),
          c.needs(2) ? scaled_product("mm", "addmm", mT(c.input(1)), c.grad(), alpha) : Tensor()};
}

TensorList baddbmm_grad(const GradContext& c) {
  const AttrValue& alpha = c.attrs["alpha"];
  return {c.needs(0) ? grad::sum_to(scaled(c.grad(), c.attrs["beta"]), c.input_shape(0)) : Tensor(),
          c.needs(1) ? scaled_product("bmm", "baddbmm", c.grad(), mT(c.input(2)), alpha) : Tensor(),
          c.needs(2) ? scaled_product("bmm", "baddbmm", mT(c.input(1)), c.grad(), alpha) : Tensor()};
}

// input [..., in] as rows [r, in], weight as [out, in] (a 1-D weight is one output), g as
// [r, out]: d input = g · W, d weight = gᵀ · input, each one product (Note [Product gradients]).
TensorList linear_grad(const GradContext& c) {
  // Shapes from the metas: input is kept only for weight's gradient and weight only for input's.
  const Shape &input_shape = c.input_shape(0), &weight_shape = c.input_shape(1);
  const int64_t outputs = weight_shape.size() == 1 ? 1 : weight_shape[0];
  const Tensor g2 = reshape_to(c.grad(), {numel_of(input_shape.begin(), input_shape.end() - 1), outputs});
  Tensor d_input, d_weight;
  if (c.needs(0)) {
    const Tensor& weight = c.input(1);
    const Tensor w2 = weight.dim() == 1 ? call1("unsqueeze", {weight}, {{"dim", 0}}) : weight;
    d_input = reshape_to(call1("mm", {g2, w2}), input_shape);
  }
  if (c.needs(1)) d_weight = reshape_to(call1("mm", {mT(g2), rows_of(c.input(0))}), weight_shape);
  return {d_input, d_weight, c.needs(2) ? grad::sum_to(c.grad(), c.input_shape(2)) : Tensor()};
}

// outer promotes like mul; the products need one dtype, the gradient's.
TensorList outer_grad(const GradContext& c) {
  const Tensor& g = c.grad();
  return {c.needs(0) ? call1("matmul", {g, cast_to(c.input(1), g.dtype())}) : Tensor(),
          c.needs(1) ? call1("matmul", {cast_to(c.input(0), g.dtype()), g}) : Tensor()};
}

}  // namespace

const SaveSet kOperands = SaveSet::only_inputs({0, 1});
// Each operand read only by the other's gradient: `x @ w` with x not needing a gradient keeps
// nothing of w, so w may be updated in place before backward(), as in PyTorch.
const SaveSet kEachForTheOther = SaveSet::only_inputs({0, 1}).only_for(0, {1}).only_for(1, {0});
TERRA_OP("mm(Tensor self, Tensor mat2) -> Tensor").infer(mm_rule).grad(mm_grad, kEachForTheOther);
TERRA_OP("bmm(Tensor self, Tensor mat2) -> Tensor").infer(bmm_rule).grad(bmm_grad, kEachForTheOther);
TERRA_OP("matmul(Tensor self, Tensor other) -> Tensor").infer(matmul_rule).grad(matmul_grad, kEachForTheOther);
TERRA_OP("addmm(Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1) -> Tensor")
    .infer(addmm_rule)
    .grad(addmm_grad, SaveSet::only_inputs({1, 2}));
TERRA_OP("baddbmm(Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1) -> Tensor")
    .infer(baddbmm_rule)
    .grad(baddbmm_grad, SaveSet::only_inputs({1, 2}));
TERRA_OP("linear(Tensor input, Tensor weight, Tensor? bias=None) -> Tensor")
    .infer(linear_rule)
    .grad(linear_grad, kEachForTheOther);
TERRA_OP("outer(Tensor self, Tensor vec2) -> Tensor").infer(outer_rule).makes_outputs().grad(outer_grad, kOperands);
TERRA_COMPOSITE_KERNEL(outer, outer_composite);

}  // namespace terra
