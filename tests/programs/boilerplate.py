"""The boilerplate around real training scripts: device selection through torch.cuda.is_available()
and .to(device), torch.backends.cudnn.benchmark, torch.set_num_threads, an evaluation function
decorated with torch.no_grad(), torch.inference_mode(), model.train(False)/train(), reading the
learning rate from optimizer.param_groups, a CosineAnnealingLR scheduler, and formatted prints."""
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(83)
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
torch.backends.cudnn.benchmark = True
torch.set_num_threads(torch.get_num_threads())
model = nn.Sequential(nn.Linear(5, 20), nn.LeakyReLU(0.1), nn.Dropout(0.0), nn.Linear(20, 2)).to(device)
opt = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=0.01)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
x_val = torch.from_numpy(rng.standard_normal((32, 5)).astype(np.float32)).to(device)
y_val = (x_val[:, :2] * 2).to(device)


@torch.no_grad()
def evaluate():
    model.train(False)
    loss = F.mse_loss(model(x_val), y_val)
    model.train()
    return loss.item()


started = time.perf_counter()
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((16, 5)).astype(np.float32)).to(device, non_blocking=True)
    y = x[:, :2] * 2
    model.train()
    loss = F.mse_loss(model(x), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    lr = opt.param_groups[0]["lr"]
    if step % 4 == 3:
        with torch.inference_mode():
            probe = model(x_val[:4]).sum().item()
        print(f"step {step:3d} | loss {loss.item():.6f} | val {evaluate():.6f} | lr {lr:.6f} | probe {probe:.5f}")
elapsed = time.perf_counter() - started  # not printed: it differs from run to run
report("elapsed is a float", isinstance(elapsed, float))
finish(model, opt)
