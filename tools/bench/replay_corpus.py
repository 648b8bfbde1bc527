#!/usr/bin/python3
"""The program corpus (tests/programs/) under the terra CLI: eagerly, replayed with fusion off and
replayed with fusion on. Rounds interleave the modes (E U F E U F ...), each run a fresh process;
per program it reports the median wall time of each mode (the whole process: start-up, import,
tracing, replay) and the peak of Terra's CPU allocator at exit (terra.memory_stats(), read by
harness/exit_stats.py), with replay's time and peak against eager's. A plain tool, not a test:
tests/python/test_programs.py checks that the modes agree.

  tools/bench/replay_corpus.py                                # 5 rounds, 1 thread, prints Markdown
  tools/bench/replay_corpus.py --repetitions 3 --append       # ... and appends it to RESULTS.md
  tools/bench/replay_corpus.py --programs lstm_lm,gan --json out.json
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(HERE))
from harness import machine  # noqa: E402

PYTHON = "/usr/bin/python3"
PROGRAMS_DIR = REPO / "tests" / "programs"
EXIT_STATS = HERE / "harness" / "exit_stats.py"
MODES = {  # name: terra run options, environment
    "eager": (["--mode", "eager"], {}),
    "replay, fusion off": (["--mode", "replay"], {"TERRA_FUSION": "0"}),
    "replay, fusion on": (["--mode", "replay"], {}),
}
# Variables that would change what the programs compute or where Terra comes from.
CLEARED_ENV = ("PYTHONPATH", "TERRA_DEVICE", "TERRA_FUSION", "TERRA_PROGRAM_OUT")
TIMEOUT = 300


def run_once(cli, program, mode, threads):
    options, extra_env = MODES[mode]
    env = {k: v for k, v in os.environ.items() if k not in CLEARED_ENV}
    env.update(extra_env)
    for name in ("TERRA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[name] = str(threads)
    with tempfile.TemporaryDirectory() as tmp:
        env["TERRA_EXIT_STATS"] = stats_path = os.path.join(tmp, "stats.json")
        command = [str(cli), "run", *options, "--as-torch", str(EXIT_STATS), str(PROGRAMS_DIR / f"{program}.py")]
        start = time.perf_counter()
        done = subprocess.run(command, env=env, cwd=tmp, capture_output=True, text=True, timeout=TIMEOUT)
        seconds = time.perf_counter() - start
        if done.returncode != 0 or not os.path.exists(stats_path):
            return {"seconds": seconds, "error": f"exit status {done.returncode}: {done.stderr.strip()[-500:]}"}
        with open(stats_path) as f:
            stats = json.load(f)
    return {"seconds": seconds, "peak_bytes": stats["memory"]["peak_bytes"], "replay": stats["replay"]}


def summarize(runs):
    good = [r for r in runs if "error" not in r]
    if not good:
        return {"error": runs[0]["error"]}
    return {
        "seconds": statistics.median(r["seconds"] for r in good),
        "peak_bytes": statistics.median(r["peak_bytes"] for r in good),
        "replay": good[-1]["replay"],
        "failed_runs": len(runs) - len(good),
    }


def mib(n):
    return f"{n / 2**20:.2f}"


def markdown(result):
    m = result["machine"]
    lines = [
        f"## Replay on the program corpus, {m['date']}",
        "",
        f"`tools/bench/replay_corpus.py --repetitions {result['repetitions']} --threads {result['threads']}`, "
        f"commit {m['commit']}; {m['cpu']}, {m['cores']} cores, load average {m['load_average']} at the start, "
        f"{result['load_after']} at the end. Wall time: median of the interleaved runs, the whole process "
        "(start-up and import included, about a second of every run). Peak: the CPU allocator's high-water mark "
        "at exit (deferred work run first), median of the runs. Ratios: replay / eager.",
        "",
        "| program | eager s | replay off s | replay on s | on / eager | peak eager MiB | peak off MiB | peak on MiB "
        "| peak on / eager | iterations traced / replayed | ops replayed |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    time_ratios, peak_ratios = [], []
    for program, modes in result["programs"].items():
        e, u, f = (modes[name] for name in MODES)
        if any("error" in s for s in (e, u, f)):
            errors = "; ".join(f"{name}: {s['error']}" for name, s in modes.items() if "error" in s)
            lines.append(f"| {program} | failed: {errors[:200]} | | | | | | | | | |")
            continue
        time_ratios.append(f["seconds"] / e["seconds"])
        peak_ratios.append(f["peak_bytes"] / e["peak_bytes"])
        r = f["replay"]
        lines.append(
            f"| {program} | {e['seconds']:.2f} | {u['seconds']:.2f} | {f['seconds']:.2f} | {time_ratios[-1]:.2f} "
            f"| {mib(e['peak_bytes'])} | {mib(u['peak_bytes'])} | {mib(f['peak_bytes'])} | {peak_ratios[-1]:.2f} "
            f"| {r.get('iterations_traced', 0)} / {r.get('iterations_replayed', 0)} | {r.get('ops_replayed', 0)} |")
    if time_ratios:
        lines += [
            "",
            f"Geometric means over {len(time_ratios)} programs: wall time replay (fusion on) / eager "
            f"{statistics.geometric_mean(time_ratios):.2f}; peak replay (fusion on) / eager "
            f"{statistics.geometric_mean(peak_ratios):.2f} (highest {max(peak_ratios):.2f}).",
        ]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--programs", help="comma-separated names (default: every program of tests/programs/)")
    parser.add_argument("--cli", default=os.environ.get("TERRA_CLI", REPO / "build" / "tools" / "terra"))
    parser.add_argument("--json", help="also write every run's figures to this file")
    parser.add_argument("--append", action="store_true", help="append the report to tools/bench/RESULTS.md")
    args = parser.parse_args()
    programs = args.programs.split(",") if args.programs else sorted(
        p.stem for p in PROGRAMS_DIR.glob("*.py") if not p.name.startswith("_"))
    about = machine.describe(PYTHON, str(REPO))
    runs = {p: {mode: [] for mode in MODES} for p in programs}
    for round_ in range(args.repetitions):
        for program in programs:
            for mode in MODES:
                runs[program][mode].append(run_once(args.cli, program, mode, args.threads))
        print(f"round {round_ + 1} of {args.repetitions} done", file=sys.stderr)
    result = {
        "machine": about,
        "repetitions": args.repetitions,
        "threads": args.threads,
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "programs": {p: {mode: summarize(r) for mode, r in modes.items()} for p, modes in runs.items()},
    }
    report = markdown(result)
    print(report)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({**result, "runs": runs}, f, indent=1)
    if args.append:
        with open(HERE / "RESULTS.md", "a") as f:
            f.write("\n" + report)


if __name__ == "__main__":
    main()
