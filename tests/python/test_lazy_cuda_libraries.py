"""cuBLAS, cuBLASLt, cuDNN and NVRTC are loaded on first use (Note [Lazy CUDA libraries] in
kernels/cuda/lazy_library.hpp), never by `import terra`: a program doing CPU work (a matmul, a
conv2d with its backward, a co-executed training loop with fusion) maps none of them, read from
/proc/self/maps in a fresh interpreter. Under TERRA_CHECK_NVRTC=1 the co-executed loop compiles its
fused groups with NVRTC, which is then mapped, and still nothing else. Holds with or without a
device and without CUDA built (then nothing is ever mapped)."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import terra

LAZY = ("libcublas.", "libcublasLt.", "libcudnn", "libnvrtc.")

PROGRAM = textwrap.dedent("""
    import json
    import numpy as np
    import terra
    from terra import nn

    rng = np.random.default_rng(0)
    a = terra.tensor(rng.standard_normal((5, 7)), dtype=terra.float32)
    b = terra.tensor(rng.standard_normal((7, 3)), dtype=terra.float32)
    assert np.allclose((a @ b).numpy(), a.numpy() @ b.numpy(), atol=1e-5)

    x = terra.tensor(rng.standard_normal((2, 3, 8, 8)), dtype=terra.float32, requires_grad=True)
    w = terra.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=terra.float32, requires_grad=True)
    terra.nn.functional.conv2d(x, w, padding=1).sum().backward()
    assert x.grad.shape == (2, 3, 8, 8)

    terra.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = terra.optim.SGD(model.parameters(), lr=0.1)
    with terra.coexec(fusion=True):
        for step in range(12):
            xb = terra.tensor(rng.standard_normal((8, 6)), dtype=terra.float32)
            loss = ((model(xb).tanh() * 2 + 1) ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    stats = terra.debug.stats()
    assert stats["coexecuted"] and stats["iterations_replayed"] > 0, stats

    with open("/proc/self/maps") as f:
        paths = sorted({line.split()[-1] for line in f if "/" in line})
    print(json.dumps(paths))
""")


def mapped_after_cpu_work(**env):
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("TERRA_")}
    run_env["PYTHONPATH"] = str(Path(terra.__file__).resolve().parents[1])
    run_env.update(env)
    done = subprocess.run([sys.executable, "-c", PROGRAM], env=run_env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    paths = json.loads(done.stdout.strip().splitlines()[-1])
    return {lib for lib in LAZY for p in paths if os.path.basename(p).startswith(lib)}


def test_cpu_work_maps_no_lazy_cuda_library():
    assert mapped_after_cpu_work() == set()


@pytest.mark.skipif(not terra._C._built_with_cuda, reason="built without CUDA: no NVRTC to load")
def test_check_nvrtc_loads_nvrtc_on_first_use_and_nothing_else():
    assert mapped_after_cpu_work(TERRA_CHECK_NVRTC="1") == {"libnvrtc."}
