"""A DQN-style loop: a replay buffer (a deque of numpy transitions, as DQN code keeps them)
sampled with Python's random module and stacked into tensors with torch.from_numpy, an
epsilon-greedy action from argmax().item(), a target network made with copy.deepcopy and synced
with load_state_dict every fifth step, Q-values picked with gather, smooth_l1_loss, an EMA copy of
the weights updated in place under no_grad, and ModuleList / ModuleDict / register_buffer in the
model."""
import copy
import random
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(79)
random.seed(79)


class QNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.ModuleList([nn.Linear(4, 16), nn.Linear(16, 16)])
        self.heads = nn.ModuleDict({"value": nn.Linear(16, 1), "advantage": nn.Linear(16, 3)})
        self.register_buffer("calls", torch.zeros(()))

    def forward(self, x):
        self.calls += 1
        for layer in self.body:
            x = F.relu(layer(x))
        adv = self.heads["advantage"](x)
        return self.heads["value"](x) + adv - adv.mean(dim=1, keepdim=True)


online = QNet()
target = copy.deepcopy(online)
ema = copy.deepcopy(online)
opt = torch.optim.Adam(online.parameters(), lr=0.005)
buffer = deque(maxlen=64)
state = rng.standard_normal(4).astype(np.float32)
for step in range(30):
    with torch.no_grad():
        greedy = online(torch.from_numpy(state).unsqueeze(0)).argmax(dim=1).item()
    action = greedy if random.random() > 0.2 else random.randrange(3)
    nxt = rng.standard_normal(4).astype(np.float32) * 0.5 + state * 0.5
    reward = float(state[action % 4]) - 0.1 * action
    buffer.append((state, action, reward, nxt))
    state = nxt
    if len(buffer) < 8:
        continue
    batch = random.sample(list(buffer), 8)
    states = torch.from_numpy(np.stack([b[0] for b in batch]))
    actions = torch.tensor([b[1] for b in batch]).unsqueeze(1)
    rewards = torch.tensor([b[2] for b in batch], dtype=torch.float32)
    nexts = torch.from_numpy(np.stack([b[3] for b in batch]))
    q = online(states).gather(1, actions).squeeze(1)
    with torch.no_grad():
        goal = rewards + 0.9 * target(nexts).max(dim=1).values
    loss = F.smooth_l1_loss(q, goal)
    opt.zero_grad()
    loss.backward()
    opt.step()
    with torch.no_grad():
        for e, p in zip(ema.parameters(), online.parameters()):
            e.mul_(0.9).add_(p, alpha=0.1)
    if step % 5 == 0:
        target.load_state_dict(online.state_dict())
    report(f"step {step} action {action} loss", loss.item())
report("calls", online.calls.item())
finish(online, target, ema, opt)
