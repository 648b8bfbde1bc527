"""A replay buffer of tensors that grows by eight rows a step until it holds 64 and then slides:
the concatenated buffer's shape changes every step for the first eight, and minibatches are
drawn from it with numpy indices; a target network is refreshed every fifth step by copy_."""
import copy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(28)
net = nn.Sequential(nn.Linear(4, 24), nn.ReLU(), nn.Linear(24, 1))
target_net = copy.deepcopy(net)
opt = torch.optim.RMSprop(net.parameters(), lr=2e-3)
states, rewards = [], []
for step in range(25):
    states.append(torch.from_numpy(rng.standard_normal((8, 4)).astype(np.float32)))
    rewards.append(states[-1][:, :1].tanh())
    states, rewards = states[-8:], rewards[-8:]
    pool_x, pool_r = torch.cat(states), torch.cat(rewards)
    idx = torch.from_numpy(rng.choice(len(pool_x), size=min(16, len(pool_x)), replace=False))
    with torch.no_grad():
        bootstrap = 0.5 * target_net(pool_x[idx])
    loss = F.mse_loss(net(pool_x[idx]), pool_r[idx] + bootstrap)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % 5 == 4:
        with torch.no_grad():
            for target, source in zip(target_net.parameters(), net.parameters()):
                target.copy_(source)
    report(f"step {step} pool {len(pool_x)} loss", loss.item())
finish(net, target_net, opt)
