"""Tokenization with the Hugging Face `tokenizers` library (no torch needed).

The same tokenizer.json is used in training, in the ONNX parity check, in
evaluation and by the Go backend, so all of them see the same token ids.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer


def load_tokenizer(path: str | Path, max_len: int) -> Tokenizer:
    """Loads tokenizer.json with head truncation at max_len and no padding."""
    if max_len < 8:
        raise ValueError(f"max_len {max_len} too small (want >= 8)")
    tok = Tokenizer.from_file(str(path))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def encode(tok: Tokenizer, texts: list[str]) -> dict[str, np.ndarray]:
    """Encodes texts into int64 input_ids, attention_mask and token_type_ids, padded to the longest."""
    encs = tok.encode_batch(list(texts))
    width = max(len(e.ids) for e in encs)
    n = len(encs)
    ids = np.zeros((n, width), dtype=np.int64)
    mask = np.zeros((n, width), dtype=np.int64)
    types = np.zeros((n, width), dtype=np.int64)
    for i, e in enumerate(encs):
        k = len(e.ids)
        ids[i, :k] = e.ids
        mask[i, :k] = 1
        types[i, :k] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


def write_shipped_tokenizer(src: str | Path, dst: str | Path, max_len: int) -> None:
    """Copies tokenizer.json, setting truncation to max_len and removing fixed padding.

    The upstream file pads every input to 128 tokens; a classifier served one
    request at a time should not pay for padding, so the shipped file pads
    nothing and truncates at the length the model was trained with.
    """
    cfg = json.loads(Path(src).read_text(encoding="utf-8"))
    cfg["padding"] = None
    cfg["truncation"] = {"direction": "Right", "max_length": max_len, "strategy": "LongestFirst", "stride": 0}
    Path(dst).write_text(json.dumps(cfg, ensure_ascii=False), encoding="utf-8")
