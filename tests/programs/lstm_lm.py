"""A character-level nn.LSTM language model on the GPL's text with truncated backpropagation
through time: the hidden state is carried across iterations through detach(), gradients are
clipped with clip_grad_norm_, and the loss is printed every third step."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from _corpus import finish, report, seed

seed(3)
with open("/usr/share/common-licenses/GPL-3", encoding="utf-8") as f:
    text = f.read(6000)
alphabet = sorted(set(text))
ids = torch.tensor([alphabet.index(c) for c in text], dtype=torch.int64)
batch, bptt = 8, 12
columns = ids[: (len(ids) // batch) * batch].view(batch, -1).t().contiguous()  # (time, batch)


class CharLM(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.lstm = nn.LSTM(16, 32)
        self.out = nn.Linear(32, vocab)

    def forward(self, tokens, state):
        hidden, state = self.lstm(self.embed(tokens), state)
        return self.out(hidden), state


model = CharLM(len(alphabet))
opt = torch.optim.Adam(model.parameters(), lr=0.01)
state = (torch.zeros(1, batch, 32), torch.zeros(1, batch, 32))
for step in range(25):
    chunk = columns[step * bptt: step * bptt + bptt + 1]
    state = tuple(s.detach() for s in state)
    logits, state = model(chunk[:-1], state)
    loss = F.cross_entropy(logits.reshape(-1, len(alphabet)), chunk[1:].reshape(-1))
    opt.zero_grad()
    loss.backward()
    norm = nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()
    if step % 3 == 0:
        report(f"step {step} loss", loss.item())
        report("  grad norm", norm.item())
finish(model, opt, *state)
