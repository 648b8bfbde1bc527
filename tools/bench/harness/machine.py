"""Where and when a benchmark ran: machine, load, software versions, date and commit."""
import datetime
import os
import platform
import subprocess


def _first_line(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    except OSError:
        return None
    lines = out.stdout.strip().splitlines()
    return lines[0].strip() if out.returncode == 0 and lines else None


def _cpu_model():
    with open("/proc/cpuinfo") as f:
        return next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), platform.machine())


def _memory_gib():
    with open("/proc/meminfo") as f:
        kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
    return round(kib / 2**20, 1)


def describe(python, repo):
    commit = _first_line(["git", "-C", repo, "rev-parse", "--short", "HEAD"])
    dirty = bool(_first_line(["git", "-C", repo, "status", "--porcelain", "--untracked-files=no"]))
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": f"{commit}{' (modified)' if dirty else ''}",
        "branch": _first_line(["git", "-C", repo, "rev-parse", "--abbrev-ref", "HEAD"]),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": _memory_gib(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "gpu": _first_line(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"]),
        "python": _first_line([python, "--version"]),
        "torch": _first_line([python, "-c", "import torch; print(torch.__version__)"]),
    }
