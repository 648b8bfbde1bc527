"""The decompositions and solvers behind terra.linalg, as autograd Functions.

Each forward runs LAPACK through numpy on the host, batched over the leading dims as numpy is,
and returns its results on the input's device in its dtype: it reads the input, so it is a fetch
when co-executed. Each backward is PyTorch 1.13's formula (torch/csrc/autograd/FunctionsManual.cpp)
written with Terra ops and these Functions, so it runs on any device and can itself be
differentiated. Inputs arrive checked (linalg.py); matrices are real (Terra has no complex dtype),
so A^H is A.mT throughout.

Note [Saved outputs]: a backward that needs the forward's outputs (inv's, Q and R of qr) does not
save them: an output saved in its own node's ctx would be a reference cycle through the C++ node
that the garbage collector cannot see. The Functions save detached aliases instead and, under
create_graph (grad mode on inside backward), recompute the outputs from the saved inputs, so that
double backward differentiates through them as it does through PyTorch's saved outputs.
"""
import numpy as np

from . import _C
from ._C import _ops
from .autograd.function import Function


class LinAlgError(RuntimeError):
    """torch.linalg.LinAlgError: a singular or not positive-definite matrix, a solver that did not
    converge."""


_NUMPY = {_C.float32: np.float32, _C.float64: np.float64, _C.int64: np.int64, _C.int32: np.int32,
          _C.bool: np.bool_}


def _host(t):
    return t.detach().cpu().numpy()


def _to(array, like, dtype=None):
    """array as a new tensor on like's device, in dtype (like's by default)."""
    dtype = dtype or like.dtype
    t = _C.from_numpy(np.array(array, dtype=_NUMPY[dtype], order="C"))
    return t if like.device.type == "cpu" else t.to(like.device)


def _eye(n, like):
    return _ops.eye(n, -1, dtype=like.dtype, device=str(like.device))


def _diag_embed(v):
    return v.unsqueeze(-1) * _eye(v.shape[-1], v)


def _save(ctx, inputs, outputs):
    ctx.inputs = len(inputs)
    ctx.save_for_backward(*inputs, *(o.detach() for o in outputs))


def _saved(ctx, recompute):
    """The saved inputs, and the outputs: saved, or recomputed under create_graph (Note [Saved outputs])."""
    saved = ctx.saved_tensors
    inputs = saved[:ctx.inputs]
    return inputs, (recompute(*inputs) if _C.is_grad_enabled() else saved[ctx.inputs:])


def _raise(name, info, message, error=LinAlgError):
    """error for the first matrix whose info is non-zero; PyTorch numbers it in a batch."""
    flat = np.asarray(info).reshape(-1)
    i = int(np.flatnonzero(flat)[0])
    where = f"(Batch element {i}): " if np.ndim(info) else ""
    raise error(f"{name}: {where}{message(int(flat[i]))}")


def _non_finite(a):
    """The matrices a solver that did not converge is blamed on (all when none has a NaN or inf)."""
    bad = ~np.isfinite(a).all((-2, -1))
    return bad | ~bad.any()


def _each(fn, out, *arrays):
    """fn on each matrix of the (equally batched) arrays, into out; returns where numpy raised."""
    failed = np.zeros(arrays[0].shape[:-2], bool)
    for i in np.ndindex(failed.shape):
        try:
            out[i] = fn(*(a[i] for a in arrays))
        except np.linalg.LinAlgError:
            failed[i] = True
    return failed


def _lu(a):
    """LU with partial pivoting of each matrix, as LAPACK's getrf: the packed factors (L's unit
    diagonal implied), 1-based pivots (row j was swapped with row pivots[j]) and info (1 + the
    index of the first exactly zero pivot, 0 when there is none)."""
    *batch, m, n = a.shape
    lu = a.reshape(-1, m, n).copy()
    rows, k = np.arange(lu.shape[0]), min(m, n)
    pivots = np.empty((lu.shape[0], k), np.int32)
    info = np.zeros(lu.shape[0], np.int32)
    for j in range(k):
        p = j + np.abs(lu[:, j:, j]).argmax(-1)
        pivots[:, j] = p + 1
        top = lu[rows, j].copy()
        lu[rows, j] = lu[rows, p]
        lu[rows, p] = top
        pivot = lu[:, j, j]
        zero = pivot == 0
        info[zero & (info == 0)] = j + 1
        lu[:, j + 1:, j] /= np.where(zero, 1, pivot)[:, None]  # a zero pivot's column is zero below it
        lu[:, j + 1:, j + 1:] -= lu[:, j + 1:, j, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), pivots.reshape(*batch, k), info.reshape(batch)


def _invert(a, transposed):
    """The inverse of each matrix and getrf's info; a singular one's inverse is NaN. PyTorch
    factors a contiguous matrix's transpose (LAPACK reads its row-major memory as A^T), which
    decides the zero pivot that info names: transposed says it did."""
    try:
        return np.linalg.inv(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        out = np.full_like(a, np.nan)
        failed = _each(np.linalg.inv, out, a)
        info = _lu(a.swapaxes(-1, -2) if transposed else a)[2]  # names numpy's zero pivot (rounding aside: then n)
        return out, np.where(failed, np.where(info > 0, info, a.shape[-1]), 0).astype(np.int32)


def _cholesky(a):
    """The lower Cholesky factor of each matrix (its lower triangle read) and potrf's info: the
    order of the first leading minor that is not positive-definite. A failed factor is zero."""
    try:
        return np.linalg.cholesky(a), np.zeros(a.shape[:-2], np.int32)
    except np.linalg.LinAlgError:
        out = np.zeros_like(a)
        failed = _each(np.linalg.cholesky, out, a)
        info = np.zeros(failed.shape, np.int32)
        for i in np.ndindex(failed.shape):
            if failed[i]:
                info[i] = next(k for k in range(1, a.shape[-1] + 1) if not _positive_definite(a[i][:k, :k]))
        return out, info


def _positive_definite(a):
    try:
        np.linalg.cholesky(a)
        return True
    except np.linalg.LinAlgError:
        return False


def _trsm(a, b, upper, unit):
    """Solves a x = b for triangular a by substitution, as LAPACK's trsm (no check for a zero on
    the diagonal: inf and NaN follow); batched and broadcasting."""
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a = np.broadcast_to(a, batch + a.shape[-2:])
    x = np.array(np.broadcast_to(b, batch + b.shape[-2:]))
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n - 1, -1, -1) if upper else range(n)):
            done = slice(i + 1, n) if upper else slice(0, i)
            x[..., i, :] -= (a[..., i:i + 1, done] @ x[..., done, :])[..., 0, :]
            if not unit:
                x[..., i, :] /= a[..., i, i, None]
    return x


# Padé approximant of degree 13 with scaling and squaring (Higham 2005, as scipy.linalg.expm).
_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)
_THETA13 = 5.371920351148152


def _expm(a):
    """exp of each matrix, computed in float64."""
    a = a.astype(np.float64)
    if a.shape[-1] == 0:
        return a
    with np.errstate(divide="ignore", invalid="ignore"):
        norm = np.abs(a).sum(-2).max(-1)
        s = np.where(norm > _THETA13, np.ceil(np.log2(norm / _THETA13)), 0)
    s = np.nan_to_num(s, posinf=0).astype(np.int64)
    a = a / (2.0 ** s)[..., None, None]
    b, ident = _PADE13, np.eye(a.shape[-1])
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * ident)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * ident
    r = np.linalg.solve(v - u, v + u)
    for k in range(int(s.max(initial=0))):
        r = np.where((k < s)[..., None, None], r @ r, r)
    return r


def _solve_triangular(A, B, upper, unitriangular=False):
    return _SolveTriangular.apply(A, B, upper, unitriangular)


def _right_solve_triangular(A, B, upper):
    """X with X A = B: A^T X^T = B^T."""
    return _SolveTriangular.apply(A.mT, B.mT, not upper, False).mT


class _Inv(Function):
    @staticmethod
    def forward(ctx, A, name):  # name: the API that raises on a singular matrix; None: inv_ex's NaN and info
        inv, info = _invert(_host(A), A.is_contiguous())
        if name is not None and info.any():
            _raise(name, info, lambda k: f"The diagonal element {k} is zero, the inversion could not be completed "
                                         "because the input matrix is singular.")
        out = _to(inv, A)
        _save(ctx, (A,), (out,))
        return out, _to(info, A, _C.int32)

    @staticmethod
    def backward(ctx, g, _):
        _, (inv,) = _saved(ctx, lambda A: _Inv.apply(A, None)[:1])
        return -(inv.mT @ (g @ inv.mT)), None


class _Solve(Function):
    """A X = B for B of matrices, batch dims broadcast. info is A's (getrf's, per matrix of A)."""

    @staticmethod
    def forward(ctx, A, B, name):
        a, b = _host(A), _host(B)
        batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        a_, b_ = np.broadcast_to(a, batch + a.shape[-2:]), np.broadcast_to(b, batch + b.shape[-2:])
        try:
            x, info = np.linalg.solve(a_, b_), np.zeros(a.shape[:-2], np.int32)
        except np.linalg.LinAlgError:
            x = np.full(b_.shape, np.nan, b.dtype)
            _each(np.linalg.solve, x, a_, b_)
            info = _invert(a, A.is_contiguous())[1]
        if name is not None and info.any():
            _raise(name, info, lambda k: "The solver failed because the input matrix is singular.")
        out = _to(x, B)
        _save(ctx, (A, B), (out,))
        return out, _to(info, A, _C.int32)

    @staticmethod
    def backward(ctx, gX, _):
        (A, _), (X,) = _saved(ctx, lambda A, B: _Solve.apply(A, B, None)[:1])
        gB = _Solve.apply(A.mT, gX, None)[0]
        return (-(gB @ X.mT) if ctx.needs_input_grad[0] else None), gB, None


class _SolveTriangular(Function):
    """A X = B for triangular A (only its upper or lower triangle read), batch dims broadcast."""

    @staticmethod
    def forward(ctx, A, B, upper, unitriangular):
        ctx.upper, ctx.unit = upper, unitriangular
        out = _to(_trsm(_host(A), _host(B), upper, unitriangular), B)
        _save(ctx, (A, B), (out,))
        return out

    @staticmethod
    def backward(ctx, g):
        (A, _), (X,) = _saved(ctx, lambda A, B: (_solve_triangular(A, B, ctx.upper, ctx.unit),))
        gB = _solve_triangular(A.mT, g, not ctx.upper, ctx.unit)
        gA = None
        if ctx.needs_input_grad[0]:
            gA = -(gB @ X.mT)
            gA = gA.triu(int(ctx.unit)) if ctx.upper else gA.tril(-int(ctx.unit))
        return gA, gB, None, None


class _Det(Function):
    @staticmethod
    def forward(ctx, A):
        out = _to(np.linalg.det(_host(A)), A)
        _save(ctx, (A,), (out,))
        return out

    @staticmethod
    def backward(ctx, g):
        (A,), (det,) = _saved(ctx, lambda A: (_Det.apply(A),))
        if A.numel() == 0:
            return _ops.zeros(list(A.shape), dtype=A.dtype, device=str(A.device))
        # d det / dA = det A^{-T}; where det is about zero, PyTorch's formula for singular
        # matrices: the adjugate through the SVD, U diag(prod_{j != i} S_j) Vh det(U) det(Vh).
        eye = _eye(A.shape[-1], A)
        singular = (det.abs() < 100 * np.finfo(_NUMPY[A.dtype]).eps).unsqueeze(-1).unsqueeze(-1)
        gA = _Solve.apply(_ops.where(singular, eye, A).mT, (g * det).unsqueeze(-1).unsqueeze(-1) * eye, None)[0]
        if bool(singular.any()):  # reads det: a fetch when co-executed
            U, S, Vh = _SVD.apply(A, False)
            others = _ops.where(eye.bool(), 1.0, S.unsqueeze(-2).expand(list(S.shape) + [S.shape[-1]])).prod(-1)
            alpha = (_Det.apply(U) * _Det.apply(Vh) * g).unsqueeze(-1)
            gA = _ops.where(singular, (U * (alpha * others).unsqueeze(-2)) @ Vh, gA)
        return gA


class _Slogdet(Function):
    @staticmethod
    def forward(ctx, A):
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(A)
        sign, logabsdet = np.linalg.slogdet(_host(A))
        return _to(sign, A), _to(logabsdet, A)

    @staticmethod
    def backward(ctx, g_sign, g_logabsdet):  # the sign of a real matrix is locally constant
        if g_logabsdet is None:
            return None
        A, = ctx.saved_tensors
        return _Solve.apply(A.mT, g_logabsdet.unsqueeze(-1).unsqueeze(-1) * _eye(A.shape[-1], A), None)[0]


class _Cholesky(Function):
    @staticmethod
    def forward(ctx, A, upper, name):
        ctx.upper = upper
        a = _host(A)
        factor, info = _cholesky(a.swapaxes(-1, -2) if upper else a)  # upper reads A's upper triangle
        if name is not None and info.any():
            _raise(name, info, lambda k: "The factorization could not be completed because the input is not positive-"
                                         f"definite (the leading minor of order {k} is not positive-definite).")
        out = _to(factor.swapaxes(-1, -2) if upper else factor, A)
        _save(ctx, (A,), (out,))
        return out, _to(info, A, _C.int32)

    @staticmethod
    def backward(ctx, gL, _):
        _, (L,) = _saved(ctx, lambda A: _Cholesky.apply(A, ctx.upper, None)[:1])
        if ctx.upper:
            L, gL = L.mT, gL.mT
        # Murray (2016): gA = L^{-T} Phi(L^T gL) L^{-1}, Phi(X) = (tril(X) + tril(X, -1)^T) / 2.
        gA = (L.mT @ gL).tril()
        gA = 0.5 * (gA + gA.tril(-1).mT)
        gA = _solve_triangular(L.mT, gA, True)
        return _right_solve_triangular(L, gA, False), None, None


class _QR(Function):
    @staticmethod
    def forward(ctx, A, mode):
        ctx.mode, ctx.shape = mode, A.shape[-2:]
        ctx.set_materialize_grads(False)
        a = _host(A)
        if mode == "r":
            Q, R = _to(np.zeros(0), A), _to(np.linalg.qr(a, "r"), A)
        else:
            q, r = np.linalg.qr(a, mode)
            Q, R = _to(q, A), _to(r, A)
        _save(ctx, (A,), (Q, R))
        return Q, R

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. Please "
                               "use linalg.qr(A, mode='reduced') if you are going to differentiate through linalg.qr.")
        m, n = ctx.shape
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if gQ is None and gR is None:
            return None, None
        (A,), (Q, R) = _saved(ctx, lambda A: _QR.apply(A, ctx.mode))
        gA = 0
        if gR is not None:
            gA = gR @ R.mT
        if gQ is not None:
            gA = gA - Q.mT @ gQ
        if m >= n:
            gA = Q @ (gA.triu() + gA.triu(1).mT)
            if gQ is not None:
                gA = gA + gQ
            return _right_solve_triangular(R.mT, gA, False), None
        gA = Q @ (gA.mT - gA).tril()
        gA = _right_solve_triangular(R.narrow(-1, 0, m).mT, gA, False)
        gA = _ops.cat([gA, _ops.zeros(list(gA.shape[:-1]) + [n - m], dtype=A.dtype, device=str(A.device))], -1)
        return (gA + Q @ gR if gR is not None else gA), None


class _SVD(Function):
    @staticmethod
    def forward(ctx, A, full_matrices):
        ctx.full = full_matrices
        ctx.set_materialize_grads(False)
        a = _host(A)
        try:
            u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        except np.linalg.LinAlgError:
            _raise("linalg.svd", _non_finite(a), lambda _: "The algorithm failed to converge because the input "
                   "matrix contained non-finite values.")
        outs = _to(u, A), _to(s, A), _to(vh, A)
        _save(ctx, (A,), outs)
        return outs

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        if gU is None and gS is None and gVh is None:
            return None, None
        (A,), (U, S, Vh) = _saved(ctx, lambda A: _SVD.apply(A, ctx.full))
        m, n, k = A.shape[-2], A.shape[-1], S.shape[-1]
        if ctx.full:  # the gradient sees the reduced factors, as PyTorch's
            U, Vh = U.narrow(-1, 0, k), Vh.narrow(-2, 0, k)
            gU = gU.narrow(-1, 0, k) if gU is not None else None
            gVh = gVh.narrow(-2, 0, k) if gVh is not None else None
        if gU is None and gVh is None:  # svdvals
            return (U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh), None
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + _eye(k, S)  # S_j^2 - S_i^2 off the diagonal, 1 on it
        if gU is not None:
            UhgU = U.mT @ gU
            UhgU = UhgU - UhgU.mT
        if gVh is not None:
            VhgV = Vh @ gVh.mT
            VhgV = VhgV - VhgV.mT
        if gU is not None and gVh is not None:
            gA = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
        elif gU is not None:
            gA = (UhgU / E) * S.unsqueeze(-2)
        else:
            gA = S.unsqueeze(-1) * (VhgV / E)
        if gS is not None:
            gA = gA + _diag_embed(gS)
        if m > n and gU is not None:
            gUSinv = gU / S.unsqueeze(-2)
            gA = (U @ gA + gUSinv - U @ (U.mT @ gUSinv)) @ Vh
        elif m < n and gVh is not None:
            SinvgVh = gVh / S.unsqueeze(-1)
            gA = U @ (gA @ Vh + SinvgVh - (SinvgVh @ Vh.mT) @ Vh)
        else:
            gA = U @ (gA @ Vh) if m >= n else (U @ gA) @ Vh
        return gA, None


class _Eigh(Function):
    @staticmethod
    def forward(ctx, A, UPLO):
        ctx.UPLO = UPLO
        ctx.set_materialize_grads(False)
        a = _host(A)
        try:
            w, v = np.linalg.eigh(a, UPLO)
        except np.linalg.LinAlgError:
            _raise("linalg.eigh", _non_finite(a), lambda _: "The algorithm failed to converge because the input "
                   "matrix is ill-conditioned or has too many repeated eigenvalues.")
        outs = _to(w, A), _to(v, A)
        _save(ctx, (A,), outs)
        return outs

    @staticmethod
    def backward(ctx, gL, gV):
        if gL is None and gV is None:
            return None, None
        _, (L, V) = _saved(ctx, lambda A: _Eigh.apply(A, ctx.UPLO))
        if gV is None:  # eigvalsh
            return (V * gL.unsqueeze(-2)) @ V.mT, None
        VhgV = V.mT @ gV
        gA = 0.5 * (VhgV - VhgV.mT) / (L.unsqueeze(-2) - L.unsqueeze(-1) + _eye(L.shape[-1], L))
        if gL is not None:
            gA = gA + _diag_embed(gL)  # the skew part's diagonal is zero
        return V @ (gA @ V.mT), None


def _pinv_host(a, atol, rtol, hermitian):
    """PyTorch's pseudo-inverse: singular values (|eigenvalues| when hermitian) above
    max(atol, rtol * the largest) are inverted, the others dropped; atol, rtol broadcast over the batch."""
    atol, rtol = np.asarray(atol)[..., None], np.asarray(rtol)[..., None]
    with np.errstate(divide="ignore"):
        if hermitian:
            w, v = np.linalg.eigh(a)
            keep = np.abs(w) > np.maximum(atol, rtol * np.abs(w).max(-1, keepdims=True, initial=0))
            return (v * np.where(keep, 1 / w, 0).astype(a.dtype)[..., None, :]) @ v.swapaxes(-1, -2)
        u, s, vh = np.linalg.svd(a, full_matrices=False)
        keep = s > np.maximum(atol, rtol * s[..., :1])
        return (vh.swapaxes(-1, -2) * np.where(keep, 1 / s, 0).astype(a.dtype)[..., None, :]) @ u.swapaxes(-1, -2)


def _default_rtol(A):
    return float(np.finfo(_NUMPY[A.dtype]).eps * max(A.shape[-2:]))


def _pinv_backward(g, pinvA, A):
    m, n = A.shape[-2:]
    pinvAh, gh = pinvA.mT, g.mT
    if m <= n:
        K = gh @ pinvA
        KpinvAh = K @ pinvAh
        return -(pinvA @ K).mT + KpinvAh - (A @ pinvA) @ KpinvAh + (pinvAh @ pinvA) @ (gh - K @ A)
    K = pinvA @ gh
    pinvAhK = pinvAh @ K
    return -(K @ pinvA).mT + (gh - A @ K) @ pinvA @ pinvAh + pinvAhK - pinvAhK @ pinvA @ A


class _Pinv(Function):
    @staticmethod
    def forward(ctx, A, atol, rtol, hermitian):  # atol, rtol: numbers or numpy arrays
        ctx.tolerances = atol, rtol, hermitian
        out = _to(_pinv_host(_host(A), atol, rtol, hermitian), A)
        _save(ctx, (A,), (out,))
        return out

    @staticmethod
    def backward(ctx, g):
        (A,), (pinvA,) = _saved(ctx, lambda A: (_Pinv.apply(A, *ctx.tolerances),))
        return _pinv_backward(g, pinvA, A), None, None, None


class _Lstsq(Function):
    """The least-squares solution of A X = B (minimum norm where A is rank-deficient, singular
    values under rcond * the largest dropped, as gelsy's rank) and the rank."""

    @staticmethod
    def forward(ctx, A, B, rcond):
        a, b = _host(A), _host(B)
        s = np.linalg.svd(a, compute_uv=False)
        rank = (s > rcond * s[..., :1]).sum(-1)
        ctx.save_for_backward(A, B)
        return _to(_pinv_host(a, 0.0, rcond, False) @ b, B), _to(rank, A, _C.int64)

    @staticmethod
    def backward(ctx, gX, _):
        A, B = ctx.saved_tensors
        pinvA = _Pinv.apply(A, 0.0, _default_rtol(A), False)  # PyTorch's backward uses pinv's default tolerance
        gA = _pinv_backward(gX @ B.mT, pinvA, A) if ctx.needs_input_grad[0] else None
        return gA, (pinvA.mT @ gX if ctx.needs_input_grad[1] else None), None


class _MatrixExp(Function):
    @staticmethod
    def forward(ctx, A):
        ctx.save_for_backward(A)
        return _to(_expm(_host(A)), A)

    @staticmethod
    def backward(ctx, g):
        # The adjoint of the derivative at A applied to g is the top-right block of
        # exp([[A^T, g], [0, A^T]]) (Mathias 1996), as PyTorch computes it.
        A, = ctx.saved_tensors
        n, At = A.shape[-1], A.mT
        zero = _ops.zeros(list(At.shape), dtype=A.dtype, device=str(A.device))
        block = _ops.cat([_ops.cat([At, g], -1), _ops.cat([zero, At], -1)], -2)
        return _MatrixExp.apply(block).narrow(-2, 0, n).narrow(-1, n, n)


class _CholeskySolve(Function):
    """X with A X = B where A = L L^T (U^T U when upper), batch dims broadcast."""

    @staticmethod
    def forward(ctx, B, L, upper):
        ctx.upper = upper
        b, factor = _host(B), _host(L)
        lower = factor.swapaxes(-1, -2) if upper else factor
        out = _to(_trsm(lower.swapaxes(-1, -2), _trsm(lower, b, False, False), True, False), B)
        _save(ctx, (B, L), (out,))
        return out

    @staticmethod
    def backward(ctx, gX):
        (_, L), (X,) = _saved(ctx, lambda B, L: (_CholeskySolve.apply(B, L, ctx.upper),))
        gB = _CholeskySolve.apply(gX, L, ctx.upper)
        gL = None
        if ctx.needs_input_grad[1]:
            common = gB @ X.mT
            common = common + common.mT
            gL = -(L @ common) if ctx.upper else -(common @ L)
        return gB, gL, None


class _CholeskyInverse(Function):
    """(L L^T)^{-1} (or (U^T U)^{-1} when upper)."""

    @staticmethod
    def forward(ctx, L, upper):
        ctx.upper = upper
        factor = _host(L)
        lower = factor.swapaxes(-1, -2) if upper else factor
        linv = _trsm(lower, np.eye(factor.shape[-1], dtype=factor.dtype), False, False)
        out = _to(linv.swapaxes(-1, -2) @ linv, L)
        _save(ctx, (L,), (out,))
        return out

    @staticmethod
    def backward(ctx, g):
        (L,), (inv,) = _saved(ctx, lambda L: (_CholeskyInverse.apply(L, ctx.upper),))
        common = inv @ ((g + g.mT) @ inv)
        return (-(L @ common) if ctx.upper else -(common @ L)), None


def lu_unpack_pivots(pivots, like):
    """The permutation matrices P (A = P L U) of getrf's 1-based pivots, in like's dtype and device."""
    piv = _host(pivots).astype(np.int64) - 1
    batch, k, m = piv.shape[:-1], piv.shape[-1], like.shape[-2]
    piv = piv.reshape(-1, k)
    perm = np.tile(np.arange(m), (piv.shape[0], 1))
    rows = np.arange(piv.shape[0])
    for j in range(k):  # getrf's row swaps, in order
        swapped = perm[rows, piv[:, j]]
        perm[rows, piv[:, j]] = perm[:, j]
        perm[:, j] = swapped
    # P^T A = A[perm]: P^T is the identity's rows in perm's order
    return _to(np.eye(m)[perm].swapaxes(-1, -2).reshape(*batch, m, m), like)


def lu_unpack_factors(LU):
    """L (unit lower trapezoidal, m x k) and U (upper trapezoidal, k x n) of packed factors."""
    m, n = LU.shape[-2:]
    k = min(m, n)
    return LU.narrow(-1, 0, k).tril(-1) + _ops.eye(m, k, dtype=LU.dtype, device=str(LU.device)), \
        LU.narrow(-2, 0, k).triu()


class _LUFactor(Function):
    @staticmethod
    def forward(ctx, A):
        lu, pivots, info = _lu(_host(A))
        out = _to(lu, A)
        _save(ctx, (A,), (out,))
        ctx.pivots = _to(pivots, A, _C.int32)
        return out, ctx.pivots, _to(info, A, _C.int32)

    @staticmethod
    def backward(ctx, gLU, _, __):
        # A = P L U; with X = L1^{-1} P^T dA U1^{-1} (L1, U1 the leading k x k blocks), dL1 = L1 tril(X, -1),
        # dU1 = triu(X) U1, and the trapezoids' rest follows: PyTorch's linalg_lu_backward.
        (A,), (LU,) = _saved(ctx, lambda A: _LUFactor.apply(A)[:1])
        m, n = A.shape[-2:]
        k = min(m, n)
        P = lu_unpack_pivots(ctx.pivots, A)
        L, U = lu_unpack_factors(LU)
        gL, gU = gLU.narrow(-1, 0, k).tril(-1), gLU.narrow(-2, 0, k).triu()
        L1, U1 = L.narrow(-2, 0, k), U.narrow(-1, 0, k)
        gL1, gU1 = gL.narrow(-2, 0, k), gU.narrow(-1, 0, k)
        if m >= n:
            L2, gL2 = L.narrow(-2, k, m - k), gL.narrow(-2, k, m - k)
            M = (L1.mT @ gL1).tril(-1) + (gU @ U.mT - L2.mT @ gL2).triu()
            gA = _ops.cat([_solve_triangular(L1.mT, M, True, True), gL2], -2)
            gA = _right_solve_triangular(U.mT, gA, False)
        else:
            U2, gU2 = U.narrow(-1, k, n - k), gU.narrow(-1, k, n - k)
            M = (L.mT @ gL - gU2 @ U2.mT).tril(-1) + (gU1 @ U1.mT).triu()
            gA = _solve_triangular(L.mT, _ops.cat([_right_solve_triangular(U1.mT, M, False), gU2], -1), True, True)
        return P @ gA
