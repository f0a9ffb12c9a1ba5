"""Fuses the GPU graph's embedding and residual blocks into ONNX Runtime's fused operators.

At batch 1 a run of the GPU graph costs about a fixed host time per node (ONNX Runtime's CUDA
provider launches each node's kernels from the host), so the fewer nodes, the lower the latency
(docs/results/gpu-default/). The dequantized graph keeps two patterns that ONNX Runtime's own
transformer optimizer does not fuse here, because quantization split them:

- embeddings: Gather(word) + Gather(token type) + Add + Gather(position, Range(0, S)) + Add +
  LayerNormalization, and ReduceSum(mask) for the attention's mask index, become one
  com.microsoft EmbedLayerNormalization (which outputs the same mask index);
- residual blocks: Add(x, residual) + Add(bias) + LayerNormalization become one
  com.microsoft SkipLayerNormalization (LayerNorm(x + residual + bias)).

Both compute the same function (in fp32 the logits match to rounding: test_gpufuse.py).
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

MS_DOMAIN = "com.microsoft"


class FuseError(Exception):
    """The graph lacks a pattern this module fuses."""


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.g = model.graph
        self.inits = {t.name: t for t in self.g.initializer}
        self.producer = {o: n for n in self.g.node for o in n.output}
        self.consumers: dict[str, list] = {}
        for n in self.g.node:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in self.g.output}

    def only_consumer(self, name: str):
        c = self.consumers.get(name, [])
        return c[0] if len(c) == 1 and name not in self.outputs else None

    def const(self, name: str) -> np.ndarray | None:
        if name in self.inits:
            return numpy_helper.to_array(self.inits[name])
        n = self.producer.get(name)
        if n is not None and n.op_type == "Constant":
            return numpy_helper.to_array(n.attribute[0].t)
        return None


def _epsilon(ln) -> float:
    return next((a.f for a in ln.attribute if a.name == "epsilon"), 1e-5)


def _last_axis(ln) -> bool:
    return next((a.i for a in ln.attribute if a.name == "axis"), -1) in (-1, 2)


def fuse_skip_layer_norm(model: onnx.ModelProto) -> int:
    """Fuses Add(x, r) -> Add(., bias) -> LayerNormalization; returns how many."""
    gr = _Graph(model)
    remove, add = set(), []
    for ln in gr.g.node:
        if ln.op_type != "LayerNormalization" or not _last_axis(ln) or len(ln.input) < 3:
            continue
        bias_add = gr.producer.get(ln.input[0])
        if bias_add is None or bias_add.op_type != "Add" or gr.only_consumer(bias_add.output[0]) is not ln:
            continue
        bias = next((i for i in bias_add.input if gr.const(i) is not None and gr.const(i).ndim == 1), None)
        if bias is None:
            continue
        summed = next(i for i in bias_add.input if i != bias)
        res_add = gr.producer.get(summed)
        if res_add is None or res_add.op_type != "Add" or gr.only_consumer(summed) is not bias_add:
            continue
        if any(gr.const(i) is not None for i in res_add.input):
            continue
        node = helper.make_node("SkipLayerNormalization", [res_add.input[0], res_add.input[1], ln.input[1], ln.input[2], bias],
                                [ln.output[0]], name=(ln.name or ln.output[0]) + "_skip", domain=MS_DOMAIN,
                                epsilon=_epsilon(ln))
        remove.update({id(ln), id(bias_add), id(res_add)})
        add.append((ln, node))
    _replace(gr.g, remove, add)
    return len(add)


def fuse_embed_layer_norm(model: onnx.ModelProto) -> bool:
    """Fuses the embedding block and the mask index into EmbedLayerNormalization."""
    gr = _Graph(model)
    gathers = {n.input[1]: n for n in gr.g.node if n.op_type == "Gather" and n.input[0] in gr.inits}
    word, ttype = gathers.get("input_ids"), gathers.get("token_type_ids")
    if word is None:
        raise FuseError("no Gather of input_ids on an embedding table")
    # The LayerNormalization the word embedding reaches through Adds only.
    chain, cur = [], word.output[0]
    while True:
        nxt = gr.only_consumer(cur)
        if nxt is None:
            raise FuseError("the word embedding has several consumers")
        if nxt.op_type == "LayerNormalization":
            ln = nxt
            break
        if nxt.op_type != "Add":
            raise FuseError(f"the word embedding reaches {nxt.op_type} before its LayerNormalization")
        chain.append(nxt)
        cur = nxt.output[0]
    others = {i for a in chain for i in a.input} - {word.output[0]} - {a.output[0] for a in chain}
    pos = next((gr.producer[i] for i in others if i in gr.producer and gr.producer[i].op_type == "Gather"
                and gr.producer[i] is not ttype), None)
    if len(chain) != (2 if ttype is not None else 1) or pos is None or (ttype is not None and ttype.output[0] not in others):
        raise FuseError("embedding block is not word + token type + position")
    unsq = gr.producer.get(pos.input[1])
    rng = gr.producer.get(unsq.input[0]) if unsq is not None and unsq.op_type == "Unsqueeze" else None
    if rng is None or rng.op_type != "Range" or gr.const(rng.input[0]) is None or gr.const(rng.input[2]) is None \
            or int(gr.const(rng.input[0])) != 0 or int(gr.const(rng.input[2])) != 1:
        raise FuseError("position ids are not Range(0, sequence length, 1)")
    # The attention's mask index: ReduceSum over the int32 mask.
    mask_index = {n.input[3] for n in gr.g.node if n.op_type == "Attention" and len(n.input) > 3 and n.input[3]}
    if len(mask_index) != 1:
        raise FuseError("the Attention nodes do not share one mask index")
    mi = gr.producer.get(next(iter(mask_index)))
    if mi is None or mi.op_type != "ReduceSum":
        raise FuseError("the mask index is not a ReduceSum")
    cast = gr.producer.get(mi.input[0])
    if cast is None or cast.op_type != "Cast" or cast.input[0] != "attention_mask":
        raise FuseError("the mask index does not sum the attention mask")
    nodes, inputs = [], []
    for name in ("input_ids", "token_type_ids"):
        if name == "token_type_ids" and ttype is None:
            inputs.append("")
            continue
        nodes.append(helper.make_node("Cast", [name], [name + "_int32"], to=onnx.TensorProto.INT32))
        inputs.append(name + "_int32")
    emb = helper.make_node(
        "EmbedLayerNormalization",
        [inputs[0], inputs[1], word.input[0], pos.input[0], ttype.input[0] if ttype is not None else "",
         ln.input[1], ln.input[2], cast.output[0]],
        [ln.output[0], mi.output[0]], name="EmbedLayerNormalization_0", domain=MS_DOMAIN, epsilon=_epsilon(ln))
    nodes.append(emb)
    remove = {id(n) for n in [word, pos, ln, mi, *chain] + ([ttype] if ttype is not None else [])}
    _replace(gr.g, remove, [(ln, n) for n in nodes])
    _prune(model)
    return True


def _replace(g, remove: set, add: list) -> None:
    """Drops the nodes in remove and puts each added node where its anchor was."""
    at: dict[int, list] = {}
    for anchor, node in add:
        at.setdefault(id(anchor), []).append(node)
    kept = []
    for n in g.node:
        if id(n) in at:
            # Inputs made by nodes after the anchor (e.g. the mask index) need the new node later:
            # ordering is fixed by _toposort.
            kept.extend(at[id(n)])
        if id(n) not in remove:
            kept.append(n)
    del g.node[:]
    g.node.extend(_toposort(kept, {i.name for i in g.input} | {t.name for t in g.initializer}))


def _toposort(nodes: list, available: set) -> list:
    have, out, pending = set(available) | {""}, [], list(nodes)
    while pending:
        rest = []
        for n in pending:
            if all(i in have for i in n.input):
                out.append(n)
                have.update(n.output)
            else:
                rest.append(n)
        if len(rest) == len(pending):
            raise FuseError(f"graph has a cycle or a missing input at {rest[0].op_type} {rest[0].name}")
        pending = rest
    return out


def _prune(model: onnx.ModelProto) -> None:
    """Removes the nodes and initializers no graph output depends on."""
    g = model.graph
    needed = {o.name for o in g.output}
    keep = []
    for n in reversed(list(g.node)):
        if any(o in needed for o in n.output):
            keep.append(n)
            needed.update(n.input)
    del g.node[:]
    g.node.extend(reversed(keep))
    inits = [t for t in g.initializer if t.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)


def fuse(model: onnx.ModelProto) -> dict:
    """Applies both fusions to a float graph; returns what was fused."""
    embed = fuse_embed_layer_norm(model)
    skip = fuse_skip_layer_norm(model)
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    return {"EmbedLayerNormalization": int(embed), "SkipLayerNormalization": skip}
