"""REINFORCE on a cart-pole written in numpy: the policy network runs on every environment step,
actions are sampled by numpy from its probabilities, one episode per training step.

The policy is float64. Policy-gradient training is chaotic: under PyTorch alone, float32
parameters perturbed by 1e-7 relative give losses 1e-4 apart after 40 episodes and different
episodes by 80, so float32 rounding differences between engines would make runs incomparable. In
float64, PyTorch and Terra agree to ~1e-8 after 100 episodes (the full run's count) and still
part by 200: keep --steps near 100 where losses are compared.

    python3 reinforce.py --steps 30            # PyTorch
    terra run --as-torch reinforce.py --steps 30   # Terra
"""
import numpy as np
import torch
import torch.nn as nn

import bench_support


class CartPole:
    """The classic cart-pole dynamics (Barto, Sutton and Anderson 1983), explicit Euler, dt 0.02."""

    def __init__(self, rng):
        self.rng = rng

    def reset(self):
        self.state = self.rng.uniform(-0.05, 0.05, size=4)
        return self.state

    def step(self, action):
        x, x_dot, theta, theta_dot = self.state
        force = 10.0 if action == 1 else -10.0
        cos, sin = np.cos(theta), np.sin(theta)
        temp = (force + 0.05 * theta_dot ** 2 * sin) / 1.1
        theta_acc = (9.8 * sin - cos * temp) / (0.5 * (4.0 / 3.0 - 0.1 * cos ** 2 / 1.1))
        x_acc = temp - 0.05 * theta_acc * cos / 1.1
        self.state = self.state + 0.02 * np.array([x_dot, x_acc, theta_dot, theta_acc])
        done = abs(self.state[0]) > 2.4 or abs(self.state[2]) > 0.2095
        return self.state, done


def discounted_returns(rewards, gamma=0.99):
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return (returns - returns.mean()) / (returns.std() + 1e-6)


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=30, warmup=3)
    parser.add_argument("--max-episode-steps", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    env = CartPole(rng)
    policy = bench_support.prepare(nn.Sequential(nn.Linear(4, 32), nn.Tanh(), nn.Linear(32, 2)).double(), args)
    optimizer = torch.optim.Adam(policy.parameters(), lr=1e-2)
    clock = bench_support.StepClock(args)
    for _ in clock:
        observation, log_probs = env.reset(), []
        for _ in range(args.max_episode_steps):
            logits = policy(torch.from_numpy(observation).to(args.device))
            log_p = torch.log_softmax(logits, dim=-1)
            action = int(rng.random() > np.exp(log_p[0].item()))
            log_probs.append(log_p[action])
            observation, done = env.step(action)
            if done:
                break
        returns = torch.from_numpy(discounted_returns(np.ones(len(log_probs)))).to(args.device)
        loss = -(torch.stack(log_probs) * returns).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    clock.report(loss)


if __name__ == "__main__":
    main()
