"""The classifier: a pretrained BERT-style encoder, a pooling step and a linear head.

Pooling is "mean" (average of the token states under the attention mask, how
all-MiniLM-L6-v2 was trained) or "cls" (the first token's state). The whole
thing, pooling included, is what gets exported to ONNX, so the exported graph
maps token ids straight to logits.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, AutoModel

POOLINGS = ("mean", "cls")


class DomainClassifier(nn.Module):
    """Encoder + pooling + dropout + linear head producing one logit per label."""

    def __init__(self, encoder: nn.Module, num_labels: int, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"unknown pooling {pooling!r}: want one of {POOLINGS}")
        if num_labels < 2:
            raise ValueError(f"need at least 2 labels, got {num_labels}")
        self.encoder = encoder
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.config.hidden_size, num_labels)

    def forward(self, input_ids, attention_mask, token_type_ids=None):
        out = self.encoder(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        if self.pooling == "cls":
            pooled = out[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(out.dtype)
            pooled = (out * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.head(self.dropout(pooled))


def from_pretrained(encoder_dir: str | Path, num_labels: int, pooling: str = "mean",
                    dropout: float = 0.1, attn: str = "sdpa") -> DomainClassifier:
    """Builds a fresh classifier on the pretrained encoder weights in encoder_dir."""
    enc = AutoModel.from_pretrained(str(encoder_dir), attn_implementation=attn, add_pooling_layer=False,
                                    dtype=torch.float32)
    return DomainClassifier(enc, num_labels, pooling=pooling, dropout=dropout)


def keep_layers(model: DomainClassifier, n: int) -> None:
    """Drops the encoder's top layers, keeping the first n (a cheaper, faster encoder)."""
    layers = model.encoder.encoder.layer
    if not 1 <= n <= len(layers):
        raise ValueError(f"cannot keep {n} layers of {len(layers)}")
    model.encoder.encoder.layer = layers[:n]
    model.encoder.config.num_hidden_layers = n


def select_layers(model: DomainClassifier, indices: list[int]) -> None:
    """Keeps the encoder layers at indices, in that order (e.g. every other
    layer: a student initialised across the teacher's depth)."""
    layers = model.encoder.encoder.layer
    if not indices or any(not 0 <= i < len(layers) for i in indices) or len(set(indices)) != len(indices):
        raise ValueError(f"layer indices {indices} must be distinct and within 0..{len(layers) - 1}")
    model.encoder.encoder.layer = nn.ModuleList([layers[i] for i in indices])
    model.encoder.config.num_hidden_layers = len(indices)


def save(model: DomainClassifier, out_dir: str | Path, meta: dict) -> None:
    """Writes config.json (encoder), classifier.pt (all weights) and meta.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.config.save_pretrained(str(out))
    state = {k: v.detach().to("cpu", torch.float32).contiguous() for k, v in model.state_dict().items()}
    torch.save(state, out / "classifier.pt")
    (out / "meta.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")


def load(ckpt_dir: str | Path, attn: str = "eager") -> tuple[DomainClassifier, dict]:
    """Loads a checkpoint written by save(); returns the model (eval mode, CPU) and its meta."""
    d = Path(ckpt_dir)
    meta_path = d / "meta.json"
    if not meta_path.is_file():
        raise FileNotFoundError(f"{d} is not a checkpoint: meta.json missing")
    meta = json.loads(meta_path.read_text())
    config = AutoConfig.from_pretrained(str(d))
    config._attn_implementation = attn
    enc = AutoModel.from_config(config, add_pooling_layer=False)
    model = DomainClassifier(enc, len(meta["labels"]), pooling=meta["pooling"])
    state = torch.load(d / "classifier.pt", map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model, meta
