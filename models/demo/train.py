"""Trains qbench's demo model from scratch on generated text and writes it as an F16 GGUF.

    python3 models/demo/train.py --out models/demo/demo-f16.gguf

CPU only, 2 threads, fixed seed; a checkpoint goes to /tmp (not the repository). Prints the
wall time and the machine at the end, for models/demo/README.md.
"""

import argparse
import math
import os
import platform
import random
import sys
import time

# Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning made each
# step up to 10x slower. Must be set before torch loads OpenMP; it does not change any result.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from data import TASKS, story, task_text, training_document  # noqa: E402
from gguf_io import write_gguf  # noqa: E402
from model import Config, Llama  # noqa: E402
from tokenizer import BOS, EOS, Vocab  # noqa: E402

IGNORE = -100


def build_vocab(seed: int, size: int) -> Vocab:
    rng = random.Random(seed)
    return Vocab.learn([training_document(rng) for _ in range(20000)], size)


def packed_rows(vocab: Vocab, rng: random.Random, n_rows: int, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Whole documents packed into rows that each start with <s> at position 0, as a prompt does
    at inference; the unused tail of a row is padding that the loss ignores."""
    inputs = torch.full((n_rows, context), EOS, dtype=torch.long)
    targets = torch.full((n_rows, context), IGNORE, dtype=torch.long)
    pending: list[int] | None = None
    for r in range(n_rows):
        row: list[int] = []
        while True:
            doc = pending if pending is not None else vocab.encode(training_document(rng)) + [EOS]
            pending = None
            doc = doc[: context + 1]
            if row and len(row) + len(doc) > context + 1:
                pending = doc
                break
            row += doc
        n = min(len(row), context + 1)
        inputs[r, : n - 1] = torch.tensor(row[: n - 1])
        targets[r, : n - 1] = torch.tensor(row[1:n])
    return inputs, targets


def cpu_name() -> str:
    """The CPU model for the timing line (platform.processor() is empty on Linux)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def lr_at(step: int, steps: int, peak: float, warmup: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress)))


@torch.no_grad()
def greedy(model: Llama, vocab: Vocab, prompt: str, max_new: int = 24) -> str:
    ids = vocab.encode(prompt)
    start = len(ids)
    for _ in range(max_new):
        nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
        if nxt == EOS:
            break
        ids.append(nxt)
    return vocab.decode(ids[start:])


@torch.no_grad()
def quick_eval(model: Llama, vocab: Vocab, seed: int) -> dict[str, float]:
    """Greedy exact match on a few held-out task items: progress only; the suites are the measure."""
    model.eval()
    rng = random.Random(seed)
    scores = {}
    for kind, make in TASKS.items():
        items = [make(rng, True) for _ in range(20)]
        scores[kind] = sum(greedy(model, vocab, f"Q: {q} A:").strip() == a for q, a in items) / len(items)
    model.train()
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="models/demo/demo-f16.gguf")
    parser.add_argument("--seed", type=int, default=1337)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--batch", type=int, default=16, help="rows of --context tokens per step")
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--dim", type=int, default=128)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--ffn", type=int, default=384)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--checkpoint", default="/tmp/demo-checkpoint.pt")
    args = parser.parse_args()

    started = time.time()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)

    vocab = build_vocab(args.seed, args.vocab)
    # Heads of 32 dimensions; two key/value heads shared by all query heads (GQA).
    cfg = Config(vocab_size=len(vocab.pieces), dim=args.dim, n_layers=args.layers, n_heads=args.dim // 32,
                 n_kv_heads=2, ffn_dim=args.ffn)
    print(f"vocab {cfg.vocab_size} tokens; model {cfg}", flush=True)
    model = Llama(cfg)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"{n_params:,} parameters", flush=True)

    # Weight decay on matrices only; norms and the (tied) embedding are left alone.
    decay = [p for n, p in model.named_parameters() if p.dim() == 2 and not n.startswith("embed")]
    rest = [p for n, p in model.named_parameters() if p.dim() < 2 or n.startswith("embed")]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}],
        lr=args.lr, betas=(0.9, 0.95),
    )
    data_rng = random.Random(args.seed + 1)
    warmup = max(1, args.steps // 20)
    chunk = 50  # rows are generated 50 steps at a time, keeping memory small
    tokens_seen = 0
    t0 = time.time()
    for step in range(args.steps):
        if step % chunk == 0:
            inputs, targets = packed_rows(vocab, data_rng, chunk * args.batch, cfg.context)
        rows = slice((step % chunk) * args.batch, (step % chunk + 1) * args.batch)
        x, y = inputs[rows], targets[rows]
        for group in optim.param_groups:
            group["lr"] = lr_at(step, args.steps, args.lr, warmup)
        logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.view(-1, cfg.vocab_size), y.view(-1), ignore_index=IGNORE)
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        tokens_seen += int((y != IGNORE).sum())
        if step % 100 == 0 or step == args.steps - 1:
            rate = tokens_seen / (time.time() - t0)
            print(f"step {step:5d}  loss {loss.item():.4f}  lr {optim.param_groups[0]['lr']:.2e}  "
                  f"{rate:,.0f} tok/s  {time.time() - started:,.0f}s", flush=True)
        if step > 0 and step % 300 == 0:
            print(f"  held-out exact match: {quick_eval(model, vocab, 99)}", flush=True)
            torch.save({"model": model.state_dict(), "step": step}, args.checkpoint)
    torch.save({"model": model.state_dict(), "step": args.steps}, args.checkpoint)
    print(f"  held-out exact match: {quick_eval(model, vocab, 99)}", flush=True)
    model.eval()
    sample, _ = story(random.Random(5), True)
    print("sample:", greedy(model, vocab, sample.split(". ")[0] + ".", 60), flush=True)
    print("task sample:", task_text("12+34=?", greedy(model, vocab, "Q: 12+34=? A:")), flush=True)

    write_gguf(args.out, model, vocab, "qbench-demo")
    elapsed = time.time() - started
    print(f"wrote {args.out} ({os.path.getsize(args.out):,} bytes)")
    print(f"trained {args.steps} steps, {tokens_seen:,} target tokens, in {elapsed / 60:.1f} min on "
          f"{cpu_name()} ({os.cpu_count()} cores) with {args.threads} threads "
          f"(torch {torch.__version__}, Python {platform.python_version()}, seed {args.seed})")


if __name__ == "__main__":
    main()
