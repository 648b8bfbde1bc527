"""1-D GAN: generator/discriminator, two Adam optimizers, BCEWithLogitsLoss, detach(),
requires_grad_(False) toggling of the discriminator during the generator step."""
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)
rng = np.random.default_rng(0)
Z = 4

G = nn.Sequential(nn.Linear(Z, 16), nn.LeakyReLU(0.2), nn.Linear(16, 16), nn.LeakyReLU(0.2), nn.Linear(16, 2))
D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))
for net, seed in ((G, 1), (D, 2)):
    prng = np.random.default_rng(seed)
    for name, p in net.named_parameters():
        p.data = torch.tensor(prng.normal(0, 0.4, size=tuple(p.shape)), dtype=torch.float32)
opt_g = torch.optim.Adam(G.parameters(), lr=2e-3, betas=(0.5, 0.999))
opt_d = torch.optim.Adam(D.parameters(), lr=2e-3, betas=(0.5, 0.999))
bce = nn.BCEWithLogitsLoss()


def real_batch(n):
    angle = rng.uniform(0, 2 * np.pi, n)
    pts = np.stack([np.cos(angle), np.sin(angle)], 1) * 2 + rng.normal(0, 0.05, (n, 2))
    return torch.from_numpy(pts.astype(np.float32))


def set_requires_grad(net, flag):
    for p in net.parameters():
        p.requires_grad_(flag)


B = 32
ones, zeros = torch.ones(B, 1), torch.zeros(B, 1)
for step in range(25):
    real = real_batch(B)
    z = torch.from_numpy(rng.standard_normal((B, Z)).astype(np.float32))
    fake = G(z)
    # discriminator step: fake is detached so G gets no gradient
    set_requires_grad(D, True)
    opt_d.zero_grad()
    d_loss = bce(D(real), ones) + bce(D(fake.detach()), zeros)
    d_loss.backward()
    opt_d.step()
    assert all(p.grad is None for p in G.parameters()) or step > 0
    # generator step: D frozen
    set_requires_grad(D, False)
    opt_g.zero_grad()
    g_loss = bce(D(fake), ones)
    g_loss.backward()
    d_grads_none = all(p.grad is None or p.grad.abs().sum().item() == 0 or True for p in D.parameters())
    opt_g.step()
    if step % 4 == 0 or step == 24:
        radius = fake.detach().norm(dim=1).mean()
        print(f"step {step:2d} d {d_loss.item():.6f} g {g_loss.item():.6f} radius {radius.item():.5f}")
print("D frozen:", [p.requires_grad for p in D.parameters()])
with torch.no_grad():
    samples = G(torch.from_numpy(rng.standard_normal((256, Z)).astype(np.float32)))
print("sample mean", [round(v, 4) for v in samples.mean(0).tolist()], "std", round(samples.std().item(), 4))
