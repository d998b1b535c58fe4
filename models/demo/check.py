"""Checks an exported demo GGUF against llama.cpp's reference tools (a developer check, not part
of training): the recipe's tokenizer against llama-tokenize, and PyTorch's perplexity of the
file's own weights against llama-perplexity, computed the same way (chunks of --ctx tokens,
<s> as each chunk's first token, the second half of each chunk scored).

    python3 models/demo/check.py models/demo/demo-f16.gguf --text suites/data/demo-heldout.txt
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from gguf_io import read_gguf  # noqa: E402
from model import Config, Llama  # noqa: E402
from tokenizer import BOS, Vocab  # noqa: E402


def load(path: str) -> tuple[Llama, Vocab]:
    meta, t = read_gguf(path)
    vocab = Vocab(meta["tokenizer.ggml.tokens"], meta["tokenizer.ggml.scores"], meta["tokenizer.ggml.token_type"])
    cfg = Config(
        vocab_size=len(vocab.pieces),
        dim=meta["llama.embedding_length"],
        n_layers=meta["llama.block_count"],
        n_heads=meta["llama.attention.head_count"],
        n_kv_heads=meta["llama.attention.head_count_kv"],
        ffn_dim=meta["llama.feed_forward_length"],
        context=meta["llama.context_length"],
        rope_base=meta["llama.rope.freq_base"],
        norm_eps=meta["llama.attention.layer_norm_rms_epsilon"],
    )
    model = Llama(cfg)
    names = {"embed.weight": "token_embd.weight", "norm.weight": "output_norm.weight"}
    for i in range(cfg.n_layers):
        for ours, theirs in [("attn_norm", "attn_norm"), ("wq", "attn_q"), ("wk", "attn_k"), ("wv", "attn_v"),
                             ("wo", "attn_output"), ("ffn_norm", "ffn_norm"), ("w_gate", "ffn_gate"),
                             ("w_up", "ffn_up"), ("w_down", "ffn_down")]:
            names[f"blocks.{i}.{ours}.weight"] = f"blk.{i}.{theirs}.weight"
    state = {ours: torch.from_numpy(np.array(t[theirs])) for ours, theirs in names.items()}
    model.load_state_dict(state)
    return model.eval(), vocab


def llama_tokenize(binary: str, model: str, text: str) -> list[int]:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(text)
    try:
        out = subprocess.run(
            [binary, "-m", model, "-f", f.name, "--ids", "--no-parse-special", "--log-disable"],
            capture_output=True, text=True, check=True,
        ).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out.strip().splitlines()[-1])


@torch.no_grad()
def perplexity(model: Llama, tokens: list[int], ctx: int) -> tuple[float, int]:
    """llama-perplexity's method (tools/perplexity/perplexity.cpp, perplexity())."""
    nll, count = 0.0, 0
    first = ctx // 2
    for c in range(len(tokens) // ctx):
        chunk = tokens[c * ctx : (c + 1) * ctx]
        chunk[0] = BOS
        logp = torch.log_softmax(model(torch.tensor([chunk]))[0].double(), dim=-1)
        for j in range(first, ctx - 1):
            nll -= float(logp[j, chunk[j + 1]])
            count += 1
    return math.exp(nll / count), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model")
    parser.add_argument("--text", default="suites/data/demo-heldout.txt")
    parser.add_argument("--tasks", default="suites/data/demo-tasks.jsonl")
    parser.add_argument("--ctx", type=int, default=128)
    parser.add_argument("--bin", default="/opt/llama.cpp-ref/build/bin")
    args = parser.parse_args()
    torch.set_num_threads(2)
    model, vocab = load(args.model)
    with open(args.text) as f:
        text = f.read()

    # Tokenizer: the whole file at once (as llama-perplexity reads it), then prompts one by one.
    tokenize = os.path.join(args.bin, "llama-tokenize")
    samples = [text]
    with open(args.tasks) as f:
        samples += [f"Q: {json.loads(line)['question']} A:" for line in f][::6]
    samples += ["Über café, naïve 🙂 tabs\tand  double  spaces.\n\nNew para: 12345 + 678 = ?", " lead", ""]
    mismatches = 0
    for s in samples:
        ours, theirs = vocab.encode(s), llama_tokenize(tokenize, args.model, s)
        if ours != theirs:
            mismatches += 1
            print(f"tokenizer MISMATCH on {s[:60]!r}:\n  ours   {ours[:40]}\n  theirs {theirs[:40]}")
    n_tokens = len(vocab.encode(text))
    print(f"tokenizer: {len(samples) - mismatches}/{len(samples)} samples identical to llama-tokenize "
          f"(the text file: {n_tokens} tokens)")

    ours, scored = perplexity(model, vocab.encode(text), args.ctx)
    # Output to a file, not a pipe: llama.cpp logs asynchronously, and on a pipe the last lines
    # (the final chunks and the "Final estimate") can be lost when the program exits.
    with tempfile.TemporaryFile("w+") as log:
        subprocess.run(
            [os.path.join(args.bin, "llama-perplexity"), "-m", args.model, "-f", args.text, "-c", str(args.ctx),
             "-b", str(args.ctx), "-t", "2"],
            stdout=log, stderr=subprocess.STDOUT, check=True,
        )
        log.seek(0)
        output = log.read()
    match = re.search(r"Final estimate: PPL = ([0-9.]+)", output)
    if match is None:
        sys.exit(f"no perplexity in llama-perplexity's output:\n{output[-2000:]}")
    theirs = float(match.group(1))
    print(f"perplexity, ctx {args.ctx}, {scored} scored tokens: PyTorch {ours:.4f}, llama-perplexity {theirs:.4f} "
          f"({100 * (theirs - ours) / ours:+.3f} %)")
    sys.exit(1 if mismatches or abs(theirs - ours) / ours > 0.005 else 0)


if __name__ == "__main__":
    main()
