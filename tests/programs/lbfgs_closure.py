"""torch.optim.LBFGS with a closure: a small float64 MLP fits the next value of a synthetic time
series from a window of past values. Each outer step calls optimizer.step(closure), which
evaluates the closure (forward, backward) up to max_iter=4 times and fewer once the loss stops
changing by tolerance_change, a trip count decided on fetched values inside the optimizer; the
running count of evaluations is printed with the loss every step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(29)
t = np.arange(120, dtype=np.float64)
series = np.sin(0.3 * t) + 0.5 * np.cos(0.11 * t) + 0.05 * rng.standard_normal(t.shape)
window = 6
x = torch.from_numpy(np.stack([series[i:i + window] for i in range(len(series) - window)]))
y = torch.from_numpy(series[window:]).unsqueeze(1)
model = nn.Sequential(nn.Linear(window, 16), nn.Tanh(), nn.Linear(16, 1)).double()
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=4, history_size=5,
                              tolerance_change=1e-6)
evaluations = 0
for step in range(20):
    def closure():
        global evaluations
        evaluations += 1
        optimizer.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        return loss
    loss = optimizer.step(closure)
    report(f"step {step} evaluations {evaluations} loss", loss.item())
finish(model, optimizer)
