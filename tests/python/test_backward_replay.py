"""Replaying a whole backward() call (Note [Replaying backward], engine/trace/backward_replay.cpp):
a replayed iteration hands out the ops of its backward() call without running the autograd
engine, and nothing observable changes (DESIGN.md §10): losses, parameters and every .grad are
bitwise those of eager execution (fusion off), and of replay op by op. Where the call cannot be
replayed whole (hooks, retain_grad, a Python autograd Function, retain_graph, a given gradient, a
graph that changed), it runs through the autograd engine as before, with the same results."""
import numpy as np
import pytest

import terra
from terra import nn


def program(steps, variant="plain", set_to_none=True):
    """A small regression loop with the features the replay must get right: batches sliced out of
    a dataset at a new offset each step, a view of a parameter, a wrapped Python number, two
    parameters' .grad either None or zeroed before backward(), and the variant's twist."""
    terra.manual_seed(0)
    rng = np.random.default_rng(1)
    data = terra.tensor(rng.standard_normal((64, 6)), dtype=terra.float32)
    target = terra.tensor(rng.standard_normal((64, 2)), dtype=terra.float32)
    layer = nn.Linear(6, 8)
    head = nn.Parameter(terra.tensor(rng.standard_normal((2, 8)) * 0.3, dtype=terra.float32))
    params = list(layer.parameters()) + [head]
    opt = terra.optim.SGD(params, lr=0.05, momentum=0.9)
    seen = []
    if variant == "hook":
        head.register_hook(lambda g: g * 0.5)
    losses, grads = [], []
    for step in range(steps):
        start = (step * 8) % 56
        x, y = data[start:start + 8], target[start:start + 8]
        opt.zero_grad(set_to_none=set_to_none)
        if variant == "frozen_once":
            head.requires_grad_(step != 7)
        h = terra.tanh(layer(x)) * 1.5
        if variant == "retain_grad":
            h.retain_grad()
        out = terra.matmul(h, head.t())  # a view of a parameter, made eagerly
        loss = ((out - y) ** 2).mean()
        if variant == "two_losses":
            extra = (layer(x) ** 2).mean() * 0.1  # a graph of its own, into the same leaves
            loss.backward()
            extra.backward()
        elif variant == "retain_graph":
            loss.backward(retain_graph=True)
        elif variant == "given_gradient":
            loss.backward(terra.ones_like(loss) * 2.0)
        elif variant == "frozen_once":
            loss.backward()
            head.requires_grad_(True)
        else:
            loss.backward()
        if variant == "retain_grad":
            seen.append(h.grad.numpy().copy())
        grads.append([None if p.grad is None else p.grad.numpy().copy() for p in params])
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in params], grads, seen


def assert_bitwise(a, b):
    assert a[0] == b[0]
    for x, y in zip(a[1], b[1]):
        assert np.array_equal(x, y)
    for step_a, step_b in zip(a[2], b[2]):
        for x, y in zip(step_a, step_b):
            assert (x is None) == (y is None)
            if x is not None:
                assert np.array_equal(x, y)
    for x, y in zip(a[3], b[3]):
        assert np.array_equal(x, y)


def replayed(variant, set_to_none=True, replay_backward=True, steps=14):
    with terra.replay(fusion=False, replay_must_pay=False, replay_backward=replay_backward):
        result = program(steps, variant, set_to_none)
    return result, terra.debug.stats()


@pytest.mark.parametrize("set_to_none", [True, False], ids=["grad-None", "grad-zeroed"])
def test_a_replayed_backward_call_is_handed_out_whole_and_equals_eager(set_to_none):
    eager = program(14, set_to_none=set_to_none)
    whole, stats = replayed("plain", set_to_none)
    op_by_op, stats_op_by_op = replayed("plain", set_to_none, replay_backward=False)
    assert stats["iterations_replayed"] >= 8
    assert stats["backward_replays"] == stats["iterations_replayed"]
    assert stats["divergences"] == 0
    assert stats_op_by_op["backward_replays"] == 0
    assert stats_op_by_op["ops_replayed"] == stats["ops_replayed"]  # the same ops, handed out another way
    assert stats["backward_refusals"] == []
    assert_bitwise(eager, whole)
    assert_bitwise(eager, op_by_op)


def test_two_backward_calls_in_one_iteration_accumulate_as_eager():
    eager = program(14, "two_losses", set_to_none=True)
    whole, stats = replayed("two_losses")
    assert stats["backward_replays"] == 2 * stats["iterations_replayed"] > 0
    assert_bitwise(eager, whole)


REASONS = {"hook": "a hook on a tensor's gradient", "retain_grad": "retain_grad()",
           "retain_graph": "retain_graph or create_graph", "given_gradient": "a gradient given to backward()"}


@pytest.mark.parametrize("variant", sorted(REASONS))
def test_calls_that_cannot_be_replayed_whole_run_through_autograd_with_the_same_results(variant):
    eager = program(14, variant)
    result, stats = replayed(variant)
    assert stats["iterations_replayed"] >= 8
    assert stats["backward_replays"] == 0
    assert_bitwise(eager, result)
    # --explain says where and why
    [refusal] = stats["backward_refusals"]
    assert refusal["why"] == REASONS[variant]
    assert "test_backward_replay.py:" in refusal["where"] and "in program" in refusal["where"]


def test_a_graph_that_changes_for_one_iteration_is_not_replayed_from_the_old_call():
    eager = program(14, "frozen_once")
    result, stats = replayed("frozen_once")
    assert stats["backward_replays"] >= 5
    assert stats["backward_replays"] < stats["iterations_replayed"] + stats["divergences"]
    assert_bitwise(eager, result)
    assert eager[2][7][-1] is None  # the frozen step left head.grad alone
    assert [r["why"] for r in stats["backward_refusals"]] == ["the autograd graph differs from every traced call's here"]


class ScaledTanh(terra.autograd.Function):
    """2 tanh(x), its backward in Python."""

    @staticmethod
    def forward(ctx, x):
        y = terra.tanh(x)
        ctx.save_for_backward(y)
        return y * 2

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * 2 * (1 - y * y)


def custom_function_program(steps):
    terra.manual_seed(0)
    layer = nn.Linear(4, 3)
    opt = terra.optim.SGD(layer.parameters(), lr=0.1)
    x = terra.randn(5, 4)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = ScaledTanh.apply(layer(x)).mean()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in layer.parameters()]


def test_a_python_autograd_function_keeps_the_call_in_the_autograd_engine():
    eager = custom_function_program(12)
    with terra.replay(fusion=False, replay_must_pay=False):
        result = custom_function_program(12)
    stats = terra.debug.stats()
    assert stats["iterations_replayed"] >= 6
    assert stats["backward_replays"] == 0
    assert [r["why"] for r in stats["backward_refusals"]] == ["a Python autograd.Function, or an op without a gradient formula"]
    assert eager[0] == result[0]
    for a, b in zip(eager[1], result[1]):
        assert np.array_equal(a, b)


def test_backward_twice_through_a_replayed_graph_raises_as_eager():
    def run():
        layer = nn.Linear(3, 2)
        x = terra.randn(4, 3)
        errors = []
        for step in range(12):
            loss = terra.tanh(layer(x)).sum()
            loss.backward()
            if step == 9:
                try:
                    loss.backward()  # the saved tensors are gone, in eager mode as in replay
                except RuntimeError as e:
                    errors.append(str(e).split(".")[0])
        return errors

    terra.manual_seed(0)
    eager = run()
    terra.manual_seed(0)
    with terra.replay(replay_must_pay=False):
        result = run()
    assert terra.debug.stats()["backward_replays"] >= 5
    assert eager == result
    assert len(eager) == 1 and "Trying to backward through the graph a second time" in eager[0]
