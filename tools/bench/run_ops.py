#!/usr/bin/python3
"""Runs bench_ops and torch_ops.py with one thread count and appends a Markdown report to RESULTS.md.

The report names the machine (CPU model, nproc, load average), the date and the commit, and has
two tables of ratios Terra time / reference time: Terra against the machine's own limits (a direct
cblas_sgemm call, memcpy bandwidth) with the targets from the issue, and Terra against PyTorch.
Usage: tools/bench/run_ops.py [--build build] [--threads N] [--no-append] [-- extra timing flags]
"""
import argparse
import datetime
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
ADD_ELEMENTS = 1 << 22
ADD_BYTES = 3 * 4 * ADD_ELEMENTS     # add reads two arrays and writes one
MEMCPY_BYTES = 2 * 4 * ADD_ELEMENTS  # memcpy reads one and writes one


def parse(text):
    """name -> (median, min, max) in microseconds, or name -> reason for a skipped op."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, *rest = line.split("\t")
        out[name] = rest[1] if rest[0] == "skip" else tuple(float(v) for v in rest)
    return out


def fmt_time(us):
    if us >= 1e6:
        return f"{us / 1e6:.3g} s"
    return f"{us / 1000:.3g} ms" if us >= 1000 else f"{us:.3g} µs"


def cell(r):
    if isinstance(r, str):
        return r
    return f"{fmt_time(r[0])} ({fmt_time(r[1])}–{fmt_time(r[2])})"


def ratio(a, b):
    """Terra / reference on the medians, then on the minima."""
    return "–" if isinstance(a, str) or isinstance(b, str) else f"{a[0] / b[0]:.2f}, {a[1] / b[1]:.2f}"


def sh(*cmd):
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True).stdout.strip()


def cpu_model():
    for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def report(terra, torch, torch_version, threads, flags):
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    dirty = sh("git", "status", "--porcelain", "--untracked-files=no")
    commit = sh("git", "rev-parse", "--short", "HEAD") + (" (uncommitted changes)" if dirty else "")
    branch = sh("git", "rev-parse", "--abbrev-ref", "HEAD")
    load = pathlib.Path("/proc/loadavg").read_text().split()[:3]
    lines = [
        f"## {now} — commit {commit} ({branch})",
        "",
        f"Machine: {cpu_model()}, nproc {os.cpu_count()}, load average {' '.join(load)} at the start. "
        f"Threads: {threads} for Terra, OpenBLAS and PyTorch {torch_version}. "
        f"Timing flags: {' '.join(flags) or 'defaults'}. "
        "Times are the per-call median (min–max) over the repetitions.",
        "",
        "| measurement | Terra | reference | ratio Terra/ref (medians, minima) | target | met (medians, minima) |",
        "|---|---|---|---|---|---|",
    ]

    def yes(ok):
        return "yes" if ok else "no"

    def row(name, t, ref_name, r, target, ok):
        lines.append(f"| {name} | {cell(t)} | {ref_name}: {cell(r)} | {ratio(t, r)} | {target} "
                     f"| {yes(ok(t[0], r[0]))}, {yes(ok(t[1], r[1]))} |")

    row("matmul 1024×1024×1024 f32", terra["matmul_1024"], "cblas_sgemm", terra["cblas_sgemm_1024"], "ratio ≤ 1.10",
        lambda t, r: t <= 1.10 * r)
    for n in (64, 1):
        t, r = terra[f"matmul_{n}"], terra[f"cblas_sgemm_{n}"]
        label = f"matmul {n}×{n}×{n} f32" + (" (the overhead alone)" if n == 1 else "")
        row(label, t, "cblas_sgemm", r,
            f"overhead ≤ 2 µs (here {t[0] - r[0]:+.2f} µs on medians, {t[1] - r[1]:+.2f} µs on minima)",
            lambda t, r: t - r <= 2)
    t, r = terra["add_4M"], terra["memcpy_4M"]

    def gbs(bytes_, us):
        return bytes_ / us / 1e3

    row(f"add 2^22 f32 ({gbs(ADD_BYTES, t[0]):.1f} GB/s; {gbs(ADD_BYTES, t[1]):.1f} at best)", t,
        f"memcpy ({gbs(MEMCPY_BYTES, r[0]):.1f} GB/s; {gbs(MEMCPY_BYTES, r[1]):.1f} at best)", r,
        f"bandwidth ≥ 80% of memcpy's (here {100 * gbs(ADD_BYTES, t[0]) / gbs(MEMCPY_BYTES, r[0]):.0f}% on medians, "
        f"{100 * gbs(ADD_BYTES, t[1]) / gbs(MEMCPY_BYTES, r[1]):.0f}% on minima)",
        lambda t, r: gbs(ADD_BYTES, t) >= 0.8 * gbs(MEMCPY_BYTES, r))

    lines += ["", "| op (f32) | Terra | PyTorch 1.13 | ratio Terra/PyTorch (medians, minima) |", "|---|---|---|---|"]
    for name, label in [("matmul_1024", "matmul 1024×1024×1024"), ("matmul_64", "matmul 64×64×64"),
                        ("add_4M", "add 2^22"), ("softmax", "softmax [4096, 1024], dim -1"),
                        ("layer_norm", "layer_norm [4096, 1024], weight and bias"),
                        ("conv2d", "conv2d [32, 64, 56, 56] * [64, 64, 3, 3], bias, padding 1")]:
        t, p = terra.get(name, "missing"), torch.get(name, "missing")
        lines.append(f"| {label} | {cell(t)} | {cell(p)} | {ratio(t, p)} |")
    return "\n".join(lines) + "\n"


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--build", default="build", help="meson build directory (default: build)")
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--no-append", action="store_true",
                   help="print the report without appending it to RESULTS.md")
    p.add_argument("flags", nargs="*", help="timing flags passed to both programs, e.g. -- --reps 30")
    args = p.parse_args()
    build = (ROOT / args.build).resolve()
    subprocess.run(["ninja", "-C", str(build), "tools/bench/bench_ops"], check=True, stdout=subprocess.DEVNULL)
    env = dict(os.environ, TERRA_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads),
               OMP_NUM_THREADS=str(args.threads))
    terra_out = subprocess.run([str(build / "tools/bench/bench_ops"), "--threads", str(args.threads), *args.flags],
                               env=env, check=True, capture_output=True, text=True).stdout
    torch_out = subprocess.run(
        ["/usr/bin/python3", str(HERE / "torch_ops.py"), "--threads", str(args.threads), *args.flags],
        env=env, check=True, capture_output=True, text=True).stdout
    torch_version = next((l.split("\t")[1] for l in torch_out.splitlines() if l.startswith("# torch")), "?")
    text = report(parse(terra_out), parse(torch_out), torch_version, args.threads, args.flags)
    print(text)
    if not args.no_append:
        results = HERE / "RESULTS.md"
        if not results.exists():
            results.write_text("# Op benchmark results\n\nAppended by `tools/bench/run_ops.py`; newest last.\n")
        with results.open("a") as f:
            f.write("\n" + text)


if __name__ == "__main__":
    sys.exit(main())
