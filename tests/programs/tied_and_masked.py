"""Tied weights (the decoder reuses the embedding's matrix), backward(retain_graph=True) twice on
one graph, zero_grad(set_to_none=False) (gradients zeroed in place), masked assignment and
index_add_ on activations (data-dependent masks), topk, and multinomial sampling from the random
stream, all inside the loop."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(73)
vocab, dim = 12, 6
embed = nn.Embedding(vocab, dim)
mix = nn.Linear(dim, dim)
params = list(embed.parameters()) + list(mix.parameters())
opt = torch.optim.SGD(params, lr=0.1, momentum=0.3)
for step in range(24):
    tokens = torch.from_numpy(rng.integers(0, vocab, size=(10,)))
    nxt = torch.roll(tokens, -1)
    h = torch.tanh(mix(embed(tokens)))
    h = h.clone()
    h[h.abs() < 0.05] = 0.0  # masked assignment
    h.index_add_(0, torch.tensor([0, 2]), h[1:3] * 0.1)
    logits = h @ embed.weight.t()  # tied weights
    loss = F.cross_entropy(logits, nxt)
    aux = logits.pow(2).mean() * 1e-3
    opt.zero_grad(set_to_none=False)
    loss.backward(retain_graph=True)
    aux.backward()  # through the same graph again
    opt.step()
    top = logits.detach().topk(3, dim=1)
    picks = torch.multinomial(logits.detach().softmax(dim=1), 2)
    if step % 3 == 2:
        report(f"step {step} loss", loss.item())
        report(f"step {step} top values", top.values[0].tolist())
        report(f"step {step} top index", top.indices[0].tolist())
        report(f"step {step} picks", picks[0].tolist())
        report(f"step {step} grad norm", embed.weight.grad.norm().item())
finish(embed, mix, opt)
