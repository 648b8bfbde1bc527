"""terra.einsum: PyTorch 1.13's torch.einsum composed from registry ops.

The equation is parsed and checked as ATen's einsum does it (same order of checks, same
messages). Each operand then takes its diagonals for repeated subscripts and drops the size-1 dims
that another operand broadcasts; the operands are contracted left to right, each pair as one bmm
over (batch, left-free, contracted, right-free) groups, or as one broadcasting mul when the pair
has nothing to contract. A subscript that neither the output nor a later operand needs is summed
out as soon as only one operand holds it. Everything is permute, reshape, diagonal (as_strided),
sum, mul and bmm, so autograd, every device and co-execution see only ordinary ops.
"""
import math
import string
from collections import Counter

from . import _C
from ._shape_functions import diagonal

# Subscripts are numbered as ATen numbers them, upper case first: an implicit output is sorted by
# this number. Dimension j of the ellipsis (right-aligned over all operands) is _ELLIPSIS + j.
_LETTERS = 26
_ELLIPSIS = 2 * _LETTERS


def _subscript(letter):
    return ord(letter) - ord("A") if letter.isupper() else ord(letter) - ord("a") + _LETTERS


def _letter(subscript):
    return chr(ord("A") + subscript) if subscript < _LETTERS else chr(ord("a") + subscript - _LETTERS)


def _invalid(index):
    return RuntimeError(f"einsum(): invalid subscript given at index {index} in the equation string, "
                        "subscripts must be in [a-zA-Z]")


def _parse_inputs(lhs, num_ops):
    """The subscripts of each operand, the ellipsis as the one marker _ELLIPSIS."""
    labels = [[]]
    found_ellipsis = False
    i = 0
    while i < len(lhs):
        c = lhs[i]
        if c == ".":
            operand = len(labels) - 1
            if found_ellipsis:
                raise RuntimeError(f"einsum(): found '.' for operand {operand} for which an ellipsis was already found")
            if lhs[i:i + 3] != "...":
                raise RuntimeError(f"einsum(): found '.' for operand {operand} that is not part of any ellipsis")
            labels[-1].append(_ELLIPSIS)
            found_ellipsis = True
            i += 2
        elif c == ",":
            if len(labels) == num_ops:
                raise RuntimeError("einsum(): fewer operands were provided than specified in the equation")
            labels.append([])
            found_ellipsis = False
        elif c in string.ascii_letters:
            labels[-1].append(_subscript(c))
        elif c != " ":
            raise _invalid(i)
        i += 1
    if len(labels) != num_ops:
        raise RuntimeError("einsum(): more operands were provided than specified in the equation")
    return labels


def _parse_output(rhs, offset, counts, ell_num_dim):
    """The output's subscripts; `offset` is where rhs starts in the equation (for messages)."""
    ellipsis = list(range(_ELLIPSIS, _ELLIPSIS + ell_num_dim))
    if rhs is None:  # implicit: the ellipsis, then the subscripts that appear exactly once
        return ellipsis + sorted(s for s, n in counts.items() if n == 1)
    out = []
    found_ellipsis = False
    i = 0
    while i < len(rhs):
        c = rhs[i]
        if c == ".":
            if found_ellipsis:
                raise RuntimeError("einsum(): found '.' for output but an ellipsis (...) was already found")
            if rhs[i:i + 3] != "...":
                raise RuntimeError("einsum(): found '.' for output that is not part of any ellipsis (...)")
            out += ellipsis
            found_ellipsis = True
            i += 2
        elif c in string.ascii_letters:
            s = _subscript(c)
            if s in out:
                raise RuntimeError(f"einsum(): output subscript {c} appears more than once in the output")
            if counts[s] == 0:
                raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input "
                                   "operand")
            out.append(s)
        elif c != " ":
            raise _invalid(offset + i)
        i += 1
    return out


def _check_sizes(i, t, labels, sizes):
    """Checks operand i's sizes against each other and against `sizes` (subscript -> the size other
    than 1 seen so far), which it updates. Messages number dims as ATen's do: a repeated subscript's
    later dims are already gone there (ATen takes each diagonal as it finds it)."""
    first = {}
    dim = 0
    for d, s in enumerate(labels):
        n = t.shape[d]
        if s in first:
            prev = t.shape[first[s]]
            if n != prev:
                raise RuntimeError(f"einsum(): subscript {_letter(s)} is repeated for operand {i} but the sizes don't "
                                   f"match, {n} != {prev}")
            continue
        first[s] = d
        if n != 1:
            seen = sizes.get(s, 1)
            if seen not in (1, n):
                if s >= _ELLIPSIS:
                    raise RuntimeError(f"einsum(): dimension {dim} covered by ellipsis in operand {i} has size {n} "
                                       f"which does not broadcast with previously seen ellipsis with size {seen} "
                                       "for the respective dimension")
                raise RuntimeError(f"einsum(): subscript {_letter(s)} has size {n} for operand {i} which does not "
                                   f"broadcast with previously seen size {seen}")
            sizes[s] = n
        dim += 1


def _take_diagonals(t, labels):
    """For each repeated subscript, the diagonal over its dims (moved last), until none repeats."""
    while len(set(labels)) < len(labels):
        d = next(d for d, s in enumerate(labels) if s in labels[:d])
        q = labels.index(labels[d])
        t = diagonal(t, 0, q, d)
        labels = [s for k, s in enumerate(labels) if k not in (q, d)] + [labels[d]]
    return t, labels


def _sum_out(t, labels, gone):
    if not gone:  # sum over no dims would sum over all of them
        return t, labels
    return t.sum([labels.index(s) for s in gone]), [s for s in labels if s not in gone]


def _contract(a, la, b, lb, keep):
    """a * b summed over the subscripts they share that are not in `keep`, with subscripts
    batch + left + right (shared kept ones, then a's own, then b's own)."""
    a, la = _sum_out(a, la, [s for s in la if s not in lb and s not in keep])
    b, lb = _sum_out(b, lb, [s for s in lb if s not in la and s not in keep])
    batch = [s for s in la if s in lb and s in keep]
    summed = [s for s in la if s in lb and s not in keep]
    left = [s for s in la if s not in lb]
    right = [s for s in lb if s not in la]
    size = dict(zip(la, a.shape))
    size.update(zip(lb, b.shape))
    bs, ls, rs = ([size[s] for s in group] for group in (batch, left, right))
    a = a.permute([la.index(s) for s in batch + left + summed])
    b = b.permute([lb.index(s) for s in batch + summed + right])
    if summed:
        k = math.prod(size[s] for s in summed)
        a = a.reshape([math.prod(bs), math.prod(ls), k])
        b = b.reshape([math.prod(bs), k, math.prod(rs)])
        out = a.bmm(b).reshape(bs + ls + rs)
    else:  # an outer product per batch: bmm over k = 1 would only be slower
        out = a.reshape(bs + ls + [1] * len(rs)) * b.reshape(bs + [1] * len(ls) + rs)
    return out, batch + left + right


def _from_sublists(args):
    """torch.einsum(op1, sublist1, op2, sublist2, ..., [sublist_out]) as (equation, operands)."""
    def letters(sublist):
        out = ""
        for n in sublist:
            if n is Ellipsis:
                out += "..."
            elif 0 <= n < 2 * _LETTERS:
                out += _letter(n)
            else:
                raise ValueError("einsum(): subscript in subscript list is not within the valid range [0, 52)")
        return out

    equation = ",".join(letters(sublist) for sublist in args[1::2])
    if len(args) % 2 == 1:
        return equation + "->" + letters(args[-1]), args[:-1:2]
    return equation, args[::2]


def einsum(*args):
    if len(args) < 2:
        raise ValueError("einsum(): must specify the equation string and at least one operand, "
                         "or at least one operand and its subscripts list")
    if isinstance(args[0], _C.Tensor):
        equation, operands = _from_sublists(args)
    else:
        equation, operands = args[0], args[1:]
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        return einsum(equation, *operands[0])

    lhs, arrow, rhs = equation.partition("->")
    op_labels = _parse_inputs(lhs, len(operands))
    counts = Counter()
    ell_num_dim = 0
    for i, (t, labels) in enumerate(zip(operands, op_labels)):
        n = len(labels) - labels.count(_ELLIPSIS)
        counts.update(s for s in labels if s != _ELLIPSIS)
        if _ELLIPSIS in labels:
            if n > t.dim():
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) is more than the number "
                                   f"of dimensions ({t.dim()}) for operand {i}")
            ell_num_dim = max(ell_num_dim, t.dim() - n)
        elif n != t.dim():
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({n}) does not match the number of "
                               f"dimensions ({t.dim()}) for operand {i} and no ellipsis was given")
    out = _parse_output(rhs if arrow else None, len(lhs) + 2, counts, ell_num_dim)

    sizes = {}
    for i, (t, labels) in enumerate(zip(operands, op_labels)):
        if _ELLIPSIS in labels:  # the ellipsis covers the last of the ellipsis dims
            k, n = labels.index(_ELLIPSIS), t.dim() - len(labels) + 1
            labels[k:k + 1] = range(_ELLIPSIS + ell_num_dim - n, _ELLIPSIS + ell_num_dim)
        _check_sizes(i, t, labels, sizes)

    ops = []
    for t, labels in zip(operands, op_labels):
        t, labels = _take_diagonals(t, labels)
        # A size-1 dim that another operand broadcasts is as if absent: drop it, so that the
        # contraction sees each subscript with one size.
        kept = [d for d, s in enumerate(labels) if t.shape[d] != 1 or sizes.get(s, 1) == 1]
        if len(kept) < len(labels):
            t, labels = t.reshape([t.shape[d] for d in kept]), [labels[d] for d in kept]
        ops.append((t, labels))

    result, labels = ops[0]
    for i in range(1, len(ops)):
        keep = set(out).union(*(later for _, later in ops[i + 1:]))
        result, labels = _contract(result, labels, *ops[i], keep)
    result, labels = _sum_out(result, labels, [s for s in labels if s not in out])
    return result.permute([labels.index(s) for s in out])
