"""REINFORCE with torch.distributions.Categorical and a DQN with a deque replay buffer, target
network synced by load_state_dict, Huber loss, epsilon-greedy with Python's random, on a numpy
corridor environment."""
import random
from collections import deque

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.distributions import Categorical

random.seed(0)
torch.manual_seed(0)


class Corridor:
    """Walk left/right on 0..N-1; reward 1 at the right end, small step penalty."""

    def __init__(self, n=6, seed=0):
        self.n, self.rng = n, np.random.default_rng(seed)

    def reset(self):
        self.pos, self.t = int(self.rng.integers(0, self.n // 2)), 0
        return self.obs()

    def obs(self):
        o = np.zeros(self.n, dtype=np.float32)
        o[self.pos] = 1.0
        return o

    def step(self, action):
        self.pos = min(self.n - 1, max(0, self.pos + (1 if action == 1 else -1)))
        self.t += 1
        done = self.pos == self.n - 1 or self.t >= 12
        return self.obs(), (1.0 if self.pos == self.n - 1 else -0.05), done


def net(seed):
    m = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
    r = np.random.default_rng(seed)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.from_numpy(r.normal(0, 0.3, size=tuple(p.shape)).astype(np.float32)))
    return m


# ---- REINFORCE: actions come from numpy uniforms through the policy's cdf (same on both runtimes)
env, policy = Corridor(seed=1), net(1)
opt = torch.optim.Adam(policy.parameters(), lr=0.02)
urng = np.random.default_rng(2)
for episode in range(8):
    obs, done, log_probs, rewards, entropies = env.reset(), False, [], [], []
    while not done:
        logits = policy(torch.from_numpy(obs))
        dist = Categorical(logits=logits)
        action = torch.searchsorted(dist.probs.detach().cumsum(0), torch.tensor([urng.random()])).clamp(max=1)[0]
        log_probs.append(dist.log_prob(action))
        entropies.append(dist.entropy())
        obs, r, done = env.step(action.item())
        rewards.append(r)
    returns, g = [], 0.0
    for r in reversed(rewards):
        g = r + 0.9 * g
        returns.insert(0, g)
    returns = torch.tensor(returns)
    if len(returns) > 1:
        returns = (returns - returns.mean()) / (returns.std() + 1e-8)
    loss = -(torch.stack(log_probs) * returns).sum() - 0.01 * torch.stack(entropies).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    print(f"reinforce ep {episode} len {len(rewards)} return {sum(rewards):.2f} loss {loss.item():.6f}")
print("sample shape", tuple(Categorical(probs=torch.tensor([0.2, 0.8])).sample((5,)).shape))

# ---- DQN
env, q, target = Corridor(seed=3), net(4), net(5)
target.load_state_dict(q.state_dict())
opt = torch.optim.SGD(q.parameters(), lr=0.05, momentum=0.9)
buffer = deque(maxlen=200)
eps, step, brng = 1.0, 0, np.random.default_rng(6)
for episode in range(6):
    obs, done, ep_ret = env.reset(), False, 0.0
    while not done:
        if random.random() < eps:
            action = random.randrange(2)
        else:
            with torch.no_grad():
                action = int(q(torch.from_numpy(obs).unsqueeze(0)).argmax(1).item())
        nxt, r, done = env.step(action)
        buffer.append((obs, action, r, nxt, done))
        obs, ep_ret, step = nxt, ep_ret + r, step + 1
        if len(buffer) >= 16:
            idx = brng.choice(len(buffer), 16, replace=False)
            batch = [buffer[i] for i in idx]
            s = torch.from_numpy(np.stack([b[0] for b in batch]))
            a = torch.tensor([b[1] for b in batch])
            rew = torch.tensor([b[2] for b in batch], dtype=torch.float32)
            s2 = torch.from_numpy(np.stack([b[3] for b in batch]))
            d = torch.tensor([b[4] for b in batch], dtype=torch.float32)
            qsa = q(s).gather(1, a.unsqueeze(1)).squeeze(1)
            with torch.no_grad():
                tgt = rew + 0.9 * (1 - d) * target(s2).max(1).values
            loss = F.smooth_l1_loss(qsa, tgt)
            opt.zero_grad()
            loss.backward()
            opt.step()
        if step % 10 == 0:
            target.load_state_dict(q.state_dict())
    eps = max(0.1, eps * 0.6)
    print(f"dqn ep {episode} return {ep_ret:.2f} buffer {len(buffer)} eps {eps:.3f} last loss {loss.item():.6f}")
with torch.no_grad():
    qs = q(torch.eye(6))
print("greedy policy", qs.argmax(1).tolist(), "q max", round(qs.max().item(), 4))
