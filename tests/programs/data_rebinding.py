"""Parameters rebound to new tensors with `p.data = ...` (old-style PyTorch updates, as
`vector_to_parameters` and `Module._apply` do): every step replaces each parameter's storage with
the output of an op, mid-iteration, while the ops that read the old one may still be queued. The
loss is printed every step, read only every third."""
import numpy as np
import torch

from _corpus import finish, report, seed

rng = seed(35)
x = torch.from_numpy(rng.standard_normal((32, 6)).astype(np.float32))
y = torch.from_numpy(rng.standard_normal((32, 2)).astype(np.float32))
model = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
lr = 0.05
losses = []
for step in range(24):
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.data = p.data - lr * p.grad
            p.grad = None
    losses.append(loss)
    if step % 3 == 2:
        report(f"step {step} loss", loss.item())
report("losses", torch.stack(losses))
finish(model)
