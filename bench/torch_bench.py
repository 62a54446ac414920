#!/usr/bin/env python3
"""PyTorch CPU peer reference: the makemore part 2 MLP training loop, timed.

Prints exactly one JSON line on stdout; everything else goes to stderr.
Run bench/setup.sh first and use bench/.venv/bin/python.
"""
import argparse
import json
import os
import random
import sys
import time

# The shapes, the recipe and the targets come from `makemore bench` (src/config.rs
# owns them: BENCH_CONFIGS, BENCH_TARGETS and the e01 preset) as arguments.
WARMUP_STEPS, LR = 3, 0.1


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def set_threads(torch, n):
    """Runs torch on exactly n threads, or exits: a row on fewer threads than asked
    would not compare like with like."""
    torch.set_num_threads(n)
    if torch.get_num_threads() != n:
        sys.exit(f"error: asked torch for {n} threads, it runs {torch.get_num_threads()}")


def load_words(path):
    try:
        with open(path, encoding="utf-8") as f:
            words = [w for w in (line.strip() for line in f) if w]
    except OSError as e:
        sys.exit(f"error: cannot read {path}: {e}")
    if not words:
        sys.exit(f"error: no words in {path}")
    return words


def build_splits(words, block):
    """The notebook's vocabulary, shuffle, 80/10/10 split and windowing, as lists."""
    chars = sorted(set("".join(words)))
    stoi = {s: i + 1 for i, s in enumerate(chars)}
    stoi["."] = 0
    words = list(words)
    random.seed(42)
    random.shuffle(words)
    n1, n2 = int(0.8 * len(words)), int(0.9 * len(words))

    def windows(ws):
        X, Y = [], []
        for w in ws:
            context = [0] * block
            for ch in w + ".":
                ix = stoi[ch]
                X.append(context)
                Y.append(ix)
                context = context[1:] + [ix]  # crop and append
        return X, Y

    return len(stoi), windows(words[:n1]), windows(words[n1:n2]), windows(words[n2:])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", required=True, help="names file, one word per line")
    ap.add_argument("--config", default="custom", help="the config's name, for the log and the JSON line")
    ap.add_argument("--block_size", type=int, required=True, help="context length T")
    ap.add_argument("--n_embd", type=int, required=True, help="embedding size E")
    ap.add_argument("--n_hidden", type=int, required=True, help="hidden units H")
    ap.add_argument("--batch_size", type=int, required=True)
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="torch's intra-op threads (default: every CPU; `makemore bench` passes its own "
                         "thread count so both rows use the same)")
    how_long = ap.add_mutually_exclusive_group()
    how_long.add_argument("--seconds", type=float, default=5.0,
                          help="measure for about this long after warm-up (default 5)")
    how_long.add_argument("--steps", type=int, help="measure exactly this many steps instead")
    ap.add_argument("--direct", action="store_true",
                    help="add direct embedding->logits connections (W3)")
    ap.add_argument("--split-only", action="store_true",
                    help="print 'train N dev N test N' (examples) and exit")
    ap.add_argument("--time-to-target", action="store_true",
                    help="train the given shape with Adam, Kaiming-style init and cosine decay over --steps steps, "
                         "evaluating dev every --eval_every steps, and print the dev trace; stops once dev < "
                         "--stop_below or after --limit seconds (makemore bench decides when each target fell)")
    ap.add_argument("--lr", type=float, default=0.003)
    ap.add_argument("--cosine_floor", type=float, default=0.05)
    ap.add_argument("--eval_every", type=int, default=500)
    ap.add_argument("--stop_below", type=float, default=0.0)
    ap.add_argument("--limit", type=float, default=300.0)
    args = ap.parse_args()
    if args.time_to_target:
        return time_to_target(args)
    T, E, H, B = args.block_size, args.n_embd, args.n_hidden, args.batch_size
    direct = args.direct
    if args.threads < 1 or (args.steps is not None and args.steps < 1) or args.seconds <= 0:
        ap.error("--threads, --steps and --seconds must be positive")

    words = load_words(args.data)
    vocab, (Xtr, Ytr), (Xdev, _), (Xte, _) = build_splits(words, T)
    if args.split_only:
        print(f"train {len(Xtr)} dev {len(Xdev)} test {len(Xte)}")
        return

    import torch
    import torch.nn.functional as F

    set_threads(torch, args.threads)
    torch.manual_seed(42)  # drives torch.randint minibatch sampling
    Xtr, Ytr = torch.tensor(Xtr), torch.tensor(Ytr)

    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab, E), generator=g)
    W1 = torch.randn((T * E, H), generator=g)
    b1 = torch.randn(H, generator=g)
    W2 = torch.randn((H, vocab), generator=g)
    b2 = torch.randn(vocab, generator=g)
    parameters = [C, W1, b1, W2, b2]
    if direct:
        W3 = torch.randn((T * E, vocab), generator=g)
        parameters.append(W3)
    for p in parameters:
        p.requires_grad = True
    log(f"torch {torch.__version__}, {torch.get_num_threads()} threads, config {args.config} "
        f"T={T} E={E} H={H} batch {B}, direct={direct}, {sum(p.nelement() for p in parameters)} params, "
        f"{Xtr.shape[0]} train examples, load avg {os.getloadavg()[0]:.2f}")

    def step():
        ix = torch.randint(0, Xtr.shape[0], (B,))
        Xb, Yb = Xtr[ix], Ytr[ix]
        emb = C[Xb]
        x = emb.view(-1, T * E)
        h = torch.tanh(x @ W1 + b1)
        logits = h @ W2 + b2
        if direct:
            logits += x @ W3
        loss = F.cross_entropy(logits, Yb)
        for p in parameters:
            p.grad = None
        loss.backward()
        for p in parameters:
            p.data += -LR * p.grad
        return loss

    for _ in range(WARMUP_STEPS):
        step()
    steps = 0
    start = time.perf_counter()
    while True:
        loss = step()
        steps += 1
        elapsed = time.perf_counter() - start
        if (steps >= args.steps) if args.steps is not None else (elapsed >= args.seconds):
            break
    final_loss = loss.item()
    log(f"{steps} steps in {elapsed:.3f} s, final minibatch loss {final_loss:.4f}")

    sps = steps / elapsed
    print(json.dumps({"path": "pytorch-cpu", "config": args.config, "batch": B, "steps": steps,
                      "seconds": round(elapsed, 4), "steps_per_sec": round(sps, 3),
                      "examples_per_sec": round(sps * B, 1), "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "final_loss": round(final_loss, 4)}))


def time_to_target(args):
    """The E01 recipe in PyTorch (makemore bench passes its numbers): Kaiming-style
    init, Adam at --lr with a cosine decay to --cosine_floor over --steps steps; dev
    evaluated every --eval_every steps, the evaluations counted in the wall time.
    Prints the trace of dev losses; the caller decides when each target fell."""
    T, E, H, B = args.block_size, args.n_embd, args.n_hidden, args.batch_size
    total = args.steps or 1
    vocab, (Xtr, Ytr), (Xdev, Ydev), _ = build_splits(load_words(args.data), T)
    import math
    import torch
    import torch.nn.functional as F

    set_threads(torch, args.threads)
    torch.manual_seed(42)
    Xtr, Ytr, Xdev, Ydev = map(torch.tensor, (Xtr, Ytr, Xdev, Ydev))
    g = torch.Generator().manual_seed(2147483647)
    C = torch.randn((vocab, E), generator=g)
    W1 = torch.randn((T * E, H), generator=g) * (5 / 3) / math.sqrt(T * E)
    b1 = torch.randn(H, generator=g) * 0.01
    W2 = torch.randn((H, vocab), generator=g) * 0.01
    b2 = torch.zeros(vocab)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True
    opt = torch.optim.Adam(parameters, lr=args.lr)
    floor = args.cosine_floor

    def forward(X):
        h = torch.tanh(C[X].view(-1, T * E) @ W1 + b1)
        return h @ W2 + b2

    trace, dev, step = [], float("inf"), 0
    start = time.perf_counter()
    while dev >= args.stop_below and step < total and time.perf_counter() - start < args.limit:
        for _ in range(min(args.eval_every, total - step)):
            t = step / max(total - 1, 1)
            for group in opt.param_groups:
                group["lr"] = args.lr * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))
            ix = torch.randint(0, Xtr.shape[0], (B,))
            loss = F.cross_entropy(forward(Xtr[ix]), Ytr[ix])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        with torch.no_grad():
            dev = F.cross_entropy(forward(Xdev), Ydev).item()
        trace.append({"step": step, "seconds": round(time.perf_counter() - start, 3), "dev": round(dev, 4)})
        log(f"step {step} dev {dev:.4f} at {trace[-1]['seconds']:.1f} s")
    print(json.dumps({"path": "pytorch-cpu", "trace": trace, "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
