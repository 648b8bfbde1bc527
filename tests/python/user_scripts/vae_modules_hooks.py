"""VAE on digits: ModuleList, ModuleDict, Sequential(OrderedDict), forward hooks collecting
activations, register_buffer, state_dict / load_state_dict(strict=False), no_grad evaluation,
manual_seed and a torch.Generator for the reparameterisation noise (replaced by numpy noise for
comparisons)."""
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits

torch.manual_seed(0)
gen = torch.Generator().manual_seed(123)
X = torch.from_numpy((load_digits().data[:256] / 16.0).astype(np.float32))
noise_rng = np.random.default_rng(9)


class Encoder(nn.Module):
    def __init__(self, sizes, latent):
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.heads = nn.ModuleDict({"mu": nn.Linear(sizes[-1], latent), "logvar": nn.Linear(sizes[-1], latent)})

    def forward(self, x):
        for layer in self.layers:
            x = F.softplus(layer(x))
        return self.heads["mu"](x), self.heads["logvar"](x)


class VAE(nn.Module):
    def __init__(self, latent=4):
        super().__init__()
        self.encoder = Encoder([64, 48, 32], latent)
        self.decoder = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(latent, 32)), ("act1", nn.Tanh()),
            ("fc2", nn.Linear(32, 64)),
        ]))
        self.register_buffer("data_mean", X.mean(0))
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))

    def forward(self, x, eps):
        mu, logvar = self.encoder(x - self.data_mean)
        z = mu + eps * torch.exp(0.5 * logvar)
        if self.training:
            self.steps += 1
        return self.decoder(z) + self.data_mean, mu, logvar


model = VAE()
wrng = np.random.default_rng(1)
with torch.no_grad():
    for name, p in model.named_parameters():
        p.copy_(torch.tensor(wrng.uniform(-0.3, 0.3, size=tuple(p.shape)), dtype=torch.float32))
print("modules", [n for n, _ in model.named_modules()][:8])
print("buffers", {n: tuple(b.shape) for n, b in model.named_buffers()})

activations = {}


def save_activation(name):
    def hook(module, inputs, output):
        activations[name] = output.detach()
    return hook


handles = [model.decoder.act1.register_forward_hook(save_activation("act1"))]
for i, layer in enumerate(model.encoder.layers):
    handles.append(layer.register_forward_hook(save_activation(f"enc{i}")))

opt = torch.optim.RMSprop(model.parameters(), lr=3e-3, alpha=0.9)
for epoch in range(3):
    perm = noise_rng.permutation(len(X))
    total = 0.0
    for i in range(0, len(X), 64):
        xb = X[torch.from_numpy(perm[i:i + 64])]
        eps = torch.from_numpy(noise_rng.standard_normal((xb.shape[0], 4)).astype(np.float32))
        recon, mu, logvar = model(xb, eps)
        rec = F.mse_loss(recon, xb, reduction="sum") / xb.shape[0]
        kld = -0.5 * torch.mean(torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=1))
        loss = rec + 0.5 * kld
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item()
    acts = {k: round(v.abs().mean().item(), 5) for k, v in sorted(activations.items())}
    print(f"epoch {epoch} loss {total / 4:.5f} acts {acts}")
for h in handles:
    h.remove()
activations.clear()

# a torch.Generator drives sampling; only shapes and determinism are checked
z1 = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
z2 = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
print("generator deterministic", torch.equal(z1, z2), tuple(torch.randn(2, 2, generator=gen).shape))

model.eval()
with torch.no_grad():
    recon, mu, _ = model(X[:32], torch.zeros(32, 4))
    eval_loss = F.mse_loss(recon, X[:32]).item()
print(f"eval mse {eval_loss:.6f} steps {int(model.steps)} hooks left {len(activations)}")

state = model.state_dict()
print("state keys", list(state)[:6], len(state))
# a new model with an extra head: strict=False reports what did not match
class VAE2(VAE):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(4, 2)


state.pop("decoder.fc2.bias")
other = VAE2()
result = other.load_state_dict(state, strict=False)
print("missing", sorted(result.missing_keys), "unexpected", result.unexpected_keys)
try:
    other.load_state_dict(state)
except RuntimeError as e:
    print("strict load failed:", str(e).splitlines()[0][:40])
with torch.no_grad():
    other.decoder.fc2.bias.copy_(model.decoder.fc2.bias)
    other.eval()
    same = torch.allclose(other(X[:8], torch.zeros(8, 4))[0], model(X[:8], torch.zeros(8, 4))[0])
print("reloaded model matches", same, "steps", other.steps.item())
