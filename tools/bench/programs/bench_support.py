"""What every benchmark program shares: its command line, numpy-seeded weights, the timed loop
and the result line the harness (tools/bench/run) reads (result_line.py).

The programs import `torch`; under `terra run --as-torch` that is Terra, so nothing here may use
PyTorch-only API. Weights and data come from numpy with the seed, never from torch's random
streams (Terra's Philox streams differ from PyTorch's), so every engine trains the same model on
the same data and their final losses can be compared.
"""
import argparse
import importlib.util
import os
import time

import numpy as np
import torch

import result_line

REPO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
DEFAULT_TEXT = os.path.join(REPO, "..", "shared", "data", "wikitext-2", "valid.txt")
FALLBACK_TEXT = "/usr/share/common-licenses/GPL-3"


def argument_parser(description, steps, warmup):
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--steps", type=int, default=steps, help="timed steps (default: %(default)s)")
    parser.add_argument("--warmup", type=int, default=warmup, help="untimed steps first (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="run the model through torch.compile (PyTorch 2)")
    return parser


def add_text_arguments(parser):
    """--data and --vocab, for the language models (tokenized by examples/word_lm.py)."""
    default = DEFAULT_TEXT if os.path.exists(DEFAULT_TEXT) else FALLBACK_TEXT
    parser.add_argument("--data", default=default, help="a text file (default: %(default)s)")
    parser.add_argument("--vocab", type=int, default=5000, help="words kept, the rest are <unk>")


def example(name):
    """The module examples/NAME.py, for programs that benchmark an example's model. Loaded from its
    path, not by name: digits_cnn.py here would shadow the example of the same name."""
    spec = importlib.util.spec_from_file_location(f"examples.{name}", os.path.join(REPO, "examples", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def seed_parameters(model, seed):
    """Overwrites every parameter with numpy's uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)), except
    those set to all zeros or all ones (LayerNorm's, zero-initialized positions), which are the
    same under every engine already."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in model.parameters():
            values = p.detach().cpu().numpy()
            if np.all(values == 0.0) or np.all(values == 1.0):
                continue
            fan_in = int(np.prod(values.shape[1:])) if values.ndim > 1 else values.shape[0]
            bound = 1.0 / np.sqrt(fan_in)
            p.copy_(torch.from_numpy(rng.uniform(-bound, bound, values.shape).astype(values.dtype)))
    return model


def prepare(model, args):
    """The model seeded, on the program's device, compiled when --compile asks for it."""
    if str(args.device).startswith("cuda"):
        # Float32 convolutions in float32 under every engine (Terra's default; PyTorch's is TF32),
        # so that the engines compute the same thing and their losses can be compared.
        torch.backends.cudnn.allow_tf32 = False
    model = seed_parameters(model, args.seed).to(args.device)
    return torch.compile(model) if args.compile else model


def synchronize():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class StepClock:
    """Iterating gives the step numbers 0 .. warmup + steps - 1; the clock starts when the first
    timed step begins and stops in report(), after the final loss has been read (so queued device
    work is inside the timed span)."""

    def __init__(self, args):
        self.warmup = args.warmup
        self.steps = args.steps
        self.start = None

    def __iter__(self):
        for step in range(self.warmup + self.steps):
            if step == self.warmup:
                synchronize()
                self.start = time.perf_counter()
            yield step

    def report(self, final_loss):
        loss = float(final_loss)
        synchronize()
        seconds = time.perf_counter() - self.start
        print(result_line.format_line(self.steps, seconds, loss), flush=True)
