"""A training loop inside a class, as libraries write it: fit() runs epochs of an inner batch loop
(the hot loop is the inner one, entered again every epoch), train_step() is a method that updates
attributes (a step counter, a running loss, a history list), a property computes the learning rate
that a scheduler-like method writes into the optimizer, __call__ runs the model, and an evaluate()
method under no_grad ends each epoch."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

rng = seed(59)


class Trainer:
    def __init__(self, model, base_lr):
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=base_lr, momentum=0.9)
        self.base_lr = base_lr
        self.steps = 0
        self.running = None
        self.history = []

    @property
    def lr(self):
        return self.base_lr / (1 + 0.1 * self.steps)

    def __call__(self, x):
        return self.model(x)

    def adjust(self):
        for group in self.opt.param_groups:
            group["lr"] = self.lr

    def train_step(self, x, y):
        loss = F.mse_loss(self(x), y)
        self.opt.zero_grad()
        loss.backward()
        self.adjust()
        self.opt.step()
        self.steps += 1
        value = loss.item()
        self.running = value if self.running is None else 0.8 * self.running + 0.2 * value
        self.history.append(loss.detach())
        return value

    def evaluate(self, x, y):
        with torch.no_grad():
            return F.mse_loss(self(x), y).item()

    def fit(self, data, target, epochs, batch):
        for epoch in range(epochs):
            order = rng.permutation(data.shape[0])
            for start in range(0, data.shape[0], batch):
                idx = torch.from_numpy(order[start:start + batch])
                self.train_step(data[idx], target[idx])
            report(f"epoch {epoch} eval", self.evaluate(data, target))
            report(f"epoch {epoch} running", self.running)


data = torch.from_numpy(rng.standard_normal((60, 3)).astype(np.float32))
target = (data[:, :1] * 2 + data[:, 1:2] ** 2).contiguous()
trainer = Trainer(nn.Sequential(nn.Linear(3, 16), nn.ReLU(), nn.Linear(16, 1)), base_lr=0.05)
trainer.fit(data, target, epochs=5, batch=12)
report("steps", trainer.steps)
report("last losses", [h.item() for h in trainer.history[-3:]])
finish(trainer.model, trainer.opt)
