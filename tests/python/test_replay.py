"""Synchronous replay from Python (terra.replay, terra.step, terra.debug, terra run --mode replay
--dump-graph): the same training loop run eagerly and replayed ends with the same parameters and
reads the same losses (DESIGN.md §10), replay really happens, divergences are reported with the
user's source line, and the dumps are there for a person to read."""
import itertools
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

import terra
from terra import nn
from terra._C import _trace
from terra._explain import explain_report

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))


def train(steps, detour_at=(), explicit_steps=False, observe=None):
    terra.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = terra.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    losses = []
    for step in range(steps):
        def one_step():
            x = terra.tensor(rng.standard_normal((8, 6)), dtype=terra.float32)
            y = terra.tensor(rng.standard_normal((8, 1)), dtype=terra.float32)
            out = model(x)
            if step in detour_at:
                out = out * 0.5  # a path the other steps never take
            loss = ((out - y) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            if observe:
                observe()
        if explicit_steps:
            with terra.step():
                one_step()
        else:
            one_step()
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def line_of(text):
    """The line of this file holding `text`."""
    return next(i for i, line in enumerate(Path(__file__).read_text().splitlines(), 1) if text in line)


DETOUR_LINE = next(i for i, line in enumerate(Path(__file__).read_text().splitlines(), 1)
                   if line.strip().startswith("out = out * 0.5"))


def assert_same(eager, replayed):
    assert eager[0] == replayed[0]
    for a, b in zip(eager[1], replayed[1]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("explicit_steps", [False, True], ids=["found-loop", "terra.step"])
def test_replayed_training_equals_eager_bitwise_without_fusion(explicit_steps):
    eager = train(14, detour_at=(8,), explicit_steps=explicit_steps)
    with terra.replay(fusion=False):
        replayed = train(14, detour_at=(8,), explicit_steps=explicit_steps)
    stats = terra.debug.stats()
    assert stats["iterations_replayed"] >= 5
    assert stats["plans_compiled"] >= 1
    assert stats["divergences"] == 1
    fallback = stats["fallbacks"][0]
    assert f"test_replay.py:{DETOUR_LINE} in one_step" in fallback["location"]
    assert fallback["reason"].startswith("new path")
    assert_same(eager, replayed)


def minibatch_training(steps):
    """Batches picked from a dataset by a tensor of indices (`data[batch]`, an index op in the
    loop), the pattern of the digits CNN."""
    terra.manual_seed(0)
    rng = np.random.default_rng(1)
    data = terra.tensor(rng.standard_normal((64, 6)), dtype=terra.float32)
    targets = terra.tensor(rng.standard_normal((64, 1)), dtype=terra.float32)
    model = nn.Linear(6, 1)
    opt = terra.optim.SGD(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        batch = terra.from_numpy(rng.permutation(64)[:8])
        loss = ((model(data[batch]) - targets[batch]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_indexing_by_a_tensor_replays_without_divergence_once_python_specializes_it():
    # `data[batch]` is a BINARY_SUBSCR that CPython 3.11 specializes after a few runs, which moved
    # the location key of the index op it makes (Note [Offsets of specialized instructions]). The
    # replayed run comes first, so that the specialization happens while it runs.
    with terra.replay(fusion=False):
        replayed = minibatch_training(40)
    stats = terra.debug.stats()
    eager = minibatch_training(40)
    assert stats["divergences"] == 0, stats["fallbacks"]
    assert stats["iterations_replayed"] >= 30
    assert_same(eager, replayed)


def epochs_with_evaluation(epochs, batches):
    """An inner batch loop per epoch (the hot loop, left and found again every epoch) and ops after
    it: an evaluation that belongs to no iteration."""
    terra.manual_seed(0)
    rng = np.random.default_rng(2)
    data = terra.tensor(rng.standard_normal((batches * 8, 5)), dtype=terra.float32)
    targets = terra.tensor(rng.standard_normal((batches * 8, 1)), dtype=terra.float32)
    model = nn.Sequential(nn.Linear(5, 6), nn.Tanh(), nn.Linear(6, 1))
    opt = terra.optim.SGD(model.parameters(), lr=0.05)
    losses, evaluations = [], []
    for _ in range(epochs):
        for b in range(batches):
            loss = ((model(data[b * 8:b * 8 + 8]) - targets[b * 8:b * 8 + 8]) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with terra.no_grad():
            evaluations.append(((model(data) - targets) ** 2).mean().item())
    return losses + evaluations, [p.detach().numpy().copy() for p in model.parameters()]


def test_ops_after_the_hot_loop_end_its_iteration():
    with terra.replay(fusion=False):
        replayed = epochs_with_evaluation(6, 5)
    stats = terra.debug.stats()
    eager = epochs_with_evaluation(6, 5)
    assert stats["divergences"] == 0, stats["fallbacks"]
    # Each epoch's first batch runs before backward() finds the loop again: 6 passes outside it.
    assert (stats["iterations_traced"], stats["iterations_eager"]) == (3, 6)
    assert stats["iterations_replayed"] == 6 * 5 - 3 - 6
    assert_same(eager, replayed)


def state_reset_every_third_step(steps, start):
    """A recurrent state reset every third step to `start`, made before the session (a
    parameter-kind input), and carried between the resets (a carried one)."""
    terra.manual_seed(0)
    rng = np.random.default_rng(3)
    cell = nn.Linear(4, 4)
    opt = terra.optim.SGD(cell.parameters(), lr=0.05)
    h, losses = start, []
    for step in range(steps):
        h = start if step % 3 == 0 else h.detach()
        x = terra.tensor(rng.standard_normal((2, 4)), dtype=terra.float32)
        h = terra.tanh(cell(x) + h)
        loss = (h ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [p.detach().numpy().copy() for p in cell.parameters()]


def test_an_input_made_before_the_loop_or_carried_is_one_path():
    # InputSource::external: the plan binds both kinds alike.
    start = terra.full((2, 4), 0.5)
    with terra.replay(fusion=False, replay_must_pay=False):
        replayed = state_reset_every_third_step(30, start)
    stats = terra.debug.stats()
    eager = state_reset_every_third_step(30, start)
    assert stats["divergences"] == 0, stats["fallbacks"]
    # The traced iterations the graph needs to be stable (stable_after), no second path.
    assert (stats["iterations_traced"], stats["iterations_replayed"]) == (3, 26)
    assert_same(eager, replayed)


def test_a_divergence_in_backward_names_the_gradient_ops_locations():
    # b starts to require grad at step 9: the forward ops are the same, backward() makes another
    # op. Gradient ops are located by backward()'s line and their forward op's.
    w = terra.ones(3, requires_grad=True)
    b = terra.ones(3)
    x = terra.tensor([1.0, 2.0, 3.0])
    with terra.replay(fusion=False):
        for step in range(12):
            b.requires_grad_(step == 9)
            loss = (x * w + b).sum()  # the forward ops
            loss.backward()  # the backward() call
            w.grad = b.grad = None
    fallbacks = terra.debug.stats()["fallbacks"]
    forward_line, backward_line = line_of("# the forward ops"), line_of("# the backward() call")
    assert len(fallbacks) == 1, fallbacks
    assert "<unknown location>" not in fallbacks[0]["reason"]
    assert (f"at backward of test_replay.py:{forward_line} in test_a_divergence_in_backward_names_the_gradient_ops"
            f"_locations (from test_replay.py:{backward_line} in ") in fallbacks[0]["reason"]


def test_replayed_training_with_fusion_agrees_within_1e_5():
    eager = train(12)
    with terra.replay(fusion=True):
        replayed = train(12)
    assert terra.debug.stats()["iterations_replayed"] >= 5
    np.testing.assert_allclose(replayed[0], eager[0], rtol=1e-5)
    for a, b in zip(eager[1], replayed[1]):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-7)


def test_report_names_the_counts():
    with terra.replay():
        train(8)
    report = terra.debug.report()
    assert "traced" in report and "replayed" in report


SCRIPT = """
import numpy as np
import torch
torch.manual_seed(0)
w = torch.randn(4, 3, requires_grad=True)
opt = torch.optim.Adam([w], lr=0.01)
for step in range(10):
    x = torch.tensor(np.full((5, 4), step / 10.0), dtype=torch.float32)
    loss = torch.tanh(x @ w).pow(2).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
print("final", float(w.sum()))
"""


def test_dump_graph_writes_the_trace_graph_and_plans(tmp_path):
    assert CLI.exists(), f"the terra CLI is not built at {CLI}"
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    dump = tmp_path / "dump"
    dump.mkdir()
    eager = subprocess.run([str(CLI), "run", "--as-torch", "--mode", "eager", str(script)],
                           capture_output=True, text=True, timeout=120)
    replayed = subprocess.run([str(CLI), "run", "--as-torch", "--mode", "replay", "--dump-graph", str(dump),
                               str(script)], capture_output=True, text=True, timeout=120)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == eager.stdout
    graph = json.loads((dump / "trace_graph.json").read_text())
    ops = {node.get("op") for node in graph["nodes"]}
    assert {"tanh", "matmul"} <= ops
    assert "digraph" in (dump / "trace_graph.dot").read_text()
    before = sorted(dump.glob("plan_*_before.json"))
    after = sorted(dump.glob("plan_*_after.json"))
    assert before and len(before) == len(after)
    for path in before + after:
        json.loads(path.read_text())


def test_a_second_thread_reads_replayed_tensors_correctly():
    import threading

    terra.manual_seed(1)
    w = terra.randn(5, 5, requires_grad=True)
    seen = []
    with terra.replay():
        for step in range(8):
            y = terra.tanh(w * (step + 1)).sum(0)
            y.sum().backward()
            box = {}
            reader = threading.Thread(target=lambda: box.update(value=(y.detach() * 2).numpy().copy()))
            reader.start()
            reader.join()
            seen.append((box["value"], y.detach().numpy().copy()))
            w.grad = None
    for from_thread, here in seen:
        np.testing.assert_allclose(from_thread, 2 * here, rtol=1e-6)
    assert terra.debug.stats()["iterations_replayed"] >= 1


def run_with_a_bad_step(bad_at):
    """A loop whose step `bad_at` makes a shape mistake; the exception is caught and printed."""
    terra.manual_seed(2)
    w = terra.randn(4, 3, requires_grad=True)
    seen = []
    for step in range(12):
        x = terra.ones(5, 4) * (step + 1)
        try:
            h = x @ w
            if step == bad_at:
                h = h + terra.ones(7)  # [5, 3] + [7]: a shape error raised at the call
            loss = h.tanh().sum()
            loss.backward()
            with terra.no_grad():
                w -= 0.01 * w.grad
            w.grad = None
            seen.append(round(loss.item(), 6))
        except RuntimeError as error:
            seen.append(f"{type(error).__name__}: {error}")
    return seen, w.detach().numpy().copy()


def test_errors_inside_replayed_iterations_are_raised_as_in_eager_mode():
    eager = run_with_a_bad_step(9)
    with terra.replay(fusion=False):
        replayed = run_with_a_bad_step(9)
    assert terra.debug.stats()["iterations_replayed"] >= 3
    assert replayed[0] == eager[0]
    assert "add" in eager[0][9] and "[7]" in eager[0][9]
    assert np.array_equal(replayed[1], eager[1])


def train_until_an_exception_escapes(stop_at):
    terra.manual_seed(3)
    w = terra.randn(4, 3, requires_grad=True)
    try:
        for step in range(20):
            loss = (terra.ones(2, 4) @ w).sin().sum()
            loss.backward()
            with terra.no_grad():
                w -= 0.05 * w.grad  # deferred while replaying
            w.grad = None
            if step == stop_at:
                raise KeyError("stop")  # leaves the loop with the update still deferred
    except KeyError:
        pass
    return w.detach().numpy().copy()


def test_an_exception_escaping_the_loop_leaves_parameters_as_eager_does():
    eager = train_until_an_exception_escapes(13)
    with terra.replay(fusion=False):
        replayed = train_until_an_exception_escapes(13)
    assert terra.debug.stats()["iterations_replayed"] >= 5
    assert np.array_equal(replayed, eager)


def train_lbfgs(steps, history_size=100):
    terra.manual_seed(0)
    rng = np.random.default_rng(3)
    x = terra.tensor(rng.standard_normal((32, 5)), dtype=terra.float64)
    y = terra.tensor(rng.standard_normal((32, 1)), dtype=terra.float64)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 1)).double()
    opt = terra.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4, history_size=history_size)
    calls, losses = [], []

    def closure():
        calls.append(len(calls))
        opt.zero_grad()
        loss = ((model(x) - y) ** 2).mean()
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
    return losses, [p.detach().numpy().copy() for p in model.parameters()], len(calls)


@pytest.mark.parametrize("session", [terra.replay, terra.coexec])
def test_lbfgs_closure_calls_are_the_iterations_that_replay(session):
    """LBFGS calls the closure a varying number of times per step, with bookkeeping between calls
    that grows with its history: each closure call is an iteration (terra.step inside
    optimizer.step), so the closures replay although no two steps take the same path."""
    eager = train_lbfgs(6)
    with session(fusion=False):
        replayed = train_lbfgs(6)
    stats = terra.debug.stats()
    assert replayed[2] == eager[2] > 6
    assert stats["iterations_replayed"] >= eager[2] - 4
    assert stats["divergences"] == 0
    assert_same(eager[:2], replayed[:2])


@pytest.mark.parametrize("session", [terra.replay, terra.coexec])
def test_a_loop_where_replay_does_not_pay_runs_eagerly_and_computes_the_same(session, monkeypatch):
    """Note [Replay must pay]: with (fake) replayed iterations slower than eager ones, the loop
    runs eagerly for a stretch after the probe, says so among the fallbacks, and the mixed run
    reads the same losses and ends with the same parameters as eager."""
    eager = train(130)
    monkeypatch.setenv("TERRA_PAY_CHECK_FAKE_US", "100,60")
    with session(fusion=False, replay_must_pay=True):
        mixed = train(130)
    stats = terra.debug.stats()
    verdicts = [f for f in stats["fallbacks"] if "eager ones 60 us" in f["reason"]]
    # 130 iterations: a stretch of 64, replay measured again (past a warm-up that co-execution
    # makes longer by max_spans_ahead), then a stretch of 128.
    assert len(verdicts) == 2
    assert "the next 64 run eagerly" in verdicts[0]["reason"]
    assert "the next 128 run eagerly" in verdicts[1]["reason"]
    assert "test_replay.py" in verdicts[0]["location"]
    assert stats["divergences"] == 0
    assert stats["iterations_eager"] >= 64 + 9
    assert stats["iterations_replayed"] >= 10
    assert_same(eager, mixed)


def asleep_and_awake(session, run, monkeypatch):
    """Note [Dormant stretches]: `run(observe)` under a session whose replay never pays (fake
    times), with dormant stretches and without. Checks that both compute what eager does and
    count alike; returns each run's stats and whether the session was dormant at each observe()."""
    eager = run(lambda: None)
    monkeypatch.setenv("TERRA_PAY_CHECK_FAKE_US", "100,60")
    runs = {}
    for dormant_stretches in (True, False):
        dormant_at = []
        with session(fusion=False, replay_must_pay=True, dormant_stretches=dormant_stretches):
            assert_same(eager, run(lambda: dormant_at.append(_trace.dormant())))
        runs[dormant_stretches] = terra.debug.stats(), dormant_at
    (slept, dormant_at), (awake, never) = runs[True], runs[False]
    counts = ("iterations_traced", "iterations_replayed", "iterations_eager", "divergences", "ops_replayed")
    assert {k: slept[k] for k in counts} == {k: awake[k] for k in counts}
    assert [f["reason"] for f in slept["fallbacks"]] == [f["reason"] for f in awake["fallbacks"]]
    assert not any(never)
    assert not _trace.dormant()
    assert 0 < slept["iterations_dormant"] < slept["iterations_eager"] and awake["iterations_dormant"] == 0
    assert f"of the eager ones, {slept['iterations_dormant']} ran dormant" in explain_report(slept)
    return slept, dormant_at


@pytest.mark.parametrize("session", [terra.replay, terra.coexec])
@pytest.mark.parametrize("explicit_steps", [False, True], ids=["found-loop", "terra.step"])
def test_long_eager_stretches_go_dormant_and_count_and_compute_as_awake(session, explicit_steps, monkeypatch):
    """Note [Dormant stretches]: in the eager stretches PayCheck asks for (64, then 128
    iterations), ops skip the session, and the boundaries are seen at each backward() call (or
    at terra.step). Losses, parameters, iteration counts and verdicts are those of a session that
    stays awake, and of eager."""
    slept, dormant_at = asleep_and_awake(
        session, lambda observe: train(200, explicit_steps=explicit_steps, observe=observe), monkeypatch)
    assert len(slept["fallbacks"]) == 2
    # The stretch of 64 sleeps but for the 9 it times (kSamples + 1) and the one it wakes in; the
    # stretch of 128 is cut short by the loop's end, asleep.
    runs = [(asleep, len(list(steps))) for asleep, steps in itertools.groupby(dormant_at)]
    assert [n for asleep, n in runs if asleep][0] == 64 - 9 - 1
    assert runs[-1][0] and runs[-1][1] > 64


def train_epochs(epochs, steps, observe):
    """Each epoch's loop in a call of its own: the hot loop's frame returns at every epoch's end."""
    terra.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 1))
    opt = terra.optim.SGD(model.parameters(), lr=0.05)
    data = terra.randn(steps, 8, 6)
    losses = []

    def one_epoch():
        for x in data:
            loss = (model(x) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            observe()
        return loss.item()

    for _ in range(epochs):
        losses.append(one_epoch())
        losses.append(model(data[0]).sum().item())  # an evaluation between the epochs' loops
    return losses, [p.detach().numpy().copy() for p in model.parameters()]


def test_a_dormant_stretch_wakes_when_its_loop_ends_and_the_next_loop_is_learned(monkeypatch):
    """Note [Dormant stretches]: the loop's frame returns while the session sleeps; the next
    epoch's loop is found again at its first backward() call, and counted as the awake session
    counts it."""
    _, dormant_at = asleep_and_awake(terra.coexec, lambda observe: train_epochs(3, 90, observe), monkeypatch)
    # Asleep at the end of an epoch, awake from the next one's first backward() call.
    assert any(dormant_at[i - 1] and not dormant_at[i] for i in (90, 180))


def test_a_loop_where_replay_pays_keeps_replaying(monkeypatch):
    monkeypatch.setenv("TERRA_PAY_CHECK_FAKE_US", "40,60")
    with terra.replay(replay_must_pay=True):
        train(60)
    stats = terra.debug.stats()
    assert not [f for f in stats["fallbacks"] if "eager ones" in f["reason"]]
    assert stats["iterations_eager"] <= 1 + 2 * 9  # before the loop was known, and the two probes
    assert stats["iterations_replayed"] >= 60 - 24  # traced, before the loop was known, the probes
