#!/usr/bin/python3
"""The PyTorch side of bench_ops: the same ops on the same shapes, timed with the same method.

Method (as bench_ops.cpp): an untimed call, a timed one that sets the inner loop count so one
repetition lasts at least --min-rep-ms; --warmup repetitions, then --reps timed ones (fewer for
ops so slow that the reps would pass --max-seconds); the per-call median, min and max, printed
as tab-separated "name  median_us  min_us  max_us" lines. Run with Debian's /usr/bin/python3
(torch 1.13), --threads equal to Terra's thread count.
"""
import argparse
import math
import statistics
import time

import torch
import torch.nn.functional as F


def measure(f, args):
    f()
    t0 = time.perf_counter()
    f()
    once = max(time.perf_counter() - t0, 1e-9)
    inner = max(1, math.ceil(args.min_rep_ms * 1e-3 / once))
    reps = max(3, min(args.reps, int(args.max_seconds / (once * inner))))
    for _ in range(args.warmup):
        for _ in range(inner):
            f()
    us = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            f()
        us.append((time.perf_counter() - t0) * 1e6 / inner)
    return statistics.median(us), min(us), max(us)


def report(name, stats):
    print(f"{name}\t{stats[0]:.6g}\t{stats[1]:.6g}\t{stats[2]:.6g}", flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--reps", type=int, default=51)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--min-rep-ms", type=float, default=0.5)
    p.add_argument("--max-seconds", type=float, default=8)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"# threads\t{torch.get_num_threads()}\n# torch\t{torch.__version__}", flush=True)

    def rand(*shape):
        return torch.rand(*shape) * 2 - 1

    with torch.no_grad():
        for n in (1024, 64):
            a, b = rand(n, n), rand(n, n)
            report(f"matmul_{n}", measure(lambda: torch.matmul(a, b), args))
        x, y = rand(1 << 22), rand(1 << 22)
        report("add_4M", measure(lambda: torch.add(x, y), args))
        rows = rand(4096, 1024)
        report("softmax", measure(lambda: torch.softmax(rows, -1), args))
        w, b = rand(1024), rand(1024)
        report("layer_norm", measure(lambda: F.layer_norm(rows, [1024], w, b), args))
        img, k, kb = rand(32, 64, 56, 56), rand(64, 64, 3, 3), rand(64)
        report("conv2d", measure(lambda: F.conv2d(img, k, kb, padding=1), args))


if __name__ == "__main__":
    main()
