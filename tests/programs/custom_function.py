"""Custom autograd Functions in a training loop: a straight-through sign quantizer on the hidden
layer (forward rounds, backward passes the gradient where |x| <= 1), a gradient reversal layer
scaled by a Python float that changes every 8 steps, and a Function with two outputs, one of
them non-differentiable, whose backward runs ops of its own and reads a saved tensor."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed


class SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.sign(x)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


class ReverseGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad):
        return -ctx.scale * grad, None


class SoftmaxWithArgmax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, logits):
        probs = torch.softmax(logits, dim=1)
        winners = probs.argmax(dim=1)
        ctx.mark_non_differentiable(winners)
        ctx.save_for_backward(probs)
        return probs, winners

    @staticmethod
    def backward(ctx, grad_probs, grad_winners):
        probs, = ctx.saved_tensors
        return probs * (grad_probs - (grad_probs * probs).sum(dim=1, keepdim=True))


rng = seed(41)
encoder = nn.Linear(6, 16)
head = nn.Linear(16, 3)
critic = nn.Linear(16, 1)
opt = torch.optim.Adam(list(encoder.parameters()) + list(head.parameters()) + list(critic.parameters()), lr=0.01)
for step in range(24):
    x = torch.from_numpy(rng.standard_normal((12, 6)).astype(np.float32))
    labels = torch.from_numpy(rng.integers(0, 3, 12))
    hidden = SignSTE.apply(encoder(x)) * 0.5 + torch.tanh(encoder(x)) * 0.5
    probs, winners = SoftmaxWithArgmax.apply(head(hidden))
    adversary = critic(ReverseGrad.apply(hidden, 0.1 * (1 + step // 8))).pow(2).mean()
    loss = F.nll_loss(torch.log(probs + 1e-6), labels) + adversary
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 6 == 5:
        report(f"step {step} loss", loss.item())
        report(f"step {step} accuracy", (winners == labels).float().mean().item())
finish(encoder, head, critic, opt)
