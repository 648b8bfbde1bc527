"""Runs a program as `python3 prog.py args` would and, as the interpreter exits, writes Terra's
CPU allocator counters (terra.memory_stats()) and the replay session's statistics, as JSON, to the
file TERRA_EXIT_STATS names. replay_corpus.py runs `terra run --mode M --as-torch exit_stats.py
prog.py args`. The hook runs before the replay session's own exit hook (atexit is last in, first
out), so it first runs whatever work is still deferred: that work counts toward the peak."""
import atexit
import json
import os
import runpy
import sys

import terra
from terra._C import _trace


def _write_stats():
    replay = {}
    if _trace.active():
        _trace.sync()
        replay = {k: v for k, v in _trace.stats().items() if k != "fallbacks"}
    with open(os.environ["TERRA_EXIT_STATS"], "w") as f:
        json.dump({"memory": terra.memory_stats(), "replay": replay}, f)


def main():
    program = os.path.abspath(sys.argv[1])
    sys.argv = sys.argv[1:]
    sys.path[0] = os.path.dirname(program)  # the program's folder, as python3 prog.py has it
    atexit.register(_write_stats)
    runpy.run_path(program, run_name="__main__")


main()
