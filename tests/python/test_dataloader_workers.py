"""DataLoader with num_workers > 0 (terra/utils/data/_multiprocessing_iter.py, _worker.py):
batch order, seeding and get_worker_info, IterableDataset sharding, errors, timeout, persistent
workers, shutdown, a co-executed loop and `terra run --as-torch`. Every scenario starts worker
processes, so each runs in its own interpreter under a timeout; where PyTorch 1.13 defines what
is observable, the same script runs with `import torch` under /usr/bin/python3 and is compared."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from test_cli import clean_env, terra_run, write

BUILD = Path(__file__).resolve().parents[2] / "build" / "bindings"
TIMEOUT = 60

PRELUDE = """
import gc, multiprocessing as mp, os, random, signal, sys, time
from torch.utils.data import DataLoader, Dataset, IterableDataset, get_worker_info

class Squares(Dataset):
    def __init__(self, n=10, delay=0.0):
        self.n, self.delay = n, delay
    def __len__(self):
        return self.n
    def __getitem__(self, i):
        time.sleep(self.delay * ((i * 7) % 3))  # answers arrive out of order
        return torch.tensor([float(i * i)]), i

def ids(loader):
    return [batch[1].tolist() for batch in loader]
"""


def run(body, module):
    """Runs PRELUDE + body with `torch` being `module` ('terra' or 'torch'); returns stdout."""
    # terra: `import torch` is Terra, as under `terra run --as-torch`.
    header = "import terra._torch_alias\nterra._torch_alias.install()\n" if module == "terra" else ""
    header += "import torch\n"
    env = dict(os.environ, PYTHONPATH=str(BUILD), TERRA_NUM_THREADS="2")
    done = subprocess.run([sys.executable, "-c", header + textwrap.dedent(PRELUDE) + textwrap.dedent(body)],
                          capture_output=True, text=True, env=env, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr
    return done.stdout


def same_as_torch(body, terra_only_lines=0):
    """Terra's output, equal to PyTorch's but for the last `terra_only_lines` lines."""
    got = run(body, "terra")
    expected = run(body, "torch")
    if terra_only_lines:
        assert got.splitlines()[:-terra_only_lines] == expected.splitlines()[:-terra_only_lines]
    else:
        assert got == expected
    return got


def test_batches_come_in_sampler_order():
    out = same_as_torch("""
        print(ids(DataLoader(Squares(delay=0.02), batch_size=3, num_workers=2)))
        print(ids(DataLoader(Squares(delay=0.02), batch_size=3, num_workers=3, drop_last=True, prefetch_factor=1)))
        print([s[1] for s in DataLoader(Squares(n=5), batch_size=None, num_workers=2)])
        print([b[0].tolist() for b in DataLoader(Squares(n=5), batch_sampler=[[4, 0], [1], [3, 2]], num_workers=2)])
        print(len(DataLoader(Squares(), batch_size=4, num_workers=2)))
    """)
    assert out.splitlines()[0] == "[[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]"


def test_a_seeded_shuffle_gives_the_order_of_num_workers_0():
    out = run("""
        def epochs(workers):
            g = torch.Generator()
            g.manual_seed(7)
            loader = DataLoader(Squares(n=12), batch_size=4, shuffle=True, num_workers=workers, generator=g)
            return [ids(loader) for _ in range(2)]
        print(epochs(2) == epochs(0), epochs(0)[0] != epochs(0)[1])
    """, "terra")
    assert out == "True True\n"


def test_worker_info_seeding_and_worker_init_fn():
    out = same_as_torch("""
        class Info(Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                info = get_worker_info()
                # Each worker seeds random with info.seed and calls worker_init_fn first.
                seeded = random.random() == random.Random(info.seed).random() if i < 2 else True
                return info.id, info.num_workers, info.dataset is self, seeded, INIT[:]

        INIT = []
        def init(worker_id):
            INIT.append(worker_id)
        print(get_worker_info())
        g = torch.Generator()
        g.manual_seed(1)
        loader = DataLoader(Info(), batch_size=None, num_workers=2, worker_init_fn=init, generator=g)
        print([tuple(x) for x in loader], INIT)
    """)
    assert out.splitlines() == ["None", "[(0, 2, True, True, [0]), (1, 2, True, True, [1]), "
                                        "(0, 2, True, True, [0]), (1, 2, True, True, [1])] []"]


def test_worker_seeds_are_base_plus_id_and_drawn_per_iterator():
    out = same_as_torch("""
        class Seed(Dataset):
            def __len__(self):
                return 4
            def __getitem__(self, i):
                return get_worker_info().seed
        loader = DataLoader(Seed(), batch_size=None, num_workers=2)
        a, b = list(loader), list(loader)
        print(a[1] - a[0], a[2] == a[0], a[0] != b[0])
    """)
    assert out == "1 True True\n"


def test_an_iterable_dataset_is_sharded_by_the_dataset():
    out = same_as_torch("""
        class Range(IterableDataset):
            def __init__(self, n):
                self.n = n
            def __iter__(self):
                info = get_worker_info()
                first, step = (0, 1) if info is None else (info.id, info.num_workers)
                return iter(range(first, self.n, step))
        print([b.tolist() for b in DataLoader(Range(11), batch_size=2, num_workers=3)])
        print([b.tolist() for b in DataLoader(Range(11), batch_size=2, num_workers=3, drop_last=True)])
        print([int(x) for x in DataLoader(Range(5), batch_size=None, num_workers=2)])
        print(mp.active_children())
    """)
    assert out.splitlines()[0] == "[[0, 3], [1, 4], [2, 5], [6, 9], [7, 10], [8]]"


def test_an_exception_in_a_worker_is_raised_in_the_main_process():
    out = same_as_torch("""
        class Bad(Squares):
            def __getitem__(self, i):
                if i == 3:
                    raise ValueError("bad index 3")
                return i
        def fail(worker_id):
            raise KeyError("no init")
        for kwargs in ({}, {"worker_init_fn": fail}):
            try:
                list(DataLoader(Bad(), batch_size=2, num_workers=2, **kwargs))
            except Exception as e:
                lines = str(e).splitlines()
                print(type(e).__name__, lines[:2], lines[-1])
        if "terra" in torch.__file__:
            gc.collect()  # PyTorch 1.13's collected iterators wait 5 s per worker here
        print(mp.active_children())  # Terra: []; PyTorch 1.13 leaves the failed iterators' workers running
    """, terra_only_lines=1)
    assert out.splitlines()[2] == "[]"
    assert out.splitlines()[0] == ("ValueError ['Caught ValueError in DataLoader worker process 1.', "
                                   "'Original Traceback (most recent call last):'] ValueError: bad index 3")


def test_timeout_and_a_killed_worker_raise_instead_of_hanging():
    out = same_as_torch("""
        try:
            list(DataLoader(Squares(delay=1.5), batch_size=1, num_workers=1, timeout=1))
        except RuntimeError as e:
            print(e)
        print(mp.active_children())
    """)
    assert out == "DataLoader timed out after 1 seconds\n[]\n"
    out = run("""
        class Killer(Squares):
            def __getitem__(self, i):
                if i == 5:
                    os.kill(os.getpid(), signal.SIGKILL)
                return i
        from terra.utils.data import _worker
        _worker.MP_STATUS_CHECK_INTERVAL = 0.5
        try:
            list(DataLoader(Killer(), batch_size=1, num_workers=2))
        except RuntimeError as e:
            print(e)
        print(mp.active_children())
    """, "terra")
    assert "exited unexpectedly: worker 1 (pid " in out and "killed by signal SIGKILL" in out
    assert out.endswith("\n[]\n")


def test_persistent_workers_serve_every_epoch():
    out = same_as_torch("""
        class Pid(Squares):
            def __getitem__(self, i):
                return os.getpid(), i
        loader = DataLoader(Pid(n=6), batch_size=2, num_workers=2, persistent_workers=True)
        first = list(loader)
        pids = {p for batch in first for p in batch[0].tolist()}
        half = next(iter(loader))  # an epoch left after one batch: the next starts from the beginning
        again = list(loader)
        print(len(pids), {p for batch in again for p in batch[0].tolist()} == pids,
              [b[1].tolist() for b in again], len(mp.active_children()))
    """)
    assert out == "2 True [[0, 1], [2, 3], [4, 5]] 2\n"


def test_a_break_or_a_dropped_iterator_leaves_no_worker_processes():
    out = same_as_torch("""
        loader = DataLoader(Squares(n=100), batch_size=2, num_workers=2)
        for batch in loader:
            break
        del batch
        print(len(mp.active_children()))
        it = iter(loader)
        next(it)
        print(len(mp.active_children()))
        del it
        gc.collect()
        print(mp.active_children())
        it = iter(DataLoader(Squares(), batch_size=2, num_workers=2, persistent_workers=True))
        next(it)  # left running: the workers end with the interpreter
    """)
    assert out == "0\n2\n[]\n"


def test_a_co_executed_loop_fed_by_workers_computes_the_same_losses():
    out = run("""
        import numpy as np
        from terra import nn
        from terra.utils.data import TensorDataset
        terra = torch
        def train(workers):
            torch.manual_seed(0)
            data = TensorDataset(torch.randn(96, 8), torch.randn(96, 1))
            model = nn.Sequential(nn.Linear(8, 16), nn.Tanh(), nn.Linear(16, 1))
            opt = torch.optim.SGD(model.parameters(), lr=0.05)
            losses = []
            for epoch in range(3):
                for x, y in DataLoader(data, batch_size=8, num_workers=workers):
                    loss = ((model(x) - y) ** 2).mean()
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    losses.append(loss.item())
            return losses
        eager = train(0)
        with terra.coexec(fusion=False, replay_must_pay=False):
            co = train(2)
        print(len(co), np.allclose(eager, co, rtol=1e-6, atol=1e-7), mp.active_children())
    """, "terra")
    assert out == "36 True []\n"


def test_terra_run_as_torch_with_fork_and_spawn_workers(tmp_path):
    script = write(tmp_path / "train.py", """
        import multiprocessing as mp
        import torch
        from torch.utils.data import DataLoader, Dataset

        class Double(Dataset):
            def __len__(self):
                return 6
            def __getitem__(self, i):
                return torch.tensor([2.0 * i])

        if __name__ == "__main__":
            for context in ("fork", "spawn"):
                loader = DataLoader(Double(), batch_size=4, num_workers=2, multiprocessing_context=context)
                print(context, [b.flatten().tolist() for b in loader])
            print(mp.active_children())
    """)
    done = terra_run("--as-torch", script, env=clean_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout == ("fork [[0.0, 2.0, 4.0, 6.0], [8.0, 10.0]]\n"
                           "spawn [[0.0, 2.0, 4.0, 6.0], [8.0, 10.0]]\n[]\n")


@pytest.mark.parametrize("kwargs, error", [
    ({"multiprocessing_context": "nope"}, ValueError),
    ({"multiprocessing_context": 3}, TypeError),
])
def test_a_bad_multiprocessing_context_is_refused(kwargs, error):
    from terra.utils.data import DataLoader
    with pytest.raises(error):
        iter(DataLoader(list(range(4)), num_workers=1, **kwargs))
