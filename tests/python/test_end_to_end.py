"""End to end against PyTorch 1.13: the digits CNN and a 2-layer LSTM language model, each started
from PyTorch's initial weights (copied through numpy), dropout off, the same batches; the loss
curves must agree within 1e-4 relative over 50 steps."""
import os

import numpy as np
import pytest
import torch

import terra
from parity import copy_state

WIKITEXT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "wikitext-2", "valid.txt")


def digits_model(lib):
    nn = lib.nn

    class DigitsCNN(nn.Module):  # the architecture of examples/digits_cnn.py
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 16, kernel_size=3, padding=1)
            self.conv2 = nn.Conv2d(16, 32, kernel_size=3, padding=1)
            self.fc1 = nn.Linear(32 * 2 * 2, 64)
            self.fc2 = nn.Linear(64, 10)

        def forward(self, x):
            F = nn.functional
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            return self.fc2(F.relu(self.fc1(lib.flatten(x, 1))))

    return DigitsCNN()


def run_digits(lib, model, images, labels, batches):
    opt = lib.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for idx in batches:
        x = lib.from_numpy(images[idx])
        y = lib.from_numpy(labels[idx])
        opt.zero_grad()
        loss = lib.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return np.array(losses)


def test_digits_cnn_matches_pytorch():
    sklearn = pytest.importorskip("sklearn.datasets")
    digits = sklearn.load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    labels = digits.target.astype(np.int64)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(labels), 32, replace=False) for _ in range(50)]
    torch.manual_seed(0)
    ref = digits_model(torch)
    model = digits_model(terra)
    copy_state(ref, model)
    expected = run_digits(torch, ref, images, labels, batches)
    got = run_digits(terra, model, images, labels, batches)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert expected[-1] < 0.5 * expected[0]  # it learned something


def lm_model(lib, vocab):
    nn = lib.nn

    class WordLM(nn.Module):  # examples/word_lm.py's model, smaller
        def __init__(self):
            super().__init__()
            self.encoder = nn.Embedding(vocab, 32)
            self.rnn = nn.LSTM(32, 48, 2)
            self.decoder = nn.Linear(48, vocab)

        def forward(self, tokens, state):
            out, state = self.rnn(self.encoder(tokens), state)
            return self.decoder(out), state

    return WordLM()


def run_lm(lib, model, data, vocab, steps=50, bptt=12):
    losses, state, pos = [], None, 0
    criterion = lib.nn.CrossEntropyLoss()
    for _ in range(steps):
        inputs = lib.from_numpy(data[pos:pos + bptt])
        targets = lib.from_numpy(data[pos + 1:pos + 1 + bptt].reshape(-1))
        pos += bptt
        if state is not None:
            state = tuple(s.detach() for s in state)
        model.zero_grad()
        logits, state = model(inputs, state)
        loss = criterion(logits.reshape(-1, vocab), targets)
        loss.backward()
        lib.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        with lib.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-2.0)
        losses.append(loss.item())
    return np.array(losses)


def test_lstm_language_model_matches_pytorch():
    if not os.path.exists(WIKITEXT):
        pytest.skip(f"{WIKITEXT} is not here")
    with open(WIKITEXT, encoding="utf-8") as f:
        words = f.read().split()[:20000]
    vocab_words = {w: i for i, w in enumerate(sorted(set(words))[:999])}
    vocab = len(vocab_words) + 1
    ids = np.array([vocab_words.get(w, vocab - 1) for w in words], dtype=np.int64)
    batch = 8
    data = ids[: (len(ids) // batch) * batch].reshape(batch, -1).T.copy()
    torch.manual_seed(0)
    ref = lm_model(torch, vocab)
    model = lm_model(terra, vocab)
    copy_state(ref, model)
    expected = run_lm(torch, ref, data, vocab)
    got = run_lm(terra, model, data, vocab)
    np.testing.assert_allclose(got, expected, rtol=1e-4)
    assert expected[-10:].mean() < expected[:3].mean()
