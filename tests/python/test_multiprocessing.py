"""terra.multiprocessing: Python's multiprocessing API, spawn with PyTorch 1.13's semantics (fn(i,
*args), ProcessContext, the failing process named in ProcessRaisedException/ProcessExitedException),
sharing strategies, Terra tensors crossing processes by pickling, and a script importing
torch.testing, torch.profiler and torch.multiprocessing under `terra run --as-torch` whose spawned
children see `import torch` as Terra as well.

PyTorch itself is not imported here: each spawned child imports this module, and the messages
compared are PyTorch's literal formats."""
import multiprocessing
import os
import pickle
import signal
import sys

import numpy as np
import pytest

import terra
import terra.multiprocessing as mp
from test_cli import clean_env, terra_run, write

# ---- functions run in the children (found by module name) ---------------------------------------


def write_rank(i, folder, tensor):
    with open(os.path.join(folder, str(i)), "w") as f:
        f.write(f"{tensor.sum().item() * i}")


def raise_in_rank_one(i):
    if i == 1:
        raise ValueError("boom from rank one")


def exit_with_three(i):
    sys.exit(3)


def kill_itself(i):
    os.kill(os.getpid(), signal.SIGKILL)


def double_tensors(inbox, outbox):
    while (tensor := inbox.get()) is not None:
        outbox.put(tensor * 2)


# ---- the API ---------------------------------------------------------------------------------------

def test_pythons_api_is_re_exported():
    for name in ("Process", "Queue", "SimpleQueue", "Pool", "Pipe", "Lock", "Event", "Manager", "Value", "Array",
                 "get_context", "set_start_method", "get_start_method", "get_all_start_methods", "cpu_count",
                 "current_process", "active_children", "freeze_support"):
        assert getattr(mp, name) == getattr(multiprocessing, name), name
    assert mp.cpu_count() == multiprocessing.cpu_count()
    assert {"spawn", "start_processes", "ProcessContext", "get_sharing_strategy"} <= set(mp.__all__)


def test_sharing_strategies_are_recorded():
    assert mp.get_all_sharing_strategies() == {"file_descriptor", "file_system"}
    assert mp.get_sharing_strategy() == "file_descriptor"
    try:
        mp.set_sharing_strategy("file_system")
        assert mp.get_sharing_strategy() == "file_system"
        with pytest.raises(AssertionError):
            mp.set_sharing_strategy("shared_memory")
    finally:
        mp.set_sharing_strategy("file_descriptor")


# ---- spawn -----------------------------------------------------------------------------------------

def test_spawn_calls_fn_with_the_index_and_args(tmp_path):
    assert mp.spawn(write_rank, args=(str(tmp_path), terra.ones(3)), nprocs=3) is None
    assert {p.name: p.read_text() for p in tmp_path.iterdir()} == {"0": "0.0", "1": "3.0", "2": "6.0"}


def test_spawn_without_join_returns_the_process_context(tmp_path):
    context = mp.spawn(write_rank, args=(str(tmp_path), terra.ones(1)), nprocs=2, join=False)
    assert isinstance(context, mp.ProcessContext) and len(context.pids()) == 2
    while not context.join(timeout=30):
        pass
    assert context.join() is True and sorted(p.name for p in tmp_path.iterdir()) == ["0", "1"]


def test_an_exception_names_the_process_and_carries_its_traceback():
    with pytest.raises(mp.ProcessRaisedException) as caught:
        mp.spawn(raise_in_rank_one, nprocs=2)
    error = caught.value
    assert error.error_index == 1 and isinstance(error.pid, int)
    assert str(error).startswith("\n\n-- Process 1 terminated with the following error:\nTraceback")
    assert "ValueError: boom from rank one" in str(error)


def test_exit_codes_and_signals_are_reported():
    with pytest.raises(mp.ProcessExitedException, match="^process 0 terminated with exit code 3$") as caught:
        mp.spawn(exit_with_three)
    assert (caught.value.exit_code, caught.value.signal_name) == (3, None)
    with pytest.raises(mp.ProcessExitedException, match="^process 0 terminated with signal SIGKILL$") as caught:
        mp.spawn(kill_itself)
    assert (caught.value.exit_code, caught.value.signal_name) == (-signal.SIGKILL, "SIGKILL")
    restored = pickle.loads(pickle.dumps(caught.value))
    assert (type(restored), restored.error_index, restored.exit_code) == (mp.ProcessExitedException, 0, -9)


def test_spawn_with_another_start_method_warns_and_spawns(tmp_path):
    with pytest.warns(UserWarning, match="only supports start_method=spawn"):
        mp.spawn(write_rank, args=(str(tmp_path), terra.ones(1)), start_method="fork")
    assert [p.name for p in tmp_path.iterdir()] == ["0"]


# ---- tensors across processes ----------------------------------------------------------------------

@pytest.mark.parametrize("dtype", ["float32", "float64", "int32", "int64", "bool"])
def test_tensors_survive_pickling(dtype):
    tensor = terra.from_numpy(np.arange(6).reshape(2, 3).astype(dtype))
    restored = pickle.loads(pickle.dumps(tensor))
    assert restored.dtype == tensor.dtype and np.array_equal(restored.numpy(), tensor.numpy())
    strided = pickle.loads(pickle.dumps(tensor.t()))
    assert np.array_equal(strided.numpy(), tensor.t().numpy())


def test_a_leaf_requiring_grad_crosses_and_a_non_leaf_is_refused():
    leaf = terra.ones(2, requires_grad=True)
    restored = pickle.loads(pickle.dumps(leaf))
    assert restored.requires_grad and restored.is_leaf
    queue = mp.get_context("spawn").SimpleQueue()  # pickles in put(), so the refusal is raised there
    with pytest.raises(RuntimeError, match="Cowardly refusing to serialize non-leaf tensor"):
        queue.put(leaf * 2)
    queue.put((leaf * 2).detach())
    assert queue.get().tolist() == [2.0, 2.0]


def test_tensors_go_through_a_queue_to_a_spawned_process_and_back():
    context = mp.get_context("spawn")
    inbox, outbox = context.Queue(), context.Queue()
    worker = context.Process(target=double_tensors, args=(inbox, outbox))
    worker.start()
    try:
        sent = [terra.arange(4.0), terra.tensor([[1, 2], [3, 4]]), terra.tensor([True, False])]
        for tensor in sent:
            inbox.put(tensor)
        received = [outbox.get(timeout=60) for _ in sent]
        inbox.put(None)
    finally:
        worker.join(timeout=60)
    assert worker.exitcode == 0
    assert [r.tolist() for r in received] == [[0.0, 2.0, 4.0, 6.0], [[2, 4], [6, 8]], [2, 0]]


# ---- under `terra run --as-torch` ------------------------------------------------------------------

SCRIPT = """
    import torch
    import torch.testing
    import torch.profiler
    import torch.multiprocessing as mp


    def child(rank, tensor, queue):
        # Runs in a spawned process: its `import torch` above must be Terra as well.
        queue.put((rank, torch.__name__, (tensor * rank).tolist()))


    if __name__ == "__main__":
        torch.testing.assert_close(torch.ones(2) * 3, torch.full((2,), 3.0))
        with torch.profiler.profile() as prof:
            with torch.profiler.record_function("region"):
                torch.ones(3).sum()
        queue = mp.get_context("spawn").Queue()
        mp.spawn(child, args=(torch.ones(2), queue), nprocs=2)
        results = sorted(queue.get(timeout=60) for _ in range(2))
        print(torch.__name__, [r.key for r in prof.key_averages()], results)
"""


def test_a_script_using_the_three_modules_runs_under_as_torch(tmp_path):
    script = write(tmp_path / "uses_modules.py", SCRIPT)
    done = terra_run("--as-torch", script, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout == "terra ['region'] [(0, 'terra', [0.0, 0.0]), (1, 'terra', [1.0, 1.0])]\n"


STDLIB_SPAWN_SCRIPT = """
import multiprocessing

def report(queue):
    import torch
    queue.put((torch.__name__, float(torch.ones(2).sum())))

if __name__ == "__main__":
    import torch
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=report, args=(queue,))
    child.start()
    print(queue.get(timeout=60))
    child.join()
"""


def test_children_spawned_by_the_standard_librarys_multiprocessing_import_torch_as_terra(tmp_path):
    """Without torch.multiprocessing: the alias watches for multiprocessing.spawn being loaded."""
    script = write(tmp_path / "stdlib_spawn.py", STDLIB_SPAWN_SCRIPT)
    done = terra_run("--as-torch", script, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout == "('terra', 2.0)\n"
