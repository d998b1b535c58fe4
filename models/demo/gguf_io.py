"""Writes the trained model as a GGUF v3 file (F16 matrices, F32 norms) without llama.cpp's gguf-py,
so the recipe needs only numpy and torch. Format: ggml/docs/gguf.md in the llama.cpp sources.
"""

import struct
from typing import Any

import numpy as np

from model import Llama
from tokenizer import BOS, EOS, UNK, Vocab

ALIGNMENT = 32
GGML_F32, GGML_F16 = 0, 1
MOSTLY_F16 = 1
# GGUF metadata value types.
T_UINT32, T_INT32, T_FLOAT32, T_BOOL, T_STRING, T_ARRAY = 4, 5, 6, 7, 8, 9


def _string(s: str) -> bytes:
    raw = s.encode("utf-8")
    return struct.pack("<Q", len(raw)) + raw


def _value(vtype: int, value: Any) -> bytes:
    if vtype == T_UINT32:
        return struct.pack("<I", value)
    if vtype == T_INT32:
        return struct.pack("<i", value)
    if vtype == T_FLOAT32:
        return struct.pack("<f", value)
    if vtype == T_BOOL:
        return struct.pack("<?", value)
    if vtype == T_STRING:
        return _string(value)
    raise ValueError(f"unsupported metadata type {vtype}")


def _kv(key: str, vtype: int, value: Any, elem: int | None = None) -> bytes:
    out = _string(key) + struct.pack("<I", vtype)
    if vtype != T_ARRAY:
        return out + _value(vtype, value)
    assert elem is not None
    return out + struct.pack("<IQ", elem, len(value)) + b"".join(_value(elem, v) for v in value)


def _tensors(model: Llama) -> list[tuple[str, np.ndarray]]:
    """GGUF names for the weights; numpy row-major (out, in) is ggml's ne = [in, out]."""
    def mat(t: Any) -> np.ndarray:
        return t.detach().float().numpy().astype(np.float16)

    def vec(t: Any) -> np.ndarray:
        return t.detach().float().numpy().astype(np.float32)

    out = [("token_embd.weight", mat(model.embed.weight))]
    for i, b in enumerate(model.blocks):
        p = f"blk.{i}."
        out += [
            (p + "attn_norm.weight", vec(b.attn_norm.weight)),
            (p + "attn_q.weight", mat(b.wq.weight)),
            (p + "attn_k.weight", mat(b.wk.weight)),
            (p + "attn_v.weight", mat(b.wv.weight)),
            (p + "attn_output.weight", mat(b.wo.weight)),
            (p + "ffn_norm.weight", vec(b.ffn_norm.weight)),
            (p + "ffn_gate.weight", mat(b.w_gate.weight)),
            (p + "ffn_up.weight", mat(b.w_up.weight)),
            (p + "ffn_down.weight", mat(b.w_down.weight)),
        ]
    out.append(("output_norm.weight", vec(model.norm.weight)))
    return out


def write_gguf(path: str, model: Llama, vocab: Vocab, name: str) -> None:
    cfg = model.cfg
    meta = [
        _kv("general.architecture", T_STRING, "llama"),
        _kv("general.name", T_STRING, name),
        _kv("general.file_type", T_UINT32, MOSTLY_F16),
        _kv("llama.context_length", T_UINT32, cfg.context),
        _kv("llama.embedding_length", T_UINT32, cfg.dim),
        _kv("llama.block_count", T_UINT32, cfg.n_layers),
        _kv("llama.feed_forward_length", T_UINT32, cfg.ffn_dim),
        _kv("llama.attention.head_count", T_UINT32, cfg.n_heads),
        _kv("llama.attention.head_count_kv", T_UINT32, cfg.n_kv_heads),
        _kv("llama.rope.dimension_count", T_UINT32, cfg.head_dim),
        _kv("llama.rope.freq_base", T_FLOAT32, cfg.rope_base),
        _kv("llama.attention.layer_norm_rms_epsilon", T_FLOAT32, cfg.norm_eps),
        _kv("llama.vocab_size", T_UINT32, cfg.vocab_size),
        _kv("tokenizer.ggml.model", T_STRING, "llama"),
        _kv("tokenizer.ggml.tokens", T_ARRAY, vocab.pieces, T_STRING),
        _kv("tokenizer.ggml.scores", T_ARRAY, vocab.scores, T_FLOAT32),
        _kv("tokenizer.ggml.token_type", T_ARRAY, vocab.types, T_INT32),
        _kv("tokenizer.ggml.unknown_token_id", T_UINT32, UNK),
        _kv("tokenizer.ggml.bos_token_id", T_UINT32, BOS),
        _kv("tokenizer.ggml.eos_token_id", T_UINT32, EOS),
        _kv("tokenizer.ggml.add_bos_token", T_BOOL, True),
        _kv("tokenizer.ggml.add_eos_token", T_BOOL, False),
        _kv("tokenizer.ggml.add_space_prefix", T_BOOL, True),
    ]
    tensors = _tensors(model)
    infos, offset = [], 0
    for tname, arr in tensors:
        ggml_type = GGML_F16 if arr.dtype == np.float16 else GGML_F32
        dims = list(reversed(arr.shape))
        infos.append(_string(tname) + struct.pack("<I", len(dims)) +
                     b"".join(struct.pack("<Q", d) for d in dims) + struct.pack("<IQ", ggml_type, offset))
        offset += -(-arr.nbytes // ALIGNMENT) * ALIGNMENT
    header = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(meta)) + b"".join(meta) + b"".join(infos)
    with open(path, "wb") as f:
        f.write(header)
        f.write(b"\0" * (-len(header) % ALIGNMENT))
        for _, arr in tensors:
            data = np.ascontiguousarray(arr).tobytes()
            f.write(data)
            f.write(b"\0" * (-len(data) % ALIGNMENT))


def read_gguf(path: str) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and tensors (as float32 arrays in numpy layout) of an F32/F16 GGUF file."""
    with open(path, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt: str) -> Any:
        nonlocal pos
        vals = struct.unpack_from("<" + fmt, buf, pos)
        pos += struct.calcsize("<" + fmt)
        return vals[0]

    def string() -> str:
        nonlocal pos
        n = take("Q")
        pos += n
        return buf[pos - n : pos].decode("utf-8")

    scalar = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

    def value(vtype: int) -> Any:
        if vtype == T_STRING:
            return string()
        if vtype == T_ARRAY:
            elem, n = take("I"), take("Q")
            return [value(elem) for _ in range(n)]
        return take(scalar[vtype])

    assert buf[:4] == b"GGUF", f"{path} is not a GGUF file"
    pos = 4
    _version, n_tensors, n_kv = take("I"), take("Q"), take("Q")
    meta = {}
    for _ in range(n_kv):
        key = string()
        meta[key] = value(take("I"))
    infos = []
    for _ in range(n_tensors):
        name = string()
        dims = [take("Q") for _ in range(take("I"))]
        infos.append((name, dims, take("I"), take("Q")))
    align = meta.get("general.alignment", ALIGNMENT)
    start = -(-pos // align) * align
    tensors = {}
    for name, dims, ggml_type, offset in infos:
        dtype = {GGML_F32: np.float32, GGML_F16: np.float16}[ggml_type]
        count = int(np.prod(dims))
        arr = np.frombuffer(buf, dtype=dtype, count=count, offset=start + offset)
        tensors[name] = arr.reshape(list(reversed(dims))).astype(np.float32)
    return meta, tensors
