#!/usr/bin/python3
"""Python-level benchmarks of Terra eager against PyTorch 1.13 eager, in the same run.

    tools/bench/run_python.py                 # all benchmarks, appends a report to RESULTS.md
    tools/bench/run_python.py --no-append --rounds 3 --only add_16x16

Each measurement runs in a fresh worker process (`--worker LIB NAME`), alternating Terra and
PyTorch, `--rounds` times; the report gives the medians and the ratio Terra / PyTorch (time per
op, or steps per second: > 1 means Terra is faster for steps/s, < 1 for time per op).
Both libraries use the same thread count (--threads, default: the number of cores).
"""
import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WIKITEXT = os.path.join(ROOT, "..", "shared", "data", "wikitext-2", "valid.txt")


# ---- worker side: each benchmark takes the library module and returns {"value": ..., "unit": ...}

def _per_op(lib, make, fn, n=20000):
    state = make(lib)
    for _ in range(2000):
        fn(*state)
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        for _ in range(n):
            fn(*state)
        best = min(best, (time.perf_counter() - t) / n)
    return {"value": best * 1e9, "unit": "ns/op"}


def bench_add_16x16(lib):
    return _per_op(lib, lambda L: (L.ones(16, 16), L.ones(16, 16)), lambda a, b: a + b)


def bench_add_scalar_16x16(lib):
    return _per_op(lib, lambda L: (L.ones(16, 16),), lambda a: a + 1.0)


def bench_mul_grad_16x16(lib):
    """An op recorded for autograd (inputs require grad)."""
    return _per_op(lib, lambda L: (L.ones(16, 16, requires_grad=True), L.ones(16, 16)), lambda a, b: a * b)


def bench_relu_16x16(lib):
    return _per_op(lib, lambda L: (L.ones(16, 16), L), lambda a, L: L.relu(a))


def bench_view_16x16(lib):
    return _per_op(lib, lambda L: (L.ones(16, 16),), lambda a: a.view(256))


def _example(name):
    """The model code of examples/NAME.py; its `import torch` is whichever library the worker runs."""
    sys.path.insert(0, os.path.join(ROOT, "examples"))
    return __import__(name)


def _digits_setup(lib):
    import numpy as np
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    lib.manual_seed(0)
    model = _example("digits_cnn").DigitsCNN()
    opt = lib.optim.Adam(model.parameters(), lr=3e-3)
    x, y = lib.from_numpy(images), lib.from_numpy(labels)
    loader = lib.utils.data.DataLoader(lib.utils.data.TensorDataset(x, y), batch_size=32, shuffle=True)
    return model, opt, loader


def bench_digits_cnn_train(lib):
    model, opt, loader = _digits_setup(lib)
    F = lib.nn.functional

    def epoch():
        n = 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            loss.item()
            n += 1
        return n

    epoch()  # warm-up
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        n = epoch()
        rates.append(n / (time.perf_counter() - t))
    return {"value": max(rates), "unit": "steps/s"}


def bench_word_lm_train(lib):
    import numpy as np
    nn = lib.nn
    with open(WIKITEXT if os.path.exists(WIKITEXT) else "/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
        words = f.read().split()[:60000]
    index = {w: i for i, w in enumerate(sorted(set(words))[:4999])}
    vocab = len(index) + 1
    ids = np.array([index.get(w, vocab - 1) for w in words], dtype=np.int64)
    batch, bptt = 20, 35
    data = lib.from_numpy(ids[: (len(ids) // batch) * batch].reshape(batch, -1).T.copy())

    lib.manual_seed(0)
    model = _example("word_lm").WordLM(vocab)
    criterion = nn.CrossEntropyLoss()
    state = [None]
    pos = [0]

    def step():
        if pos[0] + 1 + bptt > data.shape[0]:
            pos[0], state[0] = 0, None
        inputs, targets = data[pos[0]:pos[0] + bptt], data[pos[0] + 1:pos[0] + 1 + bptt].reshape(-1)
        pos[0] += bptt
        s = None if state[0] is None else tuple(t.detach() for t in state[0])
        model.zero_grad()
        logits, state[0] = model(inputs, s)
        loss = criterion(logits.view(-1, vocab), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with lib.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-20.0)
        loss.item()

    for _ in range(3):
        step()
    rates = []
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(10):
            step()
        rates.append(10 / (time.perf_counter() - t))
    return {"value": max(rates), "unit": "steps/s"}


BENCHMARKS = {name[len("bench_"):]: fn for name, fn in globals().items() if name.startswith("bench_")}


def worker(lib_name, bench, threads):
    os.environ["TERRA_NUM_THREADS"] = str(threads)
    if lib_name == "torch":
        import torch as lib
        lib.set_num_threads(threads)
    else:
        sys.path.insert(0, os.path.join(ROOT, "build", "bindings"))
        import terra as lib
        import terra._torch_alias
        terra._torch_alias.install()  # the examples' `import torch` means Terra here
    print(json.dumps(BENCHMARKS[bench](lib)))


# ---- driver side

def measure(lib_name, bench, threads):
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", lib_name, bench,
                          "--threads", str(threads)], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        return {"error": (out.stderr.strip().splitlines() or ["?"])[-1]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", nargs=2, metavar=("LIB", "NAME"), help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", action="append", help="run only these benchmarks")
    parser.add_argument("--no-append", action="store_true", help="print the report, do not append to RESULTS.md")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], args.worker[1], args.threads)
        return
    names = args.only or list(BENCHMARKS)
    rows = []
    for name in names:
        values = {"terra": [], "torch": []}
        errors = {}
        for _ in range(args.rounds):
            for lib in ("terra", "torch"):
                r = measure(lib, name, args.threads)
                if "error" in r:
                    errors[lib] = r["error"]
                else:
                    values[lib].append(r["value"])
                    unit = r["unit"]
        if errors:
            rows.append(f"| {name} | error: {'; '.join(f'{k}: {v}' for k, v in errors.items())} | | | |")
            print(rows[-1], flush=True)
            continue
        t, p = statistics.median(values["terra"]), statistics.median(values["torch"])
        speed = p / t if unit == "ns/op" else t / p
        rows.append(f"| {name} | {t:.1f} {unit} | {p:.1f} {unit} | {speed:.2f} | "
                    f"{min(values['terra']):.1f}–{max(values['terra']):.1f} / "
                    f"{min(values['torch']):.1f}–{max(values['torch']):.1f} |")
        print(rows[-1], flush=True)
    commit = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    report = [
        f"\n## Python eager vs PyTorch 1.13 eager — {datetime.datetime.now():%Y-%m-%d %H:%M}, commit {commit}",
        "",
        f"Machine: {cpu}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}; {args.threads} threads each; "
        f"medians of {args.rounds} rounds (fresh processes, alternating). Speed-up = PyTorch time / Terra time "
        "(per op) or Terra steps/s / PyTorch steps/s: above 1 Terra is faster.",
        "",
        "| benchmark | Terra | PyTorch | speed-up | range Terra / PyTorch |",
        "| --- | --- | --- | --- | --- |",
        *rows,
    ]
    text = "\n".join(report) + "\n"
    print(text)
    if not args.no_append:
        with open(os.path.join(HERE, "RESULTS.md"), "a") as f:
            f.write(text)


if __name__ == "__main__":
    main()
