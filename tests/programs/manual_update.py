"""Hand-written SGD: `p.data.add_(p.grad, alpha=-lr)` under no_grad, gradients zeroed in place,
and the learning rate halved by hand every sixth step; the loss is printed every other step."""
import numpy as np
import torch

from _corpus import finish, report, seed

rng = seed(10)
x = torch.from_numpy(rng.standard_normal((50, 4)).astype(np.float32))
y = x @ torch.tensor([[1.5], [-2.0], [0.5], [0.0]]) + 0.3
w = torch.zeros(4, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
hidden = torch.randn(4, 4, requires_grad=True)
lr = 0.1
for step in range(30):
    if step > 0 and step % 6 == 0:
        lr *= 0.5
    pred = torch.tanh(x @ hidden) @ w + x @ w + b
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in (w, b, hidden):
            p.data.add_(p.grad, alpha=-lr)
            p.grad.zero_()
    if step % 2 == 0:
        report(f"step {step} lr {lr:g} loss", loss.item())
finish(w, b, hidden)
