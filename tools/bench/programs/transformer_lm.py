"""A small causal transformer language model on words, tokenized as examples/word_lm.py does
(2 encoder layers, learned positions, Adam; dropout 0 so every engine computes the same function).

    python3 transformer_lm.py --steps 40 [--data FILE]            # PyTorch
    terra run --as-torch transformer_lm.py --steps 40 [--data FILE]   # Terra
"""
import numpy as np
import torch
import torch.nn as nn

import bench_support


class TransformerLM(nn.Module):
    def __init__(self, vocab, context, width=64, heads=4, layers=2):
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.position = nn.Parameter(torch.zeros(context, width))
        layer = nn.TransformerEncoderLayer(width, heads, dim_feedforward=4 * width, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers)
        self.decoder = nn.Linear(width, vocab)
        self.register_buffer("causal", torch.triu(torch.full((context, context), float("-inf")), diagonal=1))

    def forward(self, tokens):
        x = self.embed(tokens) + self.position[: tokens.shape[1]]
        return self.decoder(self.encoder(x, mask=self.causal))


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=40, warmup=3)
    bench_support.add_text_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--context", type=int, default=32)
    args = parser.parse_args()
    ids, vocab = bench_support.example("word_lm").tokenize(args.data, args.vocab)
    ids = ids.numpy()
    rng = np.random.default_rng(args.seed)
    model = bench_support.prepare(TransformerLM(vocab, args.context), args)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    offsets = np.arange(args.context + 1)
    clock = bench_support.StepClock(args)
    for _ in clock:
        starts = rng.integers(0, len(ids) - args.context - 1, size=args.batch_size)
        window = torch.from_numpy(ids[starts[:, None] + offsets]).to(args.device)
        optimizer.zero_grad()
        logits = model(window[:, :-1])
        loss = criterion(logits.reshape(-1, vocab), window[:, 1:].reshape(-1))
        loss.backward()
        optimizer.step()
    clock.report(loss)


if __name__ == "__main__":
    main()
