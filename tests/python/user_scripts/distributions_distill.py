"""Distributions and distillation on scikit-learn tables: a VAE with Normal, kl_divergence and
Independent (noise drawn by numpy, rsample-style), ReduceLROnPlateau with Adamax; a mixture density
network (MixtureSameFamily, Categorical) with NAdam; a focal loss from gather and log_softmax with
Adagrad; distillation with KLDivLoss(log_target) and a temperature, with RAdam."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Normal, Categorical, kl_divergence, Independent, MixtureSameFamily
from sklearn.datasets import load_iris, load_diabetes

rng = np.random.default_rng(1)

def np_init(m, rng, s=0.2):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(rng.normal(0, s, size=tuple(p.shape)).astype(np.float32)))

# ---- VAE on diabetes features ----
X, y = load_diabetes(return_X_y=True)
X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
Xt = torch.from_numpy(X)
class VAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(10, 32), nn.ELU())
        self.mu = nn.Linear(32, 3)
        self.logvar = nn.Linear(32, 3)
        self.dec = nn.Sequential(nn.Linear(3, 32), nn.GELU(), nn.Linear(32, 10))
        self.dec_logstd = nn.Parameter(torch.zeros(10))
    def forward(self, x, eps):
        h = self.enc(x)
        mu, logvar = self.mu(h), self.logvar(h).clamp(-6, 4)
        q = Normal(mu, torch.exp(0.5 * logvar))
        z = mu + eps * q.stddev
        p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
        kl = kl_divergence(q, p).sum(-1)
        xh = self.dec(z)
        lik = Independent(Normal(xh, self.dec_logstd.exp()), 1)
        rec = lik.log_prob(x)
        return (kl - rec).mean(), kl.mean(), rec.mean()
vae = VAE(); np_init(vae, rng)
opt = torch.optim.Adamax(vae.parameters(), lr=5e-3)
sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3, threshold=1e-3)
n = X.shape[0]
for ep in range(30):
    perm = torch.from_numpy(rng.permutation(n))
    tot = 0.0
    for i in range(0, n, 64):
        idx = perm[i:i+64]
        xb = Xt[idx]
        eps = torch.from_numpy(rng.normal(size=(len(idx), 3)).astype(np.float32))
        loss, kl, rec = vae(xb, eps)
        opt.zero_grad(); loss.backward(); opt.step()
        tot += loss.item() * len(idx)
    sched.step(tot / n)
    if ep % 5 == 0 or ep == 29:
        print(f"vae ep {ep} loss {tot/n:.5f} kl {kl.item():.5f} rec {rec.item():.5f} lr {opt.param_groups[0]['lr']:.6f}")

# ---- MDN on 1-D inverse problem ----
N = 400
yv = rng.uniform(-1, 1, N).astype(np.float32)
xv = (yv + 0.3 * np.sin(2 * np.pi * yv) + rng.normal(0, 0.05, N)).astype(np.float32)
xm, ym = torch.from_numpy(xv)[:, None], torch.from_numpy(yv)
K = 3
mdn = nn.Sequential(nn.Linear(1, 24), nn.Tanh(), nn.Linear(24, 3 * K)); np_init(mdn, rng, 0.5)
opt2 = torch.optim.NAdam(mdn.parameters(), lr=1e-2)
for step in range(150):
    out = mdn(xm)
    logits, mu, ls = out.split(K, dim=-1)
    mix = MixtureSameFamily(Categorical(logits=logits), Normal(mu, F.softplus(ls) + 1e-3))
    nll = -mix.log_prob(ym).mean()
    opt2.zero_grad(); nll.backward(); opt2.step()
    if step % 25 == 0 or step == 149:
        ent = Categorical(logits=logits).entropy().mean()
        print(f"mdn {step} nll {nll.item():.5f} ent {ent.item():.5f} mean {mix.mean[:3].tolist()}")

# ---- Knowledge distillation + focal loss on iris ----
Xi, yi = load_iris(return_X_y=True)
Xi = ((Xi - Xi.mean(0)) / Xi.std(0)).astype(np.float32)
Xi, yi = torch.from_numpy(Xi), torch.from_numpy(yi)
teacher = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 3)); np_init(teacher, rng, 0.3)
student = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)); np_init(student, rng, 0.3)

def focal_loss(logits, target, gamma=2.0, alpha=None):
    logp = F.log_softmax(logits, dim=-1)
    logpt = logp.gather(1, target.unsqueeze(1)).squeeze(1)
    pt = logpt.exp()
    loss = -((1 - pt).pow(gamma)) * logpt
    if alpha is not None:
        loss = loss * alpha[target]
    return loss.mean()

alpha = torch.tensor([1.0, 1.5, 1.5])
optT = torch.optim.Adagrad(teacher.parameters(), lr=0.1, lr_decay=1e-3, weight_decay=1e-4)
for step in range(100):
    lt = teacher(Xi)
    loss = focal_loss(lt, yi, 2.0, alpha)
    optT.zero_grad(); loss.backward(); optT.step()
    if step % 20 == 0:
        acc = (lt.argmax(1) == yi).float().mean()
        print(f"teacher {step} focal {loss.item():.6f} acc {acc.item():.4f}")

T = 3.0
kld = nn.KLDivLoss(reduction="batchmean", log_target=True)
optS = torch.optim.RAdam(student.parameters(), lr=2e-2)
teacher.eval()
with torch.no_grad():
    tlog = F.log_softmax(teacher(Xi) / T, dim=-1)
for step in range(120):
    ls_ = student(Xi)
    kd = kld(F.log_softmax(ls_ / T, dim=-1), tlog) * T * T
    ce = F.cross_entropy(ls_, yi, label_smoothing=0.1)
    loss = 0.7 * kd + 0.3 * ce
    optS.zero_grad(); loss.backward(); optS.step()
    if step % 20 == 0 or step == 119:
        print(f"student {step} kd {kd.item():.6f} ce {ce.item():.6f}")
kl2 = F.kl_div(F.log_softmax(student(Xi), -1), F.softmax(teacher(Xi), -1), reduction="sum")
print(f"final kl_div(no log_target) {kl2.item():.5f}")
