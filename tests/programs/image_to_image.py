"""A small image-to-image model built from the layers and functions scripts reach for beyond
the basics: replication and reflection padding, InstanceNorm2d, pixel_shuffle upsampling, a
bilinear skip connection (F.interpolate), an einsum channel mix, and a loss that adds a robust
quantile term, a logaddexp soft maximum and a cumprod gate. Printed every fourth step; the
median of the per-image errors is read with .item() (a fetch) and branched on."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encode = nn.Sequential(nn.ReplicationPad2d(1), nn.Conv2d(2, 8, 3), nn.InstanceNorm2d(8, affine=True),
                                    nn.ReLU(), nn.Conv2d(8, 8, 3, stride=2, padding=1))
        self.mix = nn.Parameter(torch.eye(8) + 0.05 * torch.randn(8, 8))
        self.decode = nn.Sequential(nn.ReflectionPad2d(1), nn.Conv2d(8, 8, 3), nn.PixelShuffle(2),
                                    nn.Conv2d(2, 2, 1))

    def forward(self, x):
        h = self.encode(x)
        h = torch.einsum("nchw,cd->ndhw", h, self.mix)
        skip = F.interpolate(F.avg_pool2d(x, 2), scale_factor=2, mode="bilinear", align_corners=False)
        return self.decode(h) + skip


rng = seed(53)
model = Net()
opt = torch.optim.Adam(model.parameters(), lr=0.01)
for step in range(20):
    clean = torch.from_numpy(rng.standard_normal((4, 2, 8, 8)).astype(np.float32)).cumsum(dim=3) * 0.3
    noisy = clean + 0.2 * torch.from_numpy(rng.standard_normal((4, 2, 8, 8)).astype(np.float32))
    out = model(noisy)
    errors = (out - clean).pow(2).mean(dim=(1, 2, 3))
    gate = torch.cumprod(torch.sigmoid(errors), dim=0)
    loss = errors.mean() + 0.1 * torch.quantile(errors, 0.75) + 0.01 * torch.logaddexp(errors, errors.flip(0)).max()
    loss = loss + 0.01 * gate.sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    if errors.median().item() > 1.0:
        report(f"step {step} large median error", errors.median())
    if step % 4 == 3:
        report(f"step {step} loss", loss.item())
finish(model, opt)
