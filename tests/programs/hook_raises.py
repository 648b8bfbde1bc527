"""An exception raised inside backward() by a tensor hook (every fourth step, from a Python
counter) and caught by the loop, which then skips the update: the gradient ops before the hook
ran, the rest of backward did not, and training goes on."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(101)
model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
calls = [0]


class SkipStep(Exception):
    pass


def guard(grad):
    calls[0] += 1
    if calls[0] % 4 == 0:
        raise SkipStep(f"call {calls[0]}")
    return grad


skipped = 0
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((9, 4)).astype(np.float32))
    y = x[:, :1] - x[:, 3:]
    hidden = model[1](model[0](x))
    hidden.register_hook(guard)
    loss = F.mse_loss(model[2](hidden), y)
    opt.zero_grad()
    try:
        loss.backward()
    except SkipStep as e:
        skipped += 1
        report(f"step {step} skipped", str(e))
        continue
    opt.step()
    report(f"step {step} loss", loss.item())
report("skipped", skipped)
finish(model, opt)
