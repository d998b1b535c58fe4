"""A SentencePiece-style ("llama") vocabulary learned from the generated text, and an encoder
that reproduces llama.cpp's SPM tokenizer exactly (src/llama-vocab.cpp, llm_tokenizer_spm_session).

Vocabulary layout (what llama.cpp expects of `tokenizer.ggml.model = "llama"`):
  0 <unk> (UNKNOWN), 1 <s> (CONTROL), 2 </s> (CONTROL), 3..258 <0x00>..<0xFF> (BYTE),
  then single characters, then merged pieces in merge order (NORMAL).
A merged piece's score is minus its merge rank, so llama.cpp's "merge the best-scoring adjacent
pair whose concatenation is a token" replays the merges in the order they were learned.
"""

import heapq
import re
from collections import Counter

SPACE = "\u2581"  # "▁": SentencePiece's visible space
UNK, BOS, EOS = 0, 1, 2
TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL, TYPE_BYTE = 1, 2, 3, 6

# Pieces are a word (optionally with its leading space) or a run of punctuation. Digits never
# merge, so numbers are spelt one digit per token and arithmetic stays learnable; no piece holds
# "▁" after its first character or a newline, which lets the encoder work word by word.
_MERGEABLE = re.compile(rf"^{SPACE}?[A-Za-z]+$|^[^\w\s{SPACE}]+$")
# Split points of the escaped text: before each "▁" and around each newline.
_SEGMENT = re.compile(rf"{SPACE}[^{SPACE}\n]*|\n|[^{SPACE}\n]+")


def escape(text: str, add_space_prefix: bool = True) -> str:
    """llama.cpp's SPM pre-processing: a space in front of the text, then spaces become "▁"."""
    return ((" " if add_space_prefix else "") + text).replace(" ", SPACE)


def segments(escaped: str) -> list[str]:
    return _SEGMENT.findall(escaped)


class Vocab:
    def __init__(self, pieces: list[str], scores: list[float], types: list[int]):
        self.pieces = pieces
        self.scores = scores
        self.types = types
        self.index = {p: i for i, p in enumerate(pieces) if types[i] == TYPE_NORMAL}
        self._cache: dict[str, list[int]] = {}

    @classmethod
    def learn(cls, texts: list[str], max_size: int) -> "Vocab":
        """Byte-pair merges over word counts until `max_size` tokens or no pair occurs twice."""
        words: Counter[str] = Counter()
        for text in texts:
            words.update(segments(escape(text)))
        chars = sorted({c for w in words for c in w if c != "\n"})
        pieces = ["<unk>", "<s>", "</s>", *(f"<0x{b:02X}>" for b in range(256)), *chars]
        types = [TYPE_UNKNOWN, TYPE_CONTROL, TYPE_CONTROL, *[TYPE_BYTE] * 256, *[TYPE_NORMAL] * len(chars)]
        splits = {w: list(w) for w in words if w != "\n"}
        merges: list[str] = []
        while len(pieces) + len(merges) < max_size:
            pairs: Counter[tuple[str, str]] = Counter()
            for w, parts in splits.items():
                for a, b in zip(parts, parts[1:]):
                    if _MERGEABLE.match(a + b):
                        pairs[(a, b)] += words[w]
            if not pairs:
                break
            # Ties broken by the pair's text, so the vocabulary does not depend on dict order.
            (a, b), count = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
            if count < 2:
                break
            merges.append(a + b)
            for w, parts in splits.items():
                i, out = 0, []
                while i < len(parts):
                    if i + 1 < len(parts) and parts[i] == a and parts[i + 1] == b:
                        out.append(a + b)
                        i += 2
                    else:
                        out.append(parts[i])
                        i += 1
                splits[w] = out
        # Single characters never come out of a merge, so their score only has to rank below merges.
        scores = [0.0] * 259 + [-float(len(merges) + 1)] * len(chars)
        scores += [-float(rank) for rank in range(len(merges))]
        pieces += merges
        types += [TYPE_NORMAL] * len(merges)
        return cls(pieces, scores, types)

    def _encode_segment(self, text: str) -> list[int]:
        """llm_tokenizer_spm_session::tokenize on one segment, step for step."""
        symbols = list(text)  # the text of each live symbol; "" once merged into its left neighbour
        nxt = list(range(1, len(symbols))) + [-1]
        prv = list(range(-1, len(symbols) - 1))
        queue: list[tuple[float, int, int, int]] = []

        def try_add(left: int, right: int) -> None:
            if left == -1 or right == -1:
                return
            merged = symbols[left] + symbols[right]
            token = self.index.get(merged)
            if token is not None:
                # std::priority_queue pops the highest score, then the lowest left index.
                heapq.heappush(queue, (-self.scores[token], left, right, len(merged)))

        for i in range(1, len(symbols)):
            try_add(i - 1, i)
        while queue:
            _, left, right, size = heapq.heappop(queue)
            if not symbols[left] or not symbols[right] or len(symbols[left]) + len(symbols[right]) != size:
                continue
            symbols[left] += symbols[right]
            symbols[right] = ""
            nxt[left] = nxt[right]
            if nxt[right] >= 0:
                prv[nxt[right]] = left
            try_add(prv[left], left)
            try_add(left, nxt[left])
        out: list[int] = []
        i = 0
        while i != -1:
            token = self.index.get(symbols[i])
            if token is not None:
                out.append(token)
            else:
                # Byte fallback: <0xXX> tokens sit at id 3 + byte value.
                out.extend(3 + b for b in symbols[i].encode("utf-8"))
            i = nxt[i]
        return out

    def encode(self, text: str, bos: bool = True, add_space_prefix: bool = True) -> list[int]:
        """What llama_tokenize(text, add_special=bos, parse_special=false) returns."""
        out = [BOS] if bos else []
        if not text:
            return out
        for seg in segments(escape(text, add_space_prefix)):
            ids = self._cache.get(seg)
            if ids is None:
                ids = self._cache[seg] = self._encode_segment(seg)
            out.extend(ids)
        return out

    def decode(self, ids: list[int]) -> str:
        raw = bytearray()
        for i in ids:
            if self.types[i] == TYPE_BYTE:
                raw.append(i - 3)
            elif self.types[i] == TYPE_NORMAL:
                raw.extend(self.pieces[i].replace(SPACE, " ").encode("utf-8"))
        return raw.decode("utf-8", errors="replace")
