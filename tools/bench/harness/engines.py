"""Engines: how a benchmark program is started, read from tools/bench/engines.json.

Each engine is a command-line template: `{python}` (the PyTorch interpreter), `{terra}` (the
terra CLI) and `{program}` (the script's path) are substituted, and `{args}` is replaced by the
program's own arguments. An optional `requires` names a condition the machine must meet
(REQUIREMENTS below); one engine is the baseline every ratio is computed against. An optional
`reference` names the engine an engine is also measured against when that one ran too: PyTorch
eager on the same device, for the CUDA engines. Their final losses must agree with the
reference's rather than the baseline's (the devices round differently, and training amplifies
it), and a second ratio, to the reference, is reported.
"""
import json
import shutil
import subprocess
from dataclasses import dataclass
from typing import Optional


@dataclass
class Engine:
    name: str
    label: str
    command: list
    baseline: bool = False
    requires: Optional[str] = None
    reference: Optional[str] = None


def load(path):
    with open(path) as f:
        return [Engine(**entry) for entry in json.load(f)]


def command_line(engine, tools, program, program_args):
    words = []
    for word in engine.command:
        if word == "{args}":
            words.extend(program_args)
        else:
            words.append(word.format(program=program, **tools))
    return words


def _python_says(python, expression):
    out = subprocess.run([python, "-c", f"import torch; print({expression})"], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else ""


def _torch_2(python):
    version = _python_says(python, "torch.__version__")
    return version.split(".")[0].isdigit() and int(version.split(".")[0]) >= 2, f"PyTorch {version or 'missing'}"


def _torch_cuda(python):
    return _python_says(python, "torch.cuda.is_available()") == "True", "PyTorch sees no CUDA device"


def _gpu(python):
    if shutil.which("nvidia-smi") is None:
        return False, "no nvidia-smi"
    out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return out.returncode == 0 and "GPU" in out.stdout, "no GPU visible"


REQUIREMENTS = {"torch>=2": _torch_2, "torch-cuda": _torch_cuda, "gpu": _gpu}


def requirement_met(engine, python):
    """(True, "") when the machine can run the engine, else (False, why not)."""
    if engine.requires is None:
        return True, ""
    met, detail = REQUIREMENTS[engine.requires](python)
    return met, "" if met else f"needs {engine.requires} ({detail})"
