"""The one line a benchmark program prints for the harness: a prefix, then JSON with its timed
steps, their seconds and the final loss. Written by bench_support.py, read by tools/bench/run;
this file imports nothing heavy so the harness can use it without torch."""
import json

PREFIX = "BENCH_RESULT "


def format_line(steps, seconds, final_loss):
    return PREFIX + json.dumps({"steps": steps, "seconds": seconds, "final_loss": final_loss})


def parse(stdout):
    """The fields of the last result line in a program's output, or None when there is none."""
    lines = [line for line in stdout.splitlines() if line.startswith(PREFIX)]
    return json.loads(lines[-1][len(PREFIX):]) if lines else None
