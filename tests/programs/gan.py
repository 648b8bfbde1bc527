"""A GAN-style loop with two optimizers: the discriminator learns on real points from a numpy
ring of Gaussians and on detached generator samples, then the generator learns through the
discriminator; noise comes from torch.randn. Both losses are printed every second step."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(17)
generator = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
discriminator = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
opt_g = torch.optim.Adam(generator.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-3, betas=(0.5, 0.999))
ones, zeros = torch.ones(32, 1), torch.zeros(32, 1)
for step in range(25):
    angles = rng.integers(0, 8, size=32) * (np.pi / 4)
    ring = np.stack([np.cos(angles), np.sin(angles)], axis=1) + 0.05 * rng.standard_normal((32, 2))
    real = torch.from_numpy(ring.astype(np.float32))
    fake = generator(torch.randn(32, 4))

    d_loss = (F.binary_cross_entropy_with_logits(discriminator(real), ones)
              + F.binary_cross_entropy_with_logits(discriminator(fake.detach()), zeros))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()

    g_loss = F.binary_cross_entropy_with_logits(discriminator(fake), ones)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    if step % 2 == 0:
        report(f"step {step} d_loss", d_loss.item())
        report(f"step {step} g_loss", g_loss.item())
finish(generator, discriminator, opt_g, opt_d)
