"""A process that forks (multiprocessing's default 'fork' start method, os.fork) after Terra's
kernel pool started or while a loop is co-executed: the children compute on their one thread,
with no session, and never hang (Note [Fork] in kernels/cpu/parallel.cpp, Note [A forked child]
in engine/trace/session.cpp). Each scenario runs in its own interpreter under a timeout."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

BUILD = Path(__file__).resolve().parents[2] / "build" / "bindings"
TIMEOUT = 120

PRELUDE = """
import multiprocessing as mp, os
import numpy as np
import terra
from terra import nn

def work(i):
    a = terra.tensor(np.random.default_rng(i).standard_normal((300, 300)))
    return float(((a @ a).tanh() + a.exp().clamp(max=3)).sum().item())

def reference(i):
    a = np.random.default_rng(i).standard_normal((300, 300))
    return float((np.tanh(a @ a) + np.minimum(np.exp(a), 3)).sum())
"""


def run(body):
    env = dict(os.environ, PYTHONPATH=str(BUILD), TERRA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(PRELUDE) + textwrap.dedent(body)],
                          capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_fork_pool_after_the_kernel_pool_started_computes_in_the_children():
    out = run("""
        x = terra.randn(512, 512)
        (x @ x).relu().sum().item()  # the kernel pool's workers are running
        with mp.get_context("fork").Pool(2) as pool:
            got = pool.map(work, range(4))
        print(np.allclose(got, [reference(i) for i in range(4)], rtol=1e-10))
    """)
    assert out == "True\n"


def test_a_fork_pool_inside_a_co_executed_loop_leaves_the_loop_as_eager():
    out = run("""
        def train(steps, fork_at):
            terra.manual_seed(0)
            model = nn.Sequential(nn.Linear(8, 32), nn.Tanh(), nn.Linear(32, 1))
            opt = terra.optim.SGD(model.parameters(), lr=0.05)
            x, y = terra.randn(64, 8), terra.randn(64, 1)
            seen = []
            for step in range(steps):
                loss = ((model(x) - y) ** 2).mean()
                opt.zero_grad()
                loss.backward()
                opt.step()
                if step == fork_at:
                    with mp.get_context("fork").Pool(2) as pool:
                        seen.append(np.allclose(pool.map(work, range(2)), [reference(i) for i in range(2)]))
                seen.append(loss.item())
            return seen, [p.detach().numpy().copy() for p in model.parameters()]

        eager = train(30, 20)
        with terra.coexec(fusion=False, replay_must_pay=False):
            co = train(30, 20)
        print(eager[0] == co[0], all(np.array_equal(a, b) for a, b in zip(eager[1], co[1])), eager[0][20],
              terra.debug.stats()["iterations_replayed"] > 10)
    """)
    assert out == "True True True True\n"


def test_a_child_reading_what_the_parents_graph_had_not_computed_raises():
    out = run("""
        with terra.coexec(replay_must_pay=False, max_spans_ahead=100):
            w = terra.randn(50, 50, requires_grad=True)
            for step in range(20):
                z = (w @ w).tanh().sum()
                z.backward()
                if step == 15:
                    pid = os.fork()
                    if pid == 0:
                        try:
                            print("child read", float(z), flush=True)
                        except RuntimeError as e:
                            print("child:", e, flush=True)
                        os._exit(0)
                    os.waitpid(pid, 0)
            print("parent", np.isfinite(float(z)))
    """)
    lines = out.splitlines()
    assert lines[-1] == "parent True"
    # The child either found the value computed already or raised; it never waited for the graph.
    assert lines[0].startswith("child read") or "when the process forked" in lines[0], out


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_set_num_threads_in_a_forked_child_makes_new_workers():
    out = run("""
        (terra.randn(256, 256) @ terra.randn(256, 256)).sum().item()
        pid = os.fork()
        if pid == 0:
            terra.set_num_threads(2)
            print("child", np.isclose(work(3), reference(3), rtol=1e-10), terra.get_num_threads(), flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
    """)
    assert out == "child True 2\n"


def test_set_num_threads_sets_terras_kernel_threads_as_pytorchs_does():
    import terra
    import torch
    before = terra.get_num_threads()
    try:
        terra.set_num_threads(1)
        assert terra.get_num_threads() == 1
        x = terra.randn(300, 300, dtype=terra.float64)
        assert float((x @ x).sum()) == float((x @ x).sum())  # runs on one thread
        for lib in (terra, torch):
            with pytest.raises(RuntimeError, match="set_num_threads expects a positive integer"):
                lib.set_num_threads(0)
    finally:
        terra.set_num_threads(before)
    assert terra.get_num_threads() == before


def test_forks_while_the_graph_actor_allocates_never_hang():
    """The graph actor allocates while Python forks: the CPU arena's lock and the kernel pool's are
    held across fork(), so no child inherits a lock taken by a thread it does not have."""
    out = run("""
        with terra.coexec(replay_must_pay=False, max_spans_ahead=100):
            w = terra.randn(64, 64, requires_grad=True)
            children = 0
            for step in range(40):
                z = (w @ w).tanh().sum()
                z.backward()
                if step >= 8 and step % 2 == 0:
                    pid = os.fork()
                    if pid == 0:
                        a = terra.randn(128, 128)
                        os._exit(0 if float((a @ a).sum()) == float((a @ a).sum()) else 1)
                    _, status = os.waitpid(pid, 0)
                    children += status == 0
            print(children, np.isfinite(float(z)))
    """)
    assert out == "16 True\n"
