"""REINFORCE on a tiny numpy corridor (five cells, reward at the right end, at most 10 moves):
each move samples an action from a Categorical policy and fetches it with .item(), so episodes
have different lengths; returns are computed in numpy and the policy is updated with Adam."""
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical

from _corpus import finish, report, seed

CELLS, MAX_MOVES, GAMMA = 5, 10, 0.9


def env_step(position, action):
    position = max(0, min(CELLS - 1, position + (1 if action == 1 else -1)))
    done = position == CELLS - 1
    return position, (1.0 if done else -0.05), done


seed(18)
policy = nn.Sequential(nn.Linear(CELLS, 16), nn.Tanh(), nn.Linear(16, 2))
opt = torch.optim.Adam(policy.parameters(), lr=0.02)
eye = torch.eye(CELLS)
for episode in range(25):
    position, log_probs, rewards = 1, [], []
    for _ in range(MAX_MOVES):
        dist = Categorical(logits=policy(eye[position]))
        action = dist.sample()
        log_probs.append(dist.log_prob(action))
        position, reward, done = env_step(position, action.item())
        rewards.append(reward)
        if done:
            break
    returns = np.zeros(len(rewards), dtype=np.float32)
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + GAMMA * running
        returns[t] = running
    returns_t = torch.from_numpy(returns)
    loss = -(torch.stack(log_probs) * (returns_t - returns_t.mean())).sum()
    opt.zero_grad()
    loss.backward()
    opt.step()
    report(f"episode {episode} moves {len(rewards)} return {returns[0]:.6g} loss", loss.item())
finish(policy, opt)
