"""Two training loops one after the other in one function: a pretraining loop trains an encoder
and a first head, then the encoder is frozen with requires_grad_(False) and a second loop (another
hot loop, found after the first one ended) trains a second head with its own optimizer; the
encoder's weights are re-initialised under no_grad before the second phase."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(61)
encoder = nn.Sequential(nn.Linear(6, 10), nn.GELU())
head_a = nn.Linear(10, 2)
head_b = nn.Linear(10, 1)


def batch():
    x = torch.from_numpy(rng.standard_normal((16, 6)).astype(np.float32))
    return x, torch.stack([x[:, 0] + x[:, 1], x[:, 2] * x[:, 3]], dim=1), x[:, 4:5].sin()


def main():
    opt_a = torch.optim.Adam(list(encoder.parameters()) + list(head_a.parameters()), lr=0.01)
    for step in range(14):
        x, ya, _ = batch()
        loss = F.mse_loss(head_a(encoder(x)), ya)
        opt_a.zero_grad()
        loss.backward()
        opt_a.step()
        report(f"pretrain {step}", loss.item())
    with torch.no_grad():
        encoder[0].bias.normal_(0.0, 0.1)
    encoder.requires_grad_(False)
    opt_b = torch.optim.SGD(head_b.parameters(), lr=0.1, momentum=0.5)
    for step in range(14):
        x, _, yb = batch()
        loss = F.mse_loss(head_b(encoder(x)), yb)
        opt_b.zero_grad()
        loss.backward()
        opt_b.step()
        report(f"finetune {step} encoder grad {encoder[0].weight.grad is None}", loss.item())
    return opt_a, opt_b


opt_a, opt_b = main()
finish(encoder, head_a, head_b, opt_a, opt_b)
