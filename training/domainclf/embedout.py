"""Adds the sentence embedding output to a classifier graph, deterministically.

    python -m domainclf.embedout --model ../models/domain-minilm [--check]

The classifier computes a sentence embedding on its way to the logits: the
mean-pooled last hidden state that its classification head reads. This module
finds that tensor (walking back from `logits` through the head to its
activation input, before the int8 graph's DynamicQuantizeLinear) and exposes
it as a second graph output, `sentence_embedding` [batch, hidden], through an
Identity node. Nothing else in the graph changes, so the logits stay
bit-identical (training/tests/test_embedout.py checks it on dev.jsonl) and one
encoder pass yields both the domain scores and the embedding the similarity
signal compares (pkg/plugins/signal/similarity).

It rewrites model.onnx in place and records in model_info.json the new sha256
and, under `embedding`, the output, its source tensor and the sha256 of the
graph it was derived from (strip() gives that graph back byte for byte). Run
on a graph that already has the output, it changes nothing. `make
model-embedding` runs it on models/domain-minilm; `make model` runs it after
each export. --check only verifies.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import onnx
from onnx import TensorProto, helper

OUTPUT = "sentence_embedding"
NODE = "sentence_embedding_output"
LOGITS = "logits"
# Operators between the pooled tensor and the logits: the head's product
# (float or int8) and the bias/scale arithmetic around it.
HEAD_PRODUCTS = ("MatMul", "Gemm", "MatMulInteger")
HEAD_PASS = ("Add", "Mul", "Cast")


class GraphError(Exception):
    """The graph has a form this module does not rewrite."""


def sha256_bytes(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def pooled_tensor(model: onnx.ModelProto) -> tuple[str, int]:
    """The activation the classification head reads (the head product's
    non-initializer input, through its DynamicQuantizeLinear in int8 graphs)
    and its width, from the head's weight matrix. ONNX's shape inference
    cannot say it: it does not know ONNX Runtime's com.microsoft operators."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    todo, seen = [LOGITS], set()
    while todo:
        name = todo.pop(0)
        if name in seen or name not in producer:
            continue
        seen.add(name)
        n = producer[name]
        if n.op_type in HEAD_PRODUCTS:
            act, w = n.input[0], inits.get(n.input[1])
            if act in inits or w is None or len(w.dims) != 2:
                raise GraphError(f"head {n.name or n.output[0]} is not activation x weight matrix")
            trans_b = any(a.name == "transB" and a.i for a in n.attribute)
            width = w.dims[1] if trans_b else w.dims[0]
            src = producer.get(act)
            if src is not None and src.op_type == "DynamicQuantizeLinear":
                act = src.input[0]
            return act, int(width)
        if n.op_type not in HEAD_PASS:
            raise GraphError(f"{LOGITS} is computed by {n.op_type} ({n.name or n.output[0]}), not by a head product")
        todo.extend(i for i in n.input if i and i not in inits)
    raise GraphError(f"no head product ({', '.join(HEAD_PRODUCTS)}) found before {LOGITS}")


def has_output(model: onnx.ModelProto) -> bool:
    return any(o.name == OUTPUT for o in model.graph.output)


def add_output(model: onnx.ModelProto) -> tuple[onnx.ModelProto, str, int]:
    """Returns a copy of model with the embedding output, its source tensor and width."""
    if has_output(model):
        raise GraphError(f"the graph already has an output {OUTPUT!r}")
    out = onnx.ModelProto()
    out.CopyFrom(model)
    src, width = pooled_tensor(out)
    logits = next(o for o in out.graph.output if o.name == LOGITS)
    batch = logits.type.tensor_type.shape.dim[0]
    out.graph.node.append(helper.make_node("Identity", [src], [OUTPUT], name=NODE))
    vi = helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [batch.dim_param or batch.dim_value or "batch", width])
    out.graph.output.append(vi)
    onnx.checker.check_model(out)
    return out, src, width


def strip(model: onnx.ModelProto) -> onnx.ModelProto:
    """The inverse of add_output: the graph without the embedding output."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    keep = [n for n in out.graph.node if not (n.op_type == "Identity" and list(n.output) == [OUTPUT])]
    del out.graph.node[:]
    out.graph.node.extend(keep)
    outs = [o for o in out.graph.output if o.name != OUTPUT]
    del out.graph.output[:]
    out.graph.output.extend(outs)
    return out


def rewrite(model_dir: Path, check: bool = False) -> dict:
    """Adds the output to model_dir/model.onnx (unless it has it) and records
    it in model_info.json; returns the `embedding` record."""
    path = model_dir / "model.onnx"
    data = path.read_bytes()
    model = onnx.load_from_string(data)
    info_path = model_dir / "model_info.json"
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    if has_output(model):
        rec = info.get("embedding")
        if rec is None or rec.get("output") != OUTPUT:
            raise GraphError(f"{path} has {OUTPUT!r} but model_info.json does not record it")
        if info.get("files", {}).get("model.onnx") not in (None, sha256_bytes(data)):
            raise GraphError(f"{path}: sha256 differs from model_info.json")
        if sha256_bytes(strip(model).SerializeToString()) != rec["derived_from"]:
            raise GraphError(f"{path}: stripping {OUTPUT!r} does not give the graph it was derived from")
        return rec
    if check:
        raise GraphError(f"{path} has no {OUTPUT!r} output: run `make model-embedding`")
    new, src, width = add_output(model)
    blob = new.SerializeToString()
    if sha256_bytes(strip(new).SerializeToString()) != sha256_bytes(model.SerializeToString()):
        raise GraphError("stripping the new output does not give the source graph back")
    rec = {"output": OUTPUT, "source": src, "dim": width, "derived_from": sha256_bytes(model.SerializeToString()),
           "what": "the pooled vector the classification head reads (mean of the last hidden states over real "
                   "tokens), float32, not normalised; the Go backend L2-normalises it"}
    path.write_bytes(blob)
    if info:
        info["embedding"] = rec
        info.setdefault("files", {})["model.onnx"] = sha256_bytes(blob)
        info_path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="model directory (models/domain-minilm)")
    ap.add_argument("--check", action="store_true", help="verify the output and its record; write nothing")
    args = ap.parse_args(argv)
    try:
        rec = rewrite(Path(args.model), args.check)
    except (GraphError, OSError) as e:
        print(f"embedout: {e}", file=sys.stderr)
        return 1
    print(f"{args.model}: output {rec['output']} = {rec['source']} [batch, {rec['dim']}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
