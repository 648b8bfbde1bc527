"""Grad mode changed inside the loop: a `with torch.no_grad()` evaluation every third step,
torch.set_grad_enabled(flag) with a flag that alternates, an enable_grad block nested in a no_grad
one, a decorator wrapping the training step, functools.partial and a context manager of the
program's own (contextlib) around the update, with try/finally."""
import contextlib
import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(53)
model = nn.Sequential(nn.Linear(4, 12), nn.Tanh(), nn.Linear(12, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.8)
events = []


@contextlib.contextmanager
def bookkeeping(name):
    events.append(f"enter {name}")
    try:
        yield
    finally:
        events.append(f"exit {name}")


def counted(fn):
    calls = [0]

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        calls[0] += 1
        return fn(*args, **kwargs)

    wrapper.calls = calls
    return wrapper


@counted
def train_step(x, y, scale):
    loss = F.mse_loss(model(x), y) * scale
    opt.zero_grad()
    loss.backward()
    with bookkeeping("step"):
        opt.step()
    return loss


step_full = functools.partial(train_step, scale=1.0)
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((10, 4)).astype(np.float32))
    y = (x[:, :1] * x[:, 1:2]).tanh()
    with torch.set_grad_enabled(step % 2 == 0):
        probe = model(x).mean()  # records autograd history on even steps only
    loss = step_full(x, y)
    if step % 3 == 0:
        with torch.no_grad():
            held_out = F.mse_loss(model(x * 0.5), y)
            with torch.enable_grad():
                tracked = model(x[:2]).sum()
        report(f"step {step} held out", held_out.item())
        report(f"step {step} tracked requires grad {tracked.requires_grad} probe grad", probe.requires_grad)
    report(f"step {step} loss", loss.item())
report("calls", train_step.calls[0])
report("events", len(events))
finish(model, opt)
