"""The program corpus (tests/programs/, see its README) run every way the suite compares:
- co-executed (`terra run --mode coexec`) and replayed (`--mode replay`) against eager
  (`terra run --mode eager`), per DESIGN.md §10: with TERRA_FUSION=0 stdout identical and every
  saved array bitwise equal; with fusion on every number in stdout and every array within 1e-5
  relative (1e-6 absolute), the text around the numbers identical; the fused runs also compile
  every fused group's generated CUDA kernel with NVRTC (TERRA_CHECK_NVRTC=1, no GPU needed) when
  Terra is built with CUDA, and fail on any that does not compile;
- co-executed with a forced divergence (TERRA_FORCE_DIVERGENCE=seed: a mismatch declared at a
  random op of a random iteration), 100 seeds over the corpus, bitwise against eager;
- eager against eager: the corpus itself is deterministic, so a replay mismatch is replay's fault;
- under PyTorch 1.13 (/usr/bin/python3 with the real torch): every program is valid PyTorch and
  saves the same arrays (names, shapes, dtypes; the values differ with the random streams);
- with a GPU (tools/gpu-check), on CUDA (`--device cuda`; skipped, with the reason, without one):
  the same invariant against eager on CUDA (bitwise with TERRA_FUSION=0, 1e-5 with fusion), and
  eager on CUDA near eager on the CPU: training amplifies the devices' last-bit differences (and
  a gradient that is pure rounding noise, such as an attention key bias's, is amplified by Adam
  into real updates), so every printed number within 1e-2 relative and every float array within
  1e-2 of its norm; the kernels themselves are compared op by op at 1e-5 in test_cuda.
The CPU runs name `--device cpu`, so they stay on the CPU where a GPU is present.

Each run is a subprocess (the terra CLI is $TERRA_CLI, else <repo>/build/tools/terra) under a
timeout, and happens once per session: the first test that asks for a run starts, two at a time,
every run the selected tests need (each test names its runs with @needs), in test order.
"""
import functools
import json
import os
import re
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
PROGRAMS_DIR = REPO / "tests" / "programs"
PROGRAMS = sorted(p.name for p in PROGRAMS_DIR.glob("*.py") if not p.name.startswith("_"))
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
PYTHON = "/usr/bin/python3"
TIMEOUT = 60  # seconds per run; every program takes about one eagerly
WORKERS = int(os.environ.get("TERRA_TEST_WORKERS", "2"))  # runs at a time (tools/gpu-check: more)
RTOL, ATOL = 1e-5, 1e-6

TERRA_EAGER = [CLI, "run", "--mode", "eager", "--device", "cpu", "--as-torch"]
TERRA_REPLAY = [CLI, "run", "--mode", "replay", "--device", "cpu", "--as-torch"]
TERRA_COEXEC = [CLI, "run", "--mode", "coexec", "--device", "cpu", "--as-torch"]
TERRA_EAGER_CUDA = [CLI, "run", "--mode", "eager", "--device", "cuda", "--as-torch"]
TERRA_COEXEC_CUDA = [CLI, "run", "--mode", "coexec", "--device", "cuda", "--as-torch"]
FORCED_SEEDS = range(1, 101)
# Each kind of run: the command in front of the program's path, and the environment it adds.
KINDS = {
    "eager": (TERRA_EAGER, {}),
    "eager_again": (TERRA_EAGER, {}),
    "replay_unfused": (TERRA_REPLAY, {"TERRA_FUSION": "0"}),
    "replay_fused": (TERRA_REPLAY, {"TERRA_CHECK_NVRTC": "1"}),
    "coexec_unfused": (TERRA_COEXEC, {"TERRA_FUSION": "0"}),
    "coexec_fused": (TERRA_COEXEC, {"TERRA_CHECK_NVRTC": "1"}),
    "pytorch": ([PYTHON], {}),
    "eager_cuda": (TERRA_EAGER_CUDA, {}),
    "coexec_cuda_unfused": (TERRA_COEXEC_CUDA, {"TERRA_FUSION": "0"}),
    "coexec_cuda": (TERRA_COEXEC_CUDA, {}),
}
for _seed in FORCED_SEEDS:
    KINDS[f"forced_{_seed}"] = (TERRA_COEXEC, {"TERRA_FUSION": "0", "TERRA_FORCE_DIVERGENCE": str(_seed)})


def gpu_present():
    """(True, "") with a GPU, else (False, why not): asked of nvidia-smi, as tools/bench does."""
    if shutil.which("nvidia-smi") is None:
        return False, "no GPU: nvidia-smi is not installed"
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return listed.returncode == 0 and "GPU" in listed.stdout, "no GPU: nvidia-smi -L lists none"


HAVE_GPU, NO_GPU_REASON = gpu_present()
# Variables the runs set themselves, or that would change what they compute.
CLEARED_ENV = ("PYTHONPATH", "TERRA_DEVICE", "TERRA_FUSION", "TERRA_PROGRAM_OUT", "TERRA_REPLAY_STATS",
               "TERRA_FORCE_DIVERGENCE", "TERRA_SPAN_OPS", "TERRA_MAX_SPANS_AHEAD", "TERRA_STABLE_AFTER",
               "TERRA_MAX_PATHS", "TERRA_CHECK_NVRTC")


@dataclass
class Run:
    command: str
    returncode: int | None  # None: killed at the timeout
    stdout: str
    stderr: str
    arrays: dict  # what the program's finish() saved: name -> numpy array
    stats: dict  # replay's counters (terra.debug.stats()), empty for other kinds


def text(output):
    """subprocess gives bytes instead of text for what a timed-out run had written."""
    return output.decode(errors="replace") if isinstance(output, bytes) else output or ""


def run_program(program, kind, out_dir):
    prefix, extra_env = KINDS[kind]
    out = out_dir / f"{program}.{kind}.npz"
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    stats_file = out_dir / f"{program}.{kind}.stats.json"
    env.update(extra_env, TERRA_PROGRAM_OUT=str(out), TERRA_REPLAY_STATS=str(stats_file))
    cmd = [str(part) for part in prefix] + [program]
    command = shlex.join([f"{k}={v}" for k, v in extra_env.items()] + cmd)
    try:
        done = subprocess.run(cmd, cwd=PROGRAMS_DIR, env=env, capture_output=True, text=True,
                              timeout=TIMEOUT)
    except subprocess.TimeoutExpired as timeout:
        return Run(command, None, text(timeout.stdout), text(timeout.stderr), {}, {})
    arrays = {}
    if out.exists():
        with np.load(out) as saved:
            arrays = dict(saved)
    stats = json.loads(stats_file.read_text()) if stats_file.exists() else {}
    return Run(command, done.returncode, done.stdout, done.stderr, arrays, stats)


class Runs:
    """Every (program, kind) run once per session, on a small thread pool."""

    def __init__(self, wanted, out_dir):
        self._wanted = wanted
        self._out_dir = out_dir
        self._pool = ThreadPoolExecutor(WORKERS)
        self._futures = {}

    def get(self, program, kind):
        if not self._futures:
            for key in self._wanted:
                self._submit(key)
        return self._submit((program, kind)).result()

    def _submit(self, key):
        if key not in self._futures:
            self._futures[key] = self._pool.submit(run_program, *key, self._out_dir)
        return self._futures[key]

    def close(self):
        self._pool.shutdown(cancel_futures=True)


def needs(*kinds):
    """Names the runs a test compares, so the session can start them all early."""
    def mark(test):
        test.run_kinds = kinds
        return test
    return mark


@pytest.fixture(scope="session")
def runs(request, tmp_path_factory):
    if not (CLI.is_file() and os.access(CLI, os.X_OK)):
        pytest.fail(f"no terra executable at {CLI}: build first (ninja -C build) or set TERRA_CLI")
    wanted = {}  # a dict keeps the tests' order
    for item in request.session.items:
        kinds = getattr(getattr(item, "function", None), "run_kinds", ())
        params = item.callspec.params if hasattr(item, "callspec") else {}
        if "program" in params:
            wanted.update(dict.fromkeys((params["program"], kind) for kind in kinds))
        elif "seed" in params:
            program = forced_program(params["seed"])
            wanted.update(dict.fromkeys([(program, "eager"), (program, f"forced_{params['seed']}")]))
    session_runs = Runs(list(wanted), tmp_path_factory.mktemp("programs"))
    yield session_runs
    session_runs.close()


def completed(run):
    """The run, after failing the test unless it exited 0."""
    if run.returncode is None:
        pytest.fail(f"`{run.command}` did not finish within {TIMEOUT} s\n{run.stderr[-2000:]}")
    if run.returncode == 2 and run.stderr.startswith("terra: "):
        pytest.fail(f"the terra CLI refused `{run.command}` (exit status 2): {run.stderr.strip()}")
    if run.returncode != 0:
        pytest.fail(f"`{run.command}` exited with status {run.returncode}\n{run.stderr[-2000:]}")
    return run


def assert_same_arrays_saved(want, got):
    assert sorted(got.arrays) == sorted(want.arrays), "the saved arrays' names differ"
    for name, expected in want.arrays.items():
        actual = got.arrays[name]
        assert (actual.dtype, actual.shape) == (expected.dtype, expected.shape), name


def assert_identical(want, got):
    assert got.stdout.splitlines() == want.stdout.splitlines(), f"stdout of `{got.command}`"
    assert_same_arrays_saved(want, got)
    differing = [name for name in want.arrays if want.arrays[name].tobytes() != got.arrays[name].tobytes()]
    assert not differing, f"`{got.command}` saved arrays that differ bitwise: {differing}"


# A number as a program prints it: int, decimal, exponent, nan, inf; the text between is compared.
NUMBER = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?(?:nan|inf))")


def last_digit(number):
    """One unit in the last printed decimal place ("0.5225" -> 1e-4), 0 for an integer: values
    within tolerance can still round to neighbouring digits when printed with few decimals. Of
    two numbers compared, the one with more digits decides ("1.5" may stand for 1.50000012)."""
    mantissa, _, exponent = number.lower().partition("e")
    if "." not in mantissa:
        return 0.0
    return 10.0 ** (int(exponent or 0) - len(mantissa.partition(".")[2]))


def split_numbers(line):
    """The text around the numbers, the numbers' values, and their last printed digits."""
    parts = NUMBER.split(line)
    numbers = parts[1::2]
    return parts[0::2], np.array([float(n) for n in numbers]), np.array([last_digit(n) for n in numbers])


def assert_close(want, got):
    want_lines, got_lines = want.stdout.splitlines(), got.stdout.splitlines()
    assert len(got_lines) == len(want_lines), f"`{got.command}` printed a different number of lines"
    for number, (expected, actual) in enumerate(zip(want_lines, got_lines), start=1):
        expected_text, expected_numbers, expected_digits = split_numbers(expected)
        actual_text, actual_numbers, actual_digits = split_numbers(actual)
        same = actual_text == expected_text and np.all(
            np.isclose(actual_numbers, expected_numbers, rtol=RTOL, atol=ATOL, equal_nan=True)
            | (np.abs(actual_numbers - expected_numbers) <= np.minimum(expected_digits, actual_digits)))
        assert same, f"stdout line {number} differs:\n  eager:  {expected}\n  replay: {actual}"
    assert_same_arrays_saved(want, got)
    for name, expected in want.arrays.items():
        if np.issubdtype(expected.dtype, np.floating):
            np.testing.assert_allclose(got.arrays[name], expected, rtol=RTOL, atol=ATOL,
                                       equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(got.arrays[name], expected, err_msg=name)


@needs("eager", "eager_again")
@pytest.mark.parametrize("program", PROGRAMS)
def test_eager_is_deterministic(runs, program):
    first = completed(runs.get(program, "eager"))
    assert first.arrays, f"{program} saved nothing: does it call finish()?"
    assert_identical(first, completed(runs.get(program, "eager_again")))


@needs("pytorch", "eager")
@pytest.mark.parametrize("program", PROGRAMS)
def test_runs_under_pytorch(runs, program):
    assert_same_arrays_saved(completed(runs.get(program, "eager")),
                             completed(runs.get(program, "pytorch")))


@needs("eager", "replay_unfused", "coexec_unfused")
@pytest.mark.parametrize("kind", ["replay_unfused", "coexec_unfused"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_without_fusion_is_bitwise_eager(runs, program, kind):
    session = completed(runs.get(program, kind))
    assert_identical(completed(runs.get(program, "eager")), session)
    assert_really_replayed(session)
    assert session.stats["coexecuted"] == kind.startswith("coexec"), "where the spans ran"


@needs("eager", "replay_fused", "coexec_fused")
@pytest.mark.parametrize("kind", ["replay_fused", "coexec_fused"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_with_fusion_is_close_to_eager(runs, program, kind):
    session = completed(runs.get(program, kind))
    assert_close(completed(runs.get(program, "eager")), session)
    assert_really_replayed(session)
    assert_fused_groups_compiled_with_nvrtc(session)


@functools.cache
def built_with_cuda():
    return "(cuda)" in subprocess.run([str(CLI), "--version"], capture_output=True, text=True).stdout


def assert_fused_groups_compiled_with_nvrtc(run):
    """Under TERRA_CHECK_NVRTC every fused group of every plan was compiled for CUDA (a group
    NVRTC rejects fails the run itself, with NVRTC's log)."""
    if built_with_cuda():
        assert run.stats["nvrtc_kernels"] == run.stats["fused_groups"], run.stats


@needs("replay_fused", "coexec_fused")
@pytest.mark.parametrize("kind", ["replay_fused", "coexec_fused"])
def test_the_corpus_fused_kernels_compile_with_nvrtc(runs, kind):
    if not built_with_cuda():
        pytest.skip("Terra was built without CUDA: no NVRTC")
    compiled = sum(completed(runs.get(program, kind)).stats["nvrtc_kernels"] for program in PROGRAMS)
    assert compiled > 0, "the corpus produced no fused group to compile"


def without_device_names(run):
    """The run with its printed tensors' `device='cuda:0'` taken out: the numbers must agree."""
    return Run(run.command, run.returncode, run.stdout.replace(", device='cuda:0'", ""), run.stderr, run.arrays,
               run.stats)


def assert_near_across_devices(want, got, rtol=1e-2, atol=1e-3):
    want_lines, got_lines = want.stdout.splitlines(), got.stdout.splitlines()
    assert len(got_lines) == len(want_lines), f"`{got.command}` printed a different number of lines"
    for number, (expected, actual) in enumerate(zip(want_lines, got_lines), start=1):
        expected_text, expected_numbers, _ = split_numbers(expected)
        actual_text, actual_numbers, _ = split_numbers(actual)
        same = actual_text == expected_text and np.allclose(actual_numbers, expected_numbers, rtol=rtol, atol=atol,
                                                            equal_nan=True)
        assert same, f"stdout line {number} differs:\n  cpu:  {expected}\n  cuda: {actual}"
    assert_same_arrays_saved(want, got)
    for name, expected in want.arrays.items():
        actual = got.arrays[name]
        if not np.issubdtype(expected.dtype, np.floating):
            np.testing.assert_array_equal(actual, expected, err_msg=name)
            continue
        np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected), err_msg=name)
        e, a = np.nan_to_num(expected.astype(np.float64)), np.nan_to_num(actual.astype(np.float64))
        assert np.linalg.norm(a - e) <= rtol * np.linalg.norm(e) + atol, \
            f"{name}: |cuda - cpu| = {np.linalg.norm(a - e):.3g}, |cpu| = {np.linalg.norm(e):.3g}"


@needs(*(("eager_cuda", "coexec_cuda_unfused", "coexec_cuda") if HAVE_GPU else ()))
@pytest.mark.skipif(not HAVE_GPU, reason=NO_GPU_REASON)
@pytest.mark.parametrize("kind", ["coexec_cuda_unfused", "coexec_cuda"])
@pytest.mark.parametrize("program", PROGRAMS)
def test_cuda_coexec_is_cuda_eager(runs, program, kind):
    """DESIGN §10 on CUDA: bitwise without fusion, 1e-5 with it."""
    session = completed(runs.get(program, kind))
    eager = completed(runs.get(program, "eager_cuda"))
    if kind == "coexec_cuda_unfused":
        assert_identical(eager, session)
    else:
        assert_close(eager, session)
    assert_really_replayed(session)


@needs(*(("eager", "eager_cuda") if HAVE_GPU else ()))
@pytest.mark.skipif(not HAVE_GPU, reason=NO_GPU_REASON)
@pytest.mark.parametrize("program", PROGRAMS)
def test_cuda_eager_is_near_cpu_eager(runs, program):
    assert_near_across_devices(completed(runs.get(program, "eager")),
                               without_device_names(completed(runs.get(program, "eager_cuda"))))


def forced_program(seed):
    # 101 is a prime larger than the corpus, so prime to len(PROGRAMS) (checked below).
    return PROGRAMS[(seed * 101) % len(PROGRAMS)]


def test_forced_runs_cover_the_corpus():
    assert {forced_program(seed) for seed in FORCED_SEEDS} == set(PROGRAMS)


@pytest.mark.parametrize("seed", FORCED_SEEDS)
def test_forced_divergence_is_unobservable(runs, seed):
    """A mismatch declared at a random op of one of the first replayed iterations (drawn from the
    seed): the validated prefix runs, the rest of the iteration runs eagerly and is traced, and
    nothing the program prints or saves changes (each run under the timeout: no hang)."""
    program = forced_program(seed)
    forced = completed(runs.get(program, f"forced_{seed}"))
    assert_identical(completed(runs.get(program, "eager")), forced)
    reasons = [f["reason"] for f in forced.stats["fallbacks"]]
    if forced.stats["iterations_replayed"] >= 8:
        assert any(r.startswith("forced divergence") for r in reasons), reasons


def assert_really_replayed(run):
    """An equality that holds because nothing was replayed proves nothing."""
    assert run.stats.get("iterations_replayed", 0) > 0, f"{run.command}: no iteration was replayed: {run.stats}"


def recorded(stdout, weight):
    return Run("recorded", 0, stdout, "", {"s0.weight": np.array(weight, dtype=np.float32)}, {})


def test_comparisons_tell_rounding_from_real_differences():
    """The comparisons themselves, on made-up runs."""
    eager = recorded("step 0 loss 1.23456789\ncounts [2 3] lr 0.1\ntensor([0.5225])\n", [1.0, -2.0])
    rounded = recorded("step 0 loss 1.23456791\ncounts [2 3] lr 0.1\ntensor([0.5224])\n", [1.0, -2.0000002])
    assert_close(eager, rounded)
    with pytest.raises(AssertionError):
        assert_identical(eager, rounded)
    wrong = [
        recorded("step 0 loss 1.2346\ncounts [2 3] lr 0.1\ntensor([0.5225])\n", [1.0, -2.0]),
        recorded("step 1 loss 1.23456789\ncounts [2 3] lr 0.1\ntensor([0.5225])\n", [1.0, -2.0]),
        recorded("step 0 lost 1.23456789\ncounts [2 3] lr 0.1\ntensor([0.5225])\n", [1.0, -2.0]),
        recorded("step 0 loss 1.23456789\ncounts [2 4] lr 0.1\ntensor([0.5225])\n", [1.0, -2.0]),
        recorded("step 0 loss 1.23456789\ncounts [2 3] lr 0.1\ntensor([0.5223])\n", [1.0, -2.0]),
        recorded("step 0 loss 1.23456789\n", [1.0, -2.0]),
        recorded(eager.stdout, [1.0, -2.001]),
        recorded(eager.stdout, [1.0, -2.0, 0.0]),
    ]
    for run in wrong:
        with pytest.raises(AssertionError):
            assert_close(eager, run)
        with pytest.raises(AssertionError):
            assert_identical(eager, run)
