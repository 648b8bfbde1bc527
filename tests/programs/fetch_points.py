"""Every kind of fetch inside the loop, each one a place where Python reads a value the graph
computes: int() and float() of 0-dim tensors, a tensor as a list index (__index__), np.asarray
(__array__), .numpy() and bytes through memoryview, .tolist(), format() of a 0-dim tensor, bool()
in a while condition, a comparison the program branches on, and the data-dependent shapes of
nonzero() and masked_select() used by Python (len, a loop bound)."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(41)
model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.05)
weights = [0.5, 1.0, 1.5]
best = float("inf")
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((12, 6)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 3, size=12))
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    opt.zero_grad()
    loss.backward()
    opt.step()

    top = logits.argmax(dim=1)
    scale = weights[top[0]]  # __index__
    wrong = int((top != labels).sum())  # int()
    confident = (logits.softmax(dim=1).max(dim=1).values > 0.4).nonzero()
    picked = logits.detach().masked_select(logits.detach() > 0.5)
    extra = 0.0
    for i in range(len(confident)):  # a loop bound from a data-dependent shape
        extra += 0.5 ** i * picked.numel()
    halvings = 0
    shrinking = loss.detach().clone()
    while bool(shrinking > 0.6) and halvings < 8:  # bool() in a loop condition (1 or 2 passes)
        shrinking = shrinking / 2
        halvings += 1
    if loss < best:  # a comparison branched on
        best = float(loss)
    as_array = np.asarray(logits.detach())  # __array__
    raw = bytes(memoryview(model[2].bias.detach().numpy()))  # the buffer protocol
    report(f"step {step} loss {format(loss.item(), '.6f')} wrong {wrong} scale", scale)
    report(f"step {step} confident {len(confident)} picked {picked.numel()} extra", extra)
    report(f"step {step} halvings {halvings} best", best)
    report(f"step {step} array sum", float(as_array.sum()))
    report(f"step {step} bias bytes", list(np.frombuffer(raw, dtype=np.float32)))
    report(f"step {step} first row", logits[0].tolist())
    report(f"step {step} formatted", f"{loss.detach():.5f}")
finish(model, opt)
