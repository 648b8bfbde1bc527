"""`terra run`: the script runs as `python3 script.py args` would, options are parsed before the
script name, and `--as-torch` maps `torch` imports onto the terra package.

The executable is $TERRA_CLI, else <repo>/build/tools/terra. Where python3 defines the behaviour
(output, exit status, tracebacks) the same script is run under /usr/bin/python3 and compared.
`--as-torch` runs against a small fake `terra` package built in a temporary folder, holding a copy
of bindings/terra/_torch_alias.py; only `--mode replay` imports the real package (the build tree's).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
PYTHON = "/usr/bin/python3"
TIMEOUT = 60


@pytest.fixture(scope="module", autouse=True)
def cli_built():
    if not (CLI.is_file() and os.access(CLI, os.X_OK)):
        pytest.fail(f"no terra executable at {CLI}: build first (ninja -C build) or set TERRA_CLI")


def clean_env(**extra):
    """The environment without PYTHONPATH (tools/test points it at the real package)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TERRA_DEVICE")}
    env.update(extra)
    return env


def run(cmd, cwd=None, env=None):
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=env or clean_env(),
                          capture_output=True, text=True, timeout=TIMEOUT)


def terra(*args, **kw):
    return run([CLI, *args], **kw)


def terra_run(*args, **kw):
    return terra("run", *args, **kw)


def python(*args, **kw):
    return run([PYTHON, *args], **kw)


def write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source))
    return path


def assert_same_as_python(script, *args, cwd=None, env=None):
    got = terra_run(script, *args, cwd=cwd, env=env)
    want = python(script, *args, cwd=cwd, env=env)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)
    return got


def one_line_error(result):
    assert result.returncode == 2, result
    assert result.stderr.startswith("terra: "), result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert result.stdout == ""


# ---- running like python3 --------------------------------------------------------------------

def test_prints_and_exits_zero(tmp_path):
    script = write(tmp_path / "hello.py", """\
        import sys
        print("hello", 1 + 2)
        print("to stderr", file=sys.stderr)
        sys.stdout.write("no trailing newline")
    """)
    got = assert_same_as_python(script)
    assert got.returncode == 0
    assert got.stdout == "hello 3\nno trailing newline"


def test_argv_passes_through_after_script(tmp_path):
    script = write(tmp_path / "argv.py", """\
        import json, sys
        print(json.dumps(sys.argv))
    """)
    args = ["--mode", "coexec", "--as-torch", "-h", "--help", "plain", "--", "with space", "--x=1"]
    got = assert_same_as_python("argv.py", *args, cwd=tmp_path)
    assert json.loads(got.stdout) == ["argv.py", *args]


def test_name_is_main_and_file_is_set(tmp_path):
    script = write(tmp_path / "sub" / "who.py", """\
        print(__name__)
        print(__file__)
    """)
    got = assert_same_as_python("sub/who.py", cwd=tmp_path)
    assert got.stdout.splitlines() == ["__main__", str(script)]


def test_script_folder_is_first_on_sys_path(tmp_path):
    write(tmp_path / "prog" / "helper_mod.py", "VALUE = 42\n")
    write(tmp_path / "prog" / "main.py", """\
        import sys, helper_mod
        print(helper_mod.VALUE, sys.path[0])
    """)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    got = assert_same_as_python(tmp_path / "prog" / "main.py", cwd=elsewhere)
    assert got.stdout == f"42 {tmp_path / 'prog'}\n"


def test_pythonpath_is_honoured(tmp_path):
    write(tmp_path / "extra" / "extra_mod.py", "NAME = 'extra'\n")
    script = write(tmp_path / "uses_extra.py", """\
        import extra_mod
        print(extra_mod.NAME)
    """)
    got = assert_same_as_python(script, env=clean_env(PYTHONPATH=str(tmp_path / "extra")))
    assert got.stdout == "extra\n"


def test_uncaught_exception_prints_traceback_and_exits_1(tmp_path):
    script = write(tmp_path / "boom.py", """\
        def f():
            raise ValueError("boom")
        f()
    """)
    got = assert_same_as_python(script)
    assert got.returncode == 1
    assert f'File "{script}", line 2, in f' in got.stderr
    assert got.stderr.rstrip().endswith("ValueError: boom")


@pytest.mark.parametrize("call, code, stderr", [
    ("sys.exit(3)", 3, ""),
    ("sys.exit('bye')", 1, "bye\n"),
    ("sys.exit(None)", 0, ""),
    ("sys.exit(0)", 0, ""),
    ("sys.exit()", 0, ""),
])
def test_sys_exit(tmp_path, call, code, stderr):
    script = write(tmp_path / "leave.py", f"import sys\nprint('before')\n{call}\nprint('after')\n")
    got = assert_same_as_python(script)
    assert (got.returncode, got.stdout, got.stderr) == (code, "before\n", stderr)


def test_atexit_runs_and_output_is_flushed(tmp_path):
    script = write(tmp_path / "bye.py", """\
        import atexit, sys
        atexit.register(lambda: print("atexit handler"))
        sys.stdout.write("buffered, no newline;")
        sys.exit(4)
    """)
    got = assert_same_as_python(script)
    assert (got.returncode, got.stdout) == (4, "buffered, no newline;atexit handler\n")


def test_uncaught_keyboard_interrupt_ends_like_python(tmp_path):
    # python3 re-raises SIGINT on itself, so the status is "killed by SIGINT" (a shell shows 130).
    script = write(tmp_path / "ki.py", "raise KeyboardInterrupt\n")
    got = assert_same_as_python(script)
    assert got.returncode == -signal.SIGINT
    assert got.stderr.rstrip().endswith("KeyboardInterrupt")


@pytest.mark.parametrize("catch", [False, True])
def test_sigint_raises_keyboard_interrupt_in_script(tmp_path, catch):
    body = "print('ready', flush=True)\ntime.sleep(60)"
    if catch:
        # 'ready' is printed inside the try, so the signal cannot land before the handler is set up.
        body = "try:\n    print('ready', flush=True)\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    print('caught')"
    script = write(tmp_path / "wait.py", "import sys, time\n" + body + "\n")
    proc = subprocess.Popen([str(CLI), "run", str(script)], env=clean_env(), text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == "ready\n"
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        proc.kill()
    if catch:
        assert (proc.returncode, out) == (0, "caught\n")
    else:
        assert proc.returncode == -signal.SIGINT
        assert err.rstrip().endswith("KeyboardInterrupt")


# ---- options and usage errors -----------------------------------------------------------------

# ---- malloc tuning (Note [Malloc tuning] in tools/cli/malloc_tuning.cpp) ----------------------

ENVIRONMENT_PROBE = """\
    import os
    at_start = open("/proc/self/environ", "rb").read().split(b"\\0")
    print(sorted(e.decode() for e in at_start if e.startswith((b"GLIBC_TUNABLES=", b"TERRA_MALLOC_TUNED="))))
    print(os.environ.get("GLIBC_TUNABLES"), os.environ.get("TERRA_MALLOC_TUNED"))
"""


@pytest.mark.parametrize("extra, at_start, seen", [
    ({}, ["GLIBC_TUNABLES=glibc.malloc.tcache_count=256", "TERRA_MALLOC_TUNED=1"], "None None"),
    ({"TERRA_MALLOC_TUNING": "0"}, [], "None None"),
    ({"LD_PRELOAD": "libm.so.6"}, [], "None None"),  # another allocator, or valgrind, stays in charge
    ({"GLIBC_TUNABLES": "glibc.malloc.tcache_count=100"}, ["GLIBC_TUNABLES=glibc.malloc.tcache_count=100"],
     "glibc.malloc.tcache_count=100 None"),
])
def test_run_starts_with_malloc_tuned_and_the_script_sees_its_own_environment(tmp_path, extra, at_start, seen):
    # /proc/self/environ is what the process was started with; os.environ what the script sees.
    script = write(tmp_path / "probe.py", ENVIRONMENT_PROBE)
    env = {k: v for k, v in clean_env(**extra).items()
           if k in extra or k not in ("GLIBC_TUNABLES", "LD_PRELOAD", "TERRA_MALLOC_TUNING")}
    got = terra_run(script, env=env)
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == [str(at_start), seen]


def test_missing_script_file(tmp_path):
    got = terra_run(tmp_path / "no_such_script.py")
    one_line_error(got)
    assert "no_such_script.py" in got.stderr


def test_no_script_argument():
    one_line_error(terra_run())
    one_line_error(terra_run("--as-torch"))


@pytest.mark.parametrize("flag", ["--bogus", "-x", "--as-torch=yes"])
def test_unknown_flag(tmp_path, flag):
    script = write(tmp_path / "ok.py", "print('should not run')\n")
    one_line_error(terra_run(flag, script))


def test_mode_eager_is_accepted(tmp_path):
    script = write(tmp_path / "ok.py", "print('ran')\n")
    for args in (["--mode", "eager"], ["--mode=eager"]):
        got = terra_run(*args, script)
        assert (got.returncode, got.stdout) == (0, "ran\n")


TRAINING_LOOP = """\
    import sys
    import terra
    w = terra.ones(3, requires_grad=True)
    for step in range(8):
        loss = (w * w).sum()
        loss.backward()
        with terra.no_grad():
            w -= 0.1 * w.grad
        w.grad = None
    stats = terra.debug.stats()
    print(round(float(w.sum()), 4), stats["iterations_replayed"] > 0, stats["coexecuted"])
    sys.exit(3)
"""


@pytest.mark.parametrize("mode", [[], ["--mode", "coexec"]])
def test_coexec_is_the_default_mode(tmp_path, mode):
    script = write(tmp_path / "train.py", TRAINING_LOOP)
    got = terra_run(*mode, script)
    assert got.returncode == 3, got.stderr
    # w_i = 0.8 ** 8 after eight steps of w -= 0.1 * 2w; the spans ran on the graph actor
    assert got.stdout == f"{round(3 * 0.8 ** 8, 4)} True True\n"


def test_a_script_that_never_imports_terra_runs_as_plain_python(tmp_path):
    """The session starts when terra is imported: without it, nothing of Terra's is needed."""
    script = write(tmp_path / "plain.py", "import sys\nprint('terra' in sys.modules)\n")
    got = terra_run(script)
    assert (got.returncode, got.stdout, got.stderr) == (0, "False\n", "")


@pytest.mark.parametrize("args", [["--mode", "bogus"], ["--mode"], ["--device", "gpu"], ["--device"]])
def test_bad_option_values(tmp_path, args):
    script = write(tmp_path / "ok.py", "print('should not run')\n")
    one_line_error(terra_run(*args, script) if len(args) > 1 else terra_run(*args))


def have_cuda():
    import terra
    return terra.cuda.is_available()


@pytest.mark.parametrize("args, inherited, expected", [
    ([], None, "auto"),
    ([], "cuda", "cuda"),
    (["--device", "cpu"], None, "cpu"),
    (["--device=cuda"], "cpu", "cuda"),
])
def test_device_is_exported_as_terra_device(tmp_path, args, inherited, expected):
    if expected == "cuda" and not have_cuda():
        pytest.skip("no CUDA device: `--device cuda` is refused (test_device_cuda_without_a_gpu_is_refused)")
    script = write(tmp_path / "dev.py", "import os\nprint(os.environ['TERRA_DEVICE'])\n")
    env = clean_env(**({"TERRA_DEVICE": inherited} if inherited else {}))
    got = terra_run(*args, script, env=env)
    assert (got.returncode, got.stdout) == (0, expected + "\n")


@pytest.mark.parametrize("args, inherited", [(["--device", "cuda"], None), ([], "cuda"), (["--device=cuda"], "cpu")])
def test_device_cuda_without_a_gpu_is_refused(tmp_path, args, inherited):
    if have_cuda():
        pytest.skip("a CUDA device is present")
    script = write(tmp_path / "ok.py", "print('should not run')\n")
    got = terra_run(*args, script, env=clean_env(**({"TERRA_DEVICE": inherited} if inherited else {})))
    one_line_error(got)
    assert got.stderr.startswith("terra: run --device cuda, but there is no CUDA device: ")


@pytest.mark.parametrize("args, expected", [
    ([], None),
    (["--device", "auto"], None),
    (["--device", "cpu"], "cpu"),
    (["--device", "cuda"], "cuda"),
])
def test_device_sets_the_default_device(tmp_path, args, expected):
    """auto picks CUDA when a GPU is present, else the CPU; factories and modules follow it, while
    tensors from numpy stay on the CPU, as under torch.set_default_device."""
    expected = expected or ("cuda" if have_cuda() else "cpu")
    if expected == "cuda" and not have_cuda():
        pytest.skip("no CUDA device")
    script = write(tmp_path / "dev.py", "import numpy as np, torch\n"
                   "print(torch.get_default_device().type, torch.zeros(2).device.type,\n"
                   "      torch.nn.Linear(2, 3).weight.device.type, torch.tensor([1.0]).device.type,\n"
                   "      torch.from_numpy(np.zeros(2)).device.type)\n")
    got = terra_run(*args, "--as-torch", script, env=clean_env())
    assert (got.returncode, got.stdout) == (0, f"{expected} {expected} {expected} {expected} cpu\n"), got.stderr


def test_set_default_device_in_python():
    import terra
    assert terra.get_default_device().type == "cpu"
    try:
        terra.set_default_device("cuda")
        assert terra.get_default_device() == terra.device("cuda")
        assert terra.from_numpy(np.zeros(2)).device.type == "cpu"
        if not have_cuda():
            with pytest.raises(RuntimeError, match="cuda"):
                terra.zeros(2)
    finally:
        terra.set_default_device(None)
    assert terra.zeros(2).device.type == "cpu"
    terra.set_default_device("cpu")
    assert terra.get_default_device().type == "cpu"


def test_run_help():
    got = terra_run("--help")
    assert got.returncode == 0
    assert got.stdout.startswith("usage: terra run")
    for option in ("--as-torch", "--mode", "--device", "replay", "--dump-graph"):
        assert option in got.stdout
    assert terra_run("-h").stdout == got.stdout


def test_top_level_help_lists_run_and_version_is_unchanged():
    got = terra("--help")
    assert got.returncode == 0
    assert "run [options] SCRIPT" in got.stdout and "--as-torch" in got.stdout
    version = terra("--version")
    assert version.returncode == 0 and version.stdout.startswith("terra ")


# ---- --mode replay ------------------------------------------------------------------------------

def test_mode_replay_runs_a_training_loop_and_returns_its_exit_status(tmp_path):
    script = write(tmp_path / "train.py", TRAINING_LOOP)
    got = terra_run("--mode", "replay", script)
    assert got.returncode == 3, got.stderr
    assert got.stdout == f"{round(3 * 0.8 ** 8, 4)} True False\n"  # replayed, on Python's thread


@pytest.mark.parametrize("body", [
    "print('done')",
    "import sys; print('leaving'); sys.exit(4)",
    "raise ValueError('boom')",
    "raise KeyboardInterrupt",
])
def test_mode_replay_ends_like_python(tmp_path, body):
    # The session is stopped at exit however the program ends; nothing of it shows.
    script = write(tmp_path / "ends.py", body + "\n")
    got = terra_run("--mode=replay", script)
    want = python(script)
    assert (got.returncode, got.stdout, got.stderr) == (want.returncode, want.stdout, want.stderr)


def test_dump_graph_is_accepted_with_replay(tmp_path):
    script = write(tmp_path / "dump.py", "import os\nprint(os.environ['TERRA_DUMP_GRAPH'])\n")
    for args in (["--dump-graph", tmp_path / "graphs"], [f"--dump-graph={tmp_path / 'graphs'}"]):
        got = terra_run("--mode", "replay", *args, script)
        assert (got.returncode, got.stdout) == (0, f"{tmp_path / 'graphs'}\n"), got.stderr


@pytest.mark.parametrize("args", [["--mode", "eager", "--dump-graph", "graphs"], ["--mode", "replay", "--dump-graph="],
                                  ["--dump-graph="], ["--mode", "eager", "--explain"],
                                  ["--mode", "eager", "--actor-trace", "t.json"], ["--actor-trace"]])
def test_session_options_need_a_session_and_a_value(tmp_path, args):
    script = write(tmp_path / "ok.py", "print('should not run')\n")
    one_line_error(terra_run(*args, script))


# ---- --as-torch ---------------------------------------------------------------------------------

def fake_terra(root, init="", nn_init=""):
    """A minimal `terra` package with the real _torch_alias.py; returns the PYTHONPATH entry."""
    pkg = root / "fakepkg" / "terra"
    write(pkg / "__init__.py", init)
    write(pkg / "nn" / "__init__.py", nn_init)
    write(pkg / "nn" / "functional.py", "def relu(x):\n    return max(x, 0)\n")
    write(pkg / "nn" / "modules" / "__init__.py", "")
    write(pkg / "nn" / "modules" / "rnn.py", "class LSTM:\n    pass\n")
    write(pkg / "optim" / "__init__.py", "")
    write(pkg / "optim" / "lr_scheduler.py", "class StepLR:\n    pass\n")
    write(pkg / "utils" / "__init__.py", "")
    write(pkg / "utils" / "data.py", "class DataLoader:\n    pass\n")
    shutil.copy(REPO / "bindings" / "terra" / "_torch_alias.py", pkg / "_torch_alias.py")
    return str(pkg.parent)


def test_as_torch_maps_torch_onto_terra(tmp_path):
    env = clean_env(PYTHONPATH=fake_terra(tmp_path))
    script = write(tmp_path / "model.py", """\
        import torch
        import torch.nn as nn
        print(torch.__name__, nn.__name__, torch.nn is nn)
    """)
    got = terra_run("--as-torch", script, env=env)
    assert (got.returncode, got.stdout, got.stderr) == (0, "terra terra.nn True\n", "")


def test_as_torch_submodules_are_the_terra_modules(tmp_path):
    env = clean_env(PYTHONPATH=fake_terra(tmp_path, nn_init="print('terra.nn executed')\n"))
    script = write(tmp_path / "model.py", """\
        import sys
        import torch.nn.functional as F
        import torch.optim.lr_scheduler
        import torch.nn.modules.rnn
        from torch.utils.data import DataLoader
        from torch import optim
        import terra, terra.nn, terra.optim.lr_scheduler, terra.nn.modules.rnn, terra.utils.data
        import torch
        assert torch is terra and sys.modules["torch"] is terra
        assert F is terra.nn.functional and F.relu(-2) == 0
        assert torch.optim.lr_scheduler is terra.optim.lr_scheduler and optim is terra.optim
        assert torch.nn.modules.rnn.LSTM is terra.nn.modules.rnn.LSTM
        assert DataLoader is terra.utils.data.DataLoader
        assert sys.modules["torch.nn"] is terra.nn and sys.modules["terra.nn"] is terra.nn
        # the terra modules keep their own identity
        assert terra.__spec__.name == "terra" and terra.nn.__spec__.name == "terra.nn"
        print("ok")
    """)
    got = terra_run("--as-torch", script, env=env)
    # terra.nn is executed once, not again under the name torch.nn
    assert (got.returncode, got.stdout, got.stderr) == (0, "terra.nn executed\nok\n", "")


def test_as_torch_missing_module_is_module_not_found(tmp_path):
    env = clean_env(PYTHONPATH=fake_terra(tmp_path))
    script = write(tmp_path / "model.py", """\
        try:
            import torch.missing_thing
        except ModuleNotFoundError as e:
            print(e.name)
            print(e)
        import torch.nn.missing_deeper
    """)
    got = terra_run("--as-torch", script, env=env)
    assert got.returncode == 1
    name, message = got.stdout.splitlines()
    assert name == "torch.missing_thing"
    assert "torch.missing_thing" in message and "Terra does not provide" in message
    assert got.stderr.rstrip().splitlines()[-1].startswith(
        "ModuleNotFoundError: No module named 'torch.nn.missing_deeper'")


def test_as_torch_keeps_errors_from_inside_terra(tmp_path):
    # A module terra itself cannot find is not reworded as a missing torch module.
    env = clean_env(PYTHONPATH=fake_terra(tmp_path, nn_init="import no_such_dependency_xyz\n"))
    script = write(tmp_path / "model.py", "import torch.nn\n")
    got = terra_run("--as-torch", script, env=env)
    assert got.returncode == 1
    assert "No module named 'no_such_dependency_xyz'" in got.stderr


def test_without_as_torch_torch_is_not_aliased(tmp_path):
    env = clean_env(PYTHONPATH=fake_terra(tmp_path))
    script = write(tmp_path / "model.py", """\
        import sys
        print("terra" in sys.modules, any("Torch" in type(f).__name__ for f in sys.meta_path))
    """)
    got = terra_run(script, env=env)
    assert (got.returncode, got.stdout) == (0, "False False\n")


def test_broken_package_only_matters_with_as_torch(tmp_path):
    env = clean_env(PYTHONPATH=fake_terra(tmp_path, init="raise ImportError('terra is broken')\n"))
    script = write(tmp_path / "plain.py", "print('plain')\n")
    got = terra_run(script, env=env)
    assert (got.returncode, got.stdout) == (0, "plain\n")
    got = terra_run("--as-torch", script, env=env)
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr.startswith("terra: --as-torch")
    assert "ImportError: terra is broken" in got.stderr


# ---- finding the package in a build tree ------------------------------------------------------

def test_build_tree_package_is_found_after_pythonpath(tmp_path):
    # A copy of the executable at <builddir>/tools/terra with <builddir>/bindings/terra beside it.
    builddir = tmp_path / "build"
    (builddir / "tools").mkdir(parents=True)
    exe = builddir / "tools" / "terra"
    shutil.copy(CLI, exe)
    write(builddir / "bindings" / "terra" / "__init__.py", "WHERE = 'build tree'\n")
    write(tmp_path / "first" / "first_mod.py", "")
    script = write(tmp_path / "where.py", """\
        import sys, terra
        print(terra.WHERE)
        print("\\n".join(sys.path[:3]))
    """)
    lib_path = ":".join(filter(None, [str(CLI.resolve().parent.parent), os.environ.get("LD_LIBRARY_PATH")]))
    env = clean_env(PYTHONPATH=str(tmp_path / "first"), LD_LIBRARY_PATH=lib_path)
    got = run([exe, "run", script], env=env)
    assert got.returncode == 0, got.stderr
    assert got.stdout.splitlines() == [
        "build tree", str(tmp_path), str(tmp_path / "first"), str(builddir / "bindings")]
