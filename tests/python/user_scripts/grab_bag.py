"""Grab bag: parametrizations (weight_norm, orthogonal, spectral_norm, custom), utils.checkpoint,
cuda-guarded device code, cudnn.benchmark, set_num_threads, numpy round trips, torch.where, fancy
indexing and masked assignment, einsum, cat/stack in loops, printed tensors and f-strings."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as P
from torch.nn.utils import parametrizations
from torch.utils.checkpoint import checkpoint

torch.set_num_threads(1)
torch.backends.cudnn.benchmark = True
torch.backends.cudnn.deterministic = True
device = "cuda" if torch.cuda.is_available() else "cpu"
print("threads", torch.get_num_threads(), "device", device)
rng = np.random.default_rng(0)


def t(*shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(-1, -2)


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6)
        self.b = nn.Linear(6, 6)
        self.c = nn.Linear(6, 6)

    def forward(self, x):
        return torch.tanh(self.c(torch.relu(self.b(torch.relu(self.a(x))))))


block = Block()
with torch.no_grad():
    for p in block.parameters():
        p.copy_(t(*p.shape) * 0.4)
P.register_parametrization(block.b, "weight", Symmetric())
print("symmetric", torch.allclose(block.b.weight, block.b.weight.T), "parametrized", P.is_parametrized(block.b))
wn = parametrizations.weight_norm(block.a) if hasattr(parametrizations, "weight_norm") else nn.utils.weight_norm(block.a)
print("weight_norm params", sorted(n for n, _ in block.a.named_parameters()))
orth = parametrizations.orthogonal(nn.Linear(5, 5))
Q = orth.weight
print("orthogonal", torch.allclose(Q @ Q.T, torch.eye(5), atol=1e-5))
sn = parametrizations.spectral_norm(nn.Linear(4, 4))
print("spectral_norm has u", hasattr(sn.parametrizations.weight[0], "_u"))

opt = torch.optim.SGD(block.parameters(), lr=0.05)
x = t(8, 6)
for step in range(4):
    x_in = x.clone().requires_grad_(True)
    y = checkpoint(block, x_in, use_reentrant=False)
    loss = (y ** 2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"step {step} loss {loss.item():.6f} xgrad {x_in.grad.norm().item():.6f}")
print("still symmetric", torch.allclose(block.b.weight, block.b.weight.T))
with P.cached():
    w1 = block.b.weight
    w2 = block.b.weight
print("cached same object", w1 is w2)
P.remove_parametrizations(block.b, "weight", leave_parametrized=True)
print("after remove", type(block.b.weight).__name__, P.is_parametrized(block.b))

# numpy round trips share memory
arr = np.arange(6, dtype=np.float32).reshape(2, 3)
ten = torch.from_numpy(arr)
ten[0, 0] = 100.0
print("shared", arr[0, 0], ten.numpy().dtype, ten.numpy().shape, np.asarray(ten * 2).tolist())
back = ten.detach().cpu().numpy()
back[1, 1] = -1
print("numpy view", ten[1, 1].item())

# where, fancy indexing, masked assignment
a = torch.arange(12.0).reshape(3, 4)
print(torch.where(a > 5, a, torch.zeros_like(a)))
print(torch.where(a % 2 == 0, a, -1.0))
a[a > 8] = 0.5
a[[0, 2], [1, 3]] = torch.tensor([-1.0, -2.0])
a[:, torch.tensor([True, False, True, False])] *= 10
print(a)
idx = torch.tensor([[0, 1], [2, 0]])
print(a[idx].shape, a[1:, [0, 2]], a[..., -1])
rows, cols = torch.nonzero(a < 0, as_tuple=True)
print("negatives at", list(zip(rows.tolist(), cols.tolist())))
m = a.masked_fill(a > 10, float("-inf")).softmax(-1)
print("masked softmax rows", [round(v, 4) for v in m.sum(-1).tolist()])

# einsum
A, B = t(2, 3, 4), t(2, 4, 5)
print("einsum bmm", torch.allclose(torch.einsum("bij,bjk->bik", A, B), A @ B, atol=1e-6))
print("einsum trace", round(torch.einsum("ii", t(4, 4)).item(), 5), torch.einsum("i,j->ij", torch.ones(2), torch.arange(3.0)))
attn = torch.einsum("bhqd,bhkd->bhqk", t(1, 2, 3, 4), t(1, 2, 5, 4))
print("attn", tuple(attn.shape), round(attn.sum().item(), 4))

# cat / stack in Python loops
outs = []
h = torch.zeros(1, 3)
for i in range(4):
    h = torch.tanh(h + float(i) * torch.ones(1, 3) * 0.1)
    outs.append(h)
seq = torch.cat(outs, dim=0)
stacked = torch.stack([o.squeeze(0) for o in outs], dim=1)
print(seq.shape, stacked.shape, torch.equal(seq.T, stacked))
print(f"mean={seq.mean().item():.5f} max={seq.max():.4f} argmax={seq.argmax().item()} int={int(seq.sum() * 100)}")
print(torch.tensor([1.5, -2.25, 3.0]), torch.tensor([[1, 2], [3, 4]]), torch.tensor(3.14159))
print(torch.tensor([True, False]), torch.zeros(2, 2, dtype=torch.float64), torch.tensor([1e-5, 1e5]))
print(repr(torch.ones(2, requires_grad=True) * 2))
print(torch.linspace(0, 1, 5), torch.arange(3).float().mean())
