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

CONFIGS = {
    # block = context length, emb = embedding dim, hidden = tanh layer width
    "seed": dict(block=3, emb=50, hidden=100, batch=16384, direct=False),
    "lecture": dict(block=3, emb=10, hidden=200, batch=32, direct=False),
    "big": dict(block=8, emb=24, hidden=512, batch=4096, direct=False),
}
WARMUP_STEPS, LR = 3, 0.1
# --time-to-target: our E01 preset's recipe (src/config.rs), in PyTorch.
E01 = dict(block=3, emb=16, hidden=256, batch=256, steps=20000, lr=0.003, floor=0.05)
TARGETS = (2.20, 2.13)


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
    ap.add_argument("--config", choices=sorted(CONFIGS), default="lecture")
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
                    help="train the E01 recipe, evaluating dev every --eval-every steps, and report the "
                         "wall seconds until dev < 2.20 and < 2.13 (gives up after --limit seconds)")
    ap.add_argument("--eval-every", type=int, default=500)
    ap.add_argument("--limit", type=float, default=300.0)
    args = ap.parse_args()
    if args.time_to_target:
        return time_to_target(args)
    cfg = CONFIGS[args.config]
    T, E, H, B = cfg["block"], cfg["emb"], cfg["hidden"], cfg["batch"]
    direct = cfg["direct"] or args.direct
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
        f"{cfg}, direct={direct}, {sum(p.nelement() for p in parameters)} params, "
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
    """E01 in PyTorch: T=3, E=16, H=256, Kaiming-style init, Adam at 0.003 with a
    cosine decay to 5% over 20k steps, batch 256; dev evaluated every
    --eval-every steps, the evaluations counted in the wall time."""
    cfg = E01
    T, E, H, B = cfg["block"], cfg["emb"], cfg["hidden"], cfg["batch"]
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
    opt = torch.optim.Adam(parameters, lr=cfg["lr"])

    def forward(X):
        h = torch.tanh(C[X].view(-1, T * E) @ W1 + b1)
        return h @ W2 + b2

    reached, dev, step, total = [], float("inf"), 0, cfg["steps"]
    start = time.perf_counter()
    while len(reached) < len(TARGETS) and step < total and time.perf_counter() - start < args.limit:
        for _ in range(min(args.eval_every, total - step)):
            t = step / (total - 1)
            for group in opt.param_groups:
                group["lr"] = cfg["lr"] * (cfg["floor"] + (1 - cfg["floor"]) * 0.5 * (1 + math.cos(math.pi * t)))
            ix = torch.randint(0, Xtr.shape[0], (B,))
            loss = F.cross_entropy(forward(Xtr[ix]), Ytr[ix])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
        with torch.no_grad():
            dev = F.cross_entropy(forward(Xdev), Ydev).item()
        while len(reached) < len(TARGETS) and dev < TARGETS[len(reached)]:
            reached.append({"target": TARGETS[len(reached)], "seconds": round(time.perf_counter() - start, 3),
                            "step": step, "dev": round(dev, 4)})
        log(f"step {step} dev {dev:.4f} at {time.perf_counter() - start:.1f} s")
    print(json.dumps({"path": "pytorch-cpu", "reached": reached, "dev": round(dev, 4), "step": step,
                      "seconds": round(time.perf_counter() - start, 3), "torch": torch.__version__,
                      "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
