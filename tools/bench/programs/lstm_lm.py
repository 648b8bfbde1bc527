"""The word-level 2-layer LSTM language model of examples/word_lm.py (dropout 0, so every engine
computes the same function), trained with truncated backpropagation through time and plain SGD
with gradient clipping.

    python3 lstm_lm.py --steps 40 [--data FILE]            # PyTorch
    terra run --as-torch lstm_lm.py --steps 40 [--data FILE]   # Terra
"""
import torch
import torch.nn as nn

import bench_support


def main():
    parser = bench_support.argument_parser(__doc__.splitlines()[0], steps=40, warmup=3)
    bench_support.add_text_arguments(parser)
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--bptt", type=int, default=35)
    # The example's 20 makes the first steps chaotic: PyTorch alone ends 2% apart at 1 and 2 threads.
    parser.add_argument("--lr", type=float, default=5.0)
    args = parser.parse_args()
    word_lm = bench_support.example("word_lm")
    ids, vocab = word_lm.tokenize(args.data, args.vocab)
    data = word_lm.batchify(ids, args.batch_size).to(args.device)  # (time, batch)
    model = bench_support.prepare(word_lm.WordLM(vocab, dropout=0.0), args)
    criterion = nn.CrossEntropyLoss()
    windows = (data.shape[0] - 1) // args.bptt
    state = None
    clock = bench_support.StepClock(args)
    for step in clock:
        start = (step % windows) * args.bptt
        # Truncated backpropagation: the state carries over between windows, its history does not.
        state = None if start == 0 else tuple(s.detach() for s in state)
        model.zero_grad()
        logits, state = model(data[start:start + args.bptt], state)
        loss = criterion(logits.view(-1, vocab), data[start + 1:start + 1 + args.bptt].reshape(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.25)
        with torch.no_grad():
            for p in model.parameters():
                p.add_(p.grad, alpha=-args.lr)
    clock.report(loss)


if __name__ == "__main__":
    main()
