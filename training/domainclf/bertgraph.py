"""The encoder's forward pass written the way ONNX Runtime's fusions expect it.

transformers 5 builds the attention mask through its masking utilities; the
ONNX graph traced from that code is not matched by ONNX Runtime's attention
fusion, so every layer stays a chain of Transpose, MatMul, Softmax and Add
nodes. ExportableClassifier computes exactly the same function (the tests
compare it with DomainClassifier) in the classic BERT form, with the mask
applied as (1 - mask) * -10000 added to the scores, which the fusion turns
into one Attention node per layer (QAttention after int8 quantization).

After fusion two graph forms are produced (export.py):
- cpu: Attention fused, SkipLayerNormalization split back into Add +
  LayerNormalization, int8. ONNX Runtime 1.30's CPU SkipLayerNormalization
  kernel is several times slower than LayerNormalization on this model's
  shapes (measured: 12 calls 3.1 ms against 0.5 ms at 128 tokens).
- gpu: every fusion kept, weights in fp16, inputs and logits unchanged.
"""

from __future__ import annotations

import math

import onnx
import torch
from onnx import helper
from torch import nn

from .model import DomainClassifier


class ExportableClassifier(nn.Module):
    """DomainClassifier's function for a BERT encoder, traced for export only."""

    def __init__(self, model: DomainClassifier):
        super().__init__()
        cfg = model.encoder.config
        # transformers 5 raises AttributeError for this key on some configs: absent means absolute.
        positions = getattr(cfg, "position_embedding_type", None) or "absolute"
        if cfg.model_type != "bert" or cfg.hidden_act != "gelu" or positions != "absolute":
            raise ValueError(f"classic export supports BERT with gelu and absolute positions, not "
                             f"{cfg.model_type}/{cfg.hidden_act}/{positions}")
        self.model = model
        self.heads = cfg.num_attention_heads
        self.head_dim = cfg.hidden_size // cfg.num_attention_heads

    def forward(self, input_ids, attention_mask, token_type_ids):
        emb = self.model.encoder.embeddings
        positions = torch.arange(input_ids.size(1), dtype=torch.long, device=input_ids.device).unsqueeze(0)
        x = emb.word_embeddings(input_ids) + emb.token_type_embeddings(token_type_ids) \
            + emb.position_embeddings(positions)
        x = emb.LayerNorm(x)
        bias = (1.0 - attention_mask.unsqueeze(1).unsqueeze(2).to(torch.float32)) * -10000.0
        for layer in self.model.encoder.encoder.layer:
            x = self._layer(layer, x, bias)
        if self.model.pooling == "cls":
            pooled = x[:, 0]
        else:
            mask = attention_mask.unsqueeze(-1).to(x.dtype)
            pooled = (x * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)
        return self.model.head(pooled)

    def _layer(self, layer, x, bias):
        att = layer.attention.self
        b, s, _ = x.shape

        def heads(t):
            return t.view(b, s, self.heads, self.head_dim).permute(0, 2, 1, 3)

        q, k, v = heads(att.query(x)), heads(att.key(x)), heads(att.value(x))
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim) + bias
        ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
        ctx = ctx.permute(0, 2, 1, 3).contiguous().view(b, s, self.heads * self.head_dim)
        out = layer.attention.output
        x = out.LayerNorm(out.dense(ctx) + x)
        hidden = nn.functional.gelu(layer.intermediate.dense(x))
        return layer.output.LayerNorm(layer.output.dense(hidden) + x)


def split_skip_layernorm(model: onnx.ModelProto) -> int:
    """Rewrites each SkipLayerNormalization as Add (+ bias Add) + LayerNormalization.

    Returns the number of nodes rewritten. The optional fourth output (the
    sum before normalization) is kept through an Identity.
    """
    nodes, count = [], 0
    for n in model.graph.node:
        if n.op_type != "SkipLayerNormalization":
            nodes.append(n)
            continue
        count += 1
        eps = next((a.f for a in n.attribute if a.name == "epsilon"), 1e-12)
        ins = list(n.input) + [""] * (5 - len(n.input))
        x, skip, gamma, beta, lin_bias = ins[:5]
        total = n.name + "_sum"
        nodes.append(helper.make_node("Add", [x, skip], [total], name=n.name + "_add"))
        if lin_bias:
            nodes.append(helper.make_node("Add", [total, lin_bias], [total + "_b"], name=n.name + "_add_bias"))
            total += "_b"
        outs = list(n.output)
        if len(outs) > 3 and outs[3]:
            nodes.append(helper.make_node("Identity", [total], [outs[3]], name=n.name + "_sum_out"))
        nodes.append(helper.make_node("LayerNormalization", [total, gamma] + ([beta] if beta else []),
                                      [outs[0]], name=n.name + "_ln", axis=-1, epsilon=eps))
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return count
