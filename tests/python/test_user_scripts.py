"""Realistic PyTorch training scripts (user_scripts/, one file each) run unmodified under `terra run --as-torch`, eagerly and
co-executed, and under PyTorch 1.13 (/usr/bin/python3), comparing what they print.

Each script draws its data and initial weights from numpy (Terra's random streams differ from
PyTorch's) and keeps dropout off, so the three runs compute the same numbers:
- co-executed with TERRA_FUSION=0 prints exactly what eager prints;
- co-executed with fusion prints the same text, its numbers within 1e-5 relative;
- PyTorch prints the same text, its numbers within 1e-4 relative (float32 training over many steps;
  printed values are rounded to ~6 digits, hence the absolute slack of a few last-digit units).
"""
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
PYTHON = "/usr/bin/python3"
TIMEOUT = 120
NUMBER = re.compile(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")

SCRIPTS_DIR = Path(__file__).resolve().parent / "user_scripts"
SCRIPTS = sorted(p.stem for p in SCRIPTS_DIR.glob("*.py"))

def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE", "TERRA_FUSION")}
    env.update(extra)
    return env


def _run(cmd, cwd, **extra):
    done = subprocess.run([str(c) for c in cmd], cwd=cwd, env=_env(**extra), capture_output=True, text=True,
                          timeout=TIMEOUT)
    assert done.returncode == 0, f"{cmd} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def _split(text):
    """The text with every number replaced by '#', and the numbers."""
    return NUMBER.sub("#", text), np.array([float(n) for n in NUMBER.findall(text)])


def assert_close_output(got, want, rtol, atol):
    got_text, got_numbers = _split(got)
    want_text, want_numbers = _split(want)
    assert got_text == want_text, f"got:\n{got}\nwant:\n{want}"
    np.testing.assert_allclose(got_numbers, want_numbers, rtol=rtol, atol=atol,
                               err_msg=f"got:\n{got}\nwant:\n{want}")


@pytest.fixture(scope="module", autouse=True)
def cli_built():
    if not (CLI.is_file() and os.access(CLI, os.X_OK)):
        pytest.fail(f"no terra executable at {CLI}: build first (ninja -C build) or set TERRA_CLI")


@pytest.mark.parametrize("name", SCRIPTS)
def test_script_runs_alike_eager_coexecuted_and_under_pytorch(name, tmp_path):
    script = SCRIPTS_DIR / f"{name}.py"  # run where it is, in a scratch working directory
    eager = _run([CLI, "run", "--mode", "eager", "--as-torch", script], tmp_path)
    unfused = _run([CLI, "run", "--as-torch", script], tmp_path, TERRA_FUSION="0")
    fused = _run([CLI, "run", "--as-torch", script], tmp_path)
    pytorch = _run([PYTHON, script], tmp_path)
    assert eager.strip(), "the script printed nothing"
    assert unfused == eager
    assert_close_output(fused, eager, rtol=1e-5, atol=2e-6)
    assert_close_output(eager, pytorch, rtol=1e-4, atol=5e-6)
