"""Location keys and iteration boundaries as the tracing session's location provider computes them
(bindings/src/locations.cpp, DESIGN.md §7), through terra.debug.location(): each call is what the
provider returns for an op called at that point (and, like an op call, it advances the boundary
detection). Loops call backward() on real tensors, which is where the hot loop is found. Nothing
here needs a tracing session to be running; terra.replay and terra.step are tested for what Python
sees of them.
"""
import functools
import os
import sys
import textwrap

import pytest

import terra
from terra.debug import location


def key():
    return location()[0]


def boundary():
    return location()[1]


def weight():
    return terra.ones(3, requires_grad=True)


def train_step(w):
    (w * 2).sum().backward()
    return boundary()  # the ops of backward() are called at the line that called it


def train_loop(probe, steps=3):
    """A hot loop of `steps` passes, each calling probe() then a training step; returns what
    probe() returned in each pass."""
    w = weight()
    seen = []
    for _ in range(steps):
        seen.append(probe())
        train_step(w)
    return seen


def line_here():
    return sys._getframe(1).f_lineno


# ---- keys -------------------------------------------------------------------------------------

def test_same_line_gives_the_same_key_in_every_iteration():
    keys = []
    for _ in range(4):
        keys.append(key())
    assert len(set(keys)) == 1


class Subscripted:
    def __getitem__(self, index):
        return key()


def test_a_subscript_keeps_its_key_once_the_interpreter_specializes_it():
    # Note [Offsets of specialized instructions] (bindings/src/code_info.hpp): after a few runs
    # CPython 3.11 makes `obj[i]` on a class with a Python __getitem__ a BINARY_SUBSCR_GETITEM, which
    # calls it with the frame's offset past the instruction's inline caches.
    subscripted = Subscripted()
    keys = []
    for i in range(64):
        keys.append(subscripted[i])
    assert len(set(keys)) == 1


def keys_from_a_generator():
    while True:
        yield key()


def test_a_builtin_call_keeps_its_key_once_the_interpreter_specializes_it():
    # Note [Offsets of specialized instructions]: `next(stream)` becomes a specialized PRECALL that
    # makes the call itself, so the frame reports the PRECALL where it reported the CALL.
    stream = keys_from_a_generator()
    keys = []
    for _ in range(64):
        keys.append(next(stream))
    assert len(set(keys)) == 1


def test_same_line_keeps_its_key_across_iterations_of_a_hot_loop():
    keys = train_loop(key, steps=4)
    assert len(set(keys[1:])) == 1  # from the first iteration after the hot loop was found


def test_different_lines_give_different_keys():
    a = key()
    b = key()
    c, d = key(), key()  # one line, two calls: different instructions
    assert len({a, b, c, d}) == 4


def test_same_line_through_different_callers_gives_different_keys():
    a = key()
    b = key()
    assert a != b
    inner = [key() for _ in range(2)]  # the same caller twice (a comprehension's one instruction)
    assert inner[0] == inner[1]


def test_key_inside_a_function_called_from_the_loop_is_stable():
    def forward():
        return key()

    keys = train_loop(forward, steps=4)
    assert len(set(keys[1:])) == 1
    assert keys[1] != key()


def test_key_is_bounded_by_the_hot_loop_frame():
    # Once the hot loop is known, frames above it do not enter the key: the same loop run from
    # two different lines gives the same keys.
    first = train_loop(key)[1:]
    second = train_loop(key)[1:]
    assert first == second and len(set(first)) == 1


def test_description_names_the_user_line_and_the_hot_loop_line():
    desc, line = location()[2], line_here()
    assert desc == f"test_trace_locations.py:{line} in test_description_names_the_user_line_and_the_hot_loop_line"

    def forward():
        return location()[2], line_here()

    w = weight()
    for _ in range(3):
        (desc, inner_line), loop_line = forward(), line_here()
        train_step(w)
    assert desc == f"test_trace_locations.py:{inner_line} in forward <- test_trace_locations.py:{loop_line}"


def terra_internal(source, name):
    """A function whose code lies in the terra package's folder, as nn or optim code does."""
    namespace = {"location": location, "terra": terra}
    path = os.path.join(os.path.dirname(terra.__file__), "nn", "_not_a_real_module.py")
    exec(compile(textwrap.dedent(source), path, "exec"), namespace)
    return namespace[name]


def test_description_of_ops_inside_terra_names_the_users_line():
    internal = terra_internal("""\
        def functional_op():
            return location()[2]
    """, "functional_op")
    desc, line = internal(), line_here()
    assert desc == f"test_trace_locations.py:{line} in test_description_of_ops_inside_terra_names_the_users_line"


def test_terra_frames_are_part_of_the_key():
    internal = terra_internal("""\
        def two_ops():
            return location()[0], location()[0]
    """, "two_ops")
    a, b = internal()
    assert a != b


def test_loops_inside_terra_are_not_the_hot_loop():
    fit = terra_internal("""\
        def fit(w, marks):
            for _ in range(3):
                (w * 2).sum().backward()
                marks.append(location()[1])
    """, "fit")
    w = weight()
    starts, inside = [], []
    for _ in range(3):
        starts.append(boundary())
        fit(w, inside)
    assert starts == [False, True, True]
    assert inside == [False] * 9


# ---- iteration boundaries ---------------------------------------------------------------------

def test_for_loop_with_backward_in_its_body():
    w = weight()
    marks = []
    for _ in range(4):
        start = boundary()
        loss = (w * 3).sum()
        middle = boundary()
        loss.backward()
        marks.append((start, middle, boundary()))
    # The iteration that found the loop (at backward) has no boundary; each later one starts with one.
    assert marks == [(False, False, False)] + [(True, False, False)] * 3


def test_while_loop():
    w = weight()
    marks = []
    i = 0
    while i < 4:
        start = boundary()
        after = train_step(w)
        marks.append((start, after))
        i += 1
    assert marks == [(False, False)] + [(True, False)] * 3


def test_nested_loop_in_the_body_is_not_a_boundary():
    w = weight()
    params = [terra.zeros(2) for _ in range(3)]
    marks = []
    for _ in range(4):
        start = boundary()
        train_step(w)
        inner = []
        for p in params:
            inner.append(boundary())
            p.add_(1.0)
            inner.append(boundary())  # the next inner pass moves backwards inside the nested loop
        marks.append((start, inner))
    assert marks == [(False, [False] * 6)] + [(True, [False] * 6)] * 3


def test_continue_is_a_boundary():
    w = weight()
    marks = []
    for i in range(6):
        start = boundary()
        if i % 2 == 1:
            marks.append((start, "skipped", boundary()))
            continue
        marks.append((start, "trained", train_step(w)))
    assert marks == [(False, "trained", False)] + [(True, "skipped", False), (True, "trained", False)] * 2 + [
        (True, "skipped", False)]


def test_continue_in_a_while_loop_with_ops_in_its_condition():
    # CPython 3.11 evaluates a while condition at the top (first pass, and after `continue`) and
    # again at the bottom of the body: both belong to the loop, and each pass has one boundary.
    w = weight()
    events = []
    i = 0

    def more():
        events.append(("condition", boundary()))
        return i < 6

    while more():
        i += 1
        events.append(("start", boundary()))
        if i % 2 == 0:
            continue
        events.append(("trained", train_step(w)))
    iterations = [[]]
    for what, crossed in events:
        if crossed:
            iterations.append([])
        iterations[-1].append(what)
    # One pass of the body per iteration; the last "iteration" is the condition that ends the loop.
    assert [it.count("start") for it in iterations] == [1, 1, 1, 1, 1, 1, 0]


def test_backward_called_in_a_function_called_from_the_loop():
    def step(w):
        return train_step(w)  # two frames below the loop

    w = weight()
    marks = []
    for _ in range(4):
        marks.append((boundary(), step(w)))
    assert marks == [(False, False)] + [(True, False)] * 3


def test_backward_called_directly_through_terra_autograd():
    w = weight()
    marks = []
    for _ in range(3):
        start = boundary()
        terra.autograd.backward([(w * 2).sum()])
        marks.append((start, boundary()))  # the second call stands for the ops of backward()
    assert marks == [(False, False), (True, False), (True, False)]


def test_a_builtin_calling_a_function_many_times_stays_inside_one_iteration():
    # Note [Hot loop]: functools.reduce calls the lambda from one offset of the loop's frame, a new
    # callee frame each time, before the iteration has called backward().
    w = weight()
    marks = []
    for _ in range(4):
        start = boundary()
        inner = functools.reduce(lambda seen, _: seen + [boundary()], range(3), [])
        (w * 2).sum().backward()
        marks.append((start, inner))
    assert marks == [(False, [False] * 3)] + [(True, [False] * 3)] * 3


def test_list_comprehension_in_the_body_stays_inside_the_iteration():
    w = weight()
    marks = []
    for _ in range(4):
        start = boundary()
        inner = [boundary() for _ in range(3)]
        from_comprehension = [train_step(w) for _ in range(2)]  # backward() inside a comprehension
        marks.append((start, inner, from_comprehension))
    assert marks == [(False, [False] * 3, [False] * 2)] + [(True, [False] * 3, [False] * 2)] * 3


def test_a_later_loop_is_found_after_the_first_one_ends():
    w = weight()
    first, second = [], []
    for _ in range(3):
        first.append(boundary())
        train_step(w)
    between = [boundary(), boundary()]
    for _ in range(3):
        second.append(boundary())
        train_step(w)
    assert first == [False, True, True]
    assert between == [False, False]
    assert second == [False, True, True]


def test_a_loop_in_a_function_that_returned_is_forgotten():
    assert train_loop(boundary) == [False, True, True]
    assert [boundary(), boundary()] == [False, False]
    assert train_loop(boundary) == [False, True, True]


def test_no_boundaries_without_backward():
    marks = []
    for _ in range(3):
        marks.append(boundary())
        (weight() * 2).sum()
    assert marks == [False] * 3


# ---- terra.step -------------------------------------------------------------------------------

def step_depth():
    return terra._C._trace.step_depth()


def test_step_as_a_with_block_turns_detection_off():
    w = weight()
    marks = []
    for _ in range(4):
        with terra.step():
            assert step_depth() == 1
            marks.append(boundary())
            train_step(w)
    assert step_depth() == 0
    assert marks == [False] * 4


def test_step_as_a_decorator():
    w = weight()

    @terra.step
    def train(w):
        return boundary(), step_depth(), train_step(w)

    @terra.step()
    def train_in_a_step(w):
        return train(w)

    results = [train(w) for _ in range(3)] + [train_in_a_step(w)]
    assert results == [(False, 1, False)] * 3 + [(False, 2, False)]
    assert step_depth() == 0
    assert train.__name__ == "train"


def test_step_bounds_keys_at_the_frame_that_entered_it():
    def in_step():
        with terra.step():
            return key()

    def plain():
        return key()

    assert in_step() == in_step()  # two caller lines, one key: frames above the step do not count
    assert plain() != plain()

    @terra.step
    def decorated():
        return key()

    assert decorated() == decorated()


def test_steps_nest():
    def inner_step():
        with terra.step():
            assert step_depth() == 2
            return key()

    with terra.step():
        a = inner_step()
        b = inner_step()
        assert step_depth() == 1
    assert step_depth() == 0
    assert a != b  # the outer step's frame bounds the keys: the two calls are at different lines


def test_detection_resumes_after_a_step_even_after_an_exception():
    with pytest.raises(ValueError):
        with terra.step():
            raise ValueError("inside a step")
    assert step_depth() == 0
    assert train_loop(boundary) == [False, True, True]


def test_step_entered_inside_a_hot_loop_forgets_it():
    w = weight()
    marks = []
    for i in range(4):
        marks.append(boundary())
        if i == 1:
            with terra.step():
                train_step(w)
        else:
            train_step(w)
    # Iteration 1 found nothing new; the step dropped the loop found in iteration 0, iteration 2
    # found it again, so iteration 3 is the first boundary after that.
    assert marks == [False, True, False, True]


# ---- terra.replay and terra.debug -------------------------------------------------------------

def test_replay_as_context_manager_and_decorator(tmp_path):
    with terra.replay() as session:
        out = (weight() * 2).sum().item()
    assert out == 6.0
    assert session.options.stable_after == terra._C._trace.options_from_env().stable_after

    @terra.replay(stable_after=5, max_paths=7, fusion=False, dump_dir=str(tmp_path))
    def run(x):
        return x + 1

    assert run(1) == 2


def test_replay_options_from_keywords_override_the_environment():
    session = terra.replay(stable_after=5, max_paths=7, fusion=False, memory_planning=False, dump_dir="graphs")
    o = session.options
    assert (o.stable_after, o.max_paths, o.fusion, o.memory_planning, o.dump_dir) == (5, 7, False, False, "graphs")
    env = terra._C._trace.options_from_env()
    defaults = terra.replay().options
    assert (defaults.stable_after, defaults.max_paths, defaults.fusion) == (env.stable_after, env.max_paths, env.fusion)
    with pytest.raises(TypeError):
        terra.replay(unknown_option=1)


def test_debug_stats_and_report():
    stats = terra.debug.stats()
    counts = {"iterations_eager", "iterations_dormant", "iterations_traced", "iterations_replayed", "divergences",
              "ops_replayed", "backward_replays", "plans_compiled", "spans_run", "fused_groups", "nvrtc_kernels", "cuda_graph_captures",
              "cuda_graph_replays", "side_by_side_runs"}
    seconds = {"compile_seconds", "graph_seconds", "wait_seconds", "session_seconds"}
    assert set(stats) == counts | seconds | {"coexecuted", "fallbacks", "sync_points", "backward_refusals"}
    assert isinstance(stats["fallbacks"], list) and isinstance(stats["sync_points"], list)
    assert all(isinstance(stats[k], int) for k in counts)
    assert all(isinstance(stats[k], float) for k in seconds)
    assert stats["coexecuted"] is False
    assert isinstance(terra.debug.report(), str)


def test_location_returns_key_flag_and_description():
    k, new_iteration, desc = location()
    assert isinstance(k, int) and 0 <= k < 2 ** 64
    assert new_iteration is False
    assert desc.startswith("test_trace_locations.py:")


def test_a_hook_that_backward_calls_has_its_own_location():
    # Note [Backward keeps its location]: the gradient ops before the hook were located at the
    # backward() line; Python code the engine calls is located where it runs.
    seen = []

    def hook(grad):
        seen.append(location()[2])
        return grad * 2

    w = weight()
    with terra.replay():
        for _ in range(4):
            y = w * 3
            y.register_hook(hook)
            (y * y).sum().backward()
    assert len(seen) == 4
    assert all(" in hook" in desc for desc in seen), seen
