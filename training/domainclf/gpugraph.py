"""Derives the default's GPU graph from the shipped int8 CPU graph, deterministically.

    python -m domainclf.gpugraph --src ../models/domain-minilm --out DIR [--precision fp16|fp32]

The shipped model (models/domain-minilm) is an ONNX Runtime int8 graph
(quantize_dynamic: DynamicQuantizeLinear + MatMulInteger, QAttention,
DequantizeLinear'd embedding tables) whose quantized operators have no CUDA
kernels, so on the CUDA provider they run on the host. This module rewrites it
into a float graph of the same function with the int8 weights dequantized
((w - zero_point) * scale, exact in fp32): every DynamicQuantizeLinear ->
MatMulInteger -> Cast -> Mul chain becomes one MatMul, QAttention becomes the
com.microsoft Attention it was quantized from, Gather + DequantizeLinear on an
embedding table becomes a Gather on the dequantized table. fp16 (default)
then converts the weights and activations with ONNX Runtime's own converter,
keeping int64 inputs and float32 outputs (logits, and the sentence embedding
when the source graph has one: domainclf.embedout). Only the activations' dynamic
quantization of the CPU graph is gone, so labels agree with the CPU default
on nearly every text (TestCUDAModelAgreement measures it on dev.jsonl).

The output directory is what `modelDir` takes: model.onnx, the same
tokenizer.json, category_mapping.json and ensemble.json, and a model_info.json
naming the source graph's sha256. No torch, no checkpoint, no training: the
CUDA image builds it from the repository at image build (`make model-gpu`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

from domainclf import gpufuse

COPIED = ("tokenizer.json", "category_mapping.json", "ensemble.json")
MS_DOMAIN = "com.microsoft"


class GraphError(Exception):
    """The source graph has a form this module does not rewrite."""


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fake_quant(x: str, mask3: str, rank: int, nodes: list, consts: dict) -> str:
    """Appends float nodes computing DynamicQuantizeLinear(x) dequantized again,
    ((q - zero_point) * scale), with the range taken per text (the CPU default
    runs one text at a time) over its real tokens only; returns the output name.
    Padded positions are zeroed first, which leaves the range unchanged: it
    always includes 0."""
    p = x + "_fq"
    axes = [1, 2] if rank == 3 else [1]  # an attribute up to opset 17, the shipped graph's
    # Constants of their own per use: the fp16 converter names the casts it
    # inserts after the constant, so a shared one would give two nodes one name.
    for c, v in (("_zero", 0.0), ("_255", 255.0), ("_tiny", 1e-30)):
        consts[p + c] = np.array(v, dtype=np.float32)
    src = x
    if rank == 3:
        nodes.append(helper.make_node("Mul", [x, mask3], [p + "_m"]))
        src = p + "_m"
    add = lambda op, ins, out, **kw: nodes.append(helper.make_node(op, ins, [p + out], **kw))
    # max(0, max x) and min(0, min x) with Relu: Max and Min stay fp32 in the fp16 converter.
    add("ReduceMax", [src], "_max", axes=axes, keepdims=1)
    add("ReduceMin", [src], "_min", axes=axes, keepdims=1)
    add("Relu", [p + "_max"], "_hi")
    add("Neg", [p + "_min"], "_nmin")
    add("Relu", [p + "_nmin"], "_nlo")  # -min(0, min x)
    add("Add", [p + "_hi", p + "_nlo"], "_rng")
    add("Div", [p + "_rng", p + "_255"], "_s0")
    add("Add", [p + "_s0", p + "_tiny"], "_s")
    add("Div", [p + "_nlo", p + "_s"], "_zp0")
    add("Round", [p + "_zp0"], "_zp1")
    add("Clip", [p + "_zp1", p + "_zero", p + "_255"], "_zp")
    add("Div", [x, p + "_s"], "_xs")
    add("Round", [p + "_xs"], "_xr")
    add("Add", [p + "_xr", p + "_zp"], "_q0")
    add("Clip", [p + "_q0", p + "_zero", p + "_255"], "_q")
    add("Sub", [p + "_q", p + "_zp"], "_qz")
    add("Mul", [p + "_qz", p + "_s"], "")
    return p


def dequantize(model: onnx.ModelProto, emulate: bool = False) -> onnx.ModelProto:
    """Returns the float32 graph computing model's function on dequantized
    weights; with emulate, the activations are quantized as the CPU graph does
    (fake_quant) before each quantized product."""
    g = model.graph
    inits = {t.name: t for t in g.initializer}
    producer = {o: n for n in g.node for o in n.output}
    consumers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)

    def arr(name: str) -> np.ndarray:
        if name not in inits:
            raise GraphError(f"{name} is not an initializer")
        return numpy_helper.to_array(inits[name])

    new_inits: dict[str, np.ndarray] = {}

    def deq(wq: str, scale: str, zp: str, axis: int | None = None) -> str:
        """Adds the dequantized initializer of wq and returns its name."""
        name = wq.removesuffix("_quantized") + "_dequantized"
        if name not in new_inits:
            w, s, z = arr(wq).astype(np.float32), arr(scale).astype(np.float32), arr(zp).astype(np.float32)
            if s.ndim == 1 and s.size > 1:  # per output channel: columns of [K, N]
                shape = [1] * w.ndim
                shape[w.ndim - 1 if axis is None else axis] = s.size
                s, z = s.reshape(shape), z.reshape(shape)
            new_inits[name] = ((w - z) * s).astype(np.float32)
        return name

    # Float tensor each DynamicQuantizeLinear quantized, by its quantized output.
    float_of = {n.output[0]: n.input[0] for n in g.node if n.op_type == "DynamicQuantizeLinear"}
    drop: set[int] = set()
    out_nodes: list = []
    consts: dict[str, np.ndarray] = {}
    mask3 = ""
    if emulate:
        # [batch, sequence, 1] float mask of real tokens.
        consts["fq_axis_last"] = np.array([2], dtype=np.int64)
        out_nodes.append(helper.make_node("Unsqueeze", ["attention_mask", "fq_axis_last"], ["fq_mask_u"]))
        out_nodes.append(helper.make_node("Cast", ["fq_mask_u"], ["fq_mask3"], to=onnx.TensorProto.FLOAT))
        mask3 = "fq_mask3"
    # Rank of each quantized activation: 2 after pooling, else 3.
    pooled = {n.output[0] for n in g.node if n.op_type == "Div"}
    for n in g.node:
        op = n.op_type
        if op == "DynamicQuantizeLinear":
            if emulate:
                float_of[n.output[0]] = fake_quant(n.input[0], mask3, 2 if n.input[0] in pooled else 3, out_nodes, consts)
            continue
        if op == "MatMulInteger":
            cast = consumers.get(n.output[0], [])
            if len(cast) != 1 or cast[0].op_type != "Cast":
                raise GraphError(f"MatMulInteger {n.name or n.output[0]} is not followed by one Cast")
            mul = consumers.get(cast[0].output[0], [])
            if len(mul) != 1 or mul[0].op_type != "Mul":
                raise GraphError(f"MatMulInteger {n.name or n.output[0]} is not scaled by one Mul")
            scales = producer[[i for i in mul[0].input if i != cast[0].output[0]][0]]
            wscale = [i for i in scales.input if i in inits]
            if scales.op_type != "Mul" or len(wscale) != 1:
                raise GraphError(f"scale of {n.output[0]} is not activation scale x weight scale")
            x = float_of.get(n.input[0])
            if x is None:
                raise GraphError(f"MatMulInteger {n.output[0]} does not read a DynamicQuantizeLinear output")
            w = deq(n.input[1], wscale[0], n.input[3])
            out_nodes.append(helper.make_node("MatMul", [x, w], [mul[0].output[0]], name=(n.name or n.output[0]) + "_fp"))
            drop.update({id(cast[0]), id(mul[0]), id(scales)})
            continue
        if op == "QAttention":
            x = float_of.get(n.input[0])
            if x is None:
                raise GraphError(f"QAttention {n.output[0]} does not read a DynamicQuantizeLinear output")
            if len(n.input) > 8 and n.input[8]:
                raise GraphError(f"QAttention {n.output[0]} has a past state input")
            w = deq(n.input[1], n.input[4], n.input[7])
            mask = n.input[5] if len(n.input) > 5 else ""
            node = helper.make_node("Attention", [x, w, n.input[2], mask], list(n.output),
                                    name=(n.name or n.output[0]) + "_fp", domain=MS_DOMAIN)
            node.attribute.extend(n.attribute)
            out_nodes.append(node)
            continue
        if op == "DequantizeLinear":
            src = producer.get(n.input[0])
            axis = next((a.i for a in n.attribute if a.name == "axis"), None)
            if n.input[0] in inits:
                out_nodes.append(helper.make_node("Identity", [deq(n.input[0], n.input[1], n.input[2], axis)], list(n.output)))
            elif src is not None and src.op_type == "Gather" and src.input[0] in inits:
                if arr(n.input[1]).size != 1:
                    raise GraphError(f"embedding {src.input[0]} is quantized per channel")
                table = deq(src.input[0], n.input[1], n.input[2])
                drop.add(id(src))
                out_nodes.append(helper.make_node("Gather", [table, src.input[1]], list(n.output), name=(src.name or src.output[0]) + "_fp"))
            else:
                raise GraphError(f"DequantizeLinear {n.output[0]} reads neither an initializer nor a gathered one")
            continue
        if op in ("QEmbedLayerNormalization", "QLinearMatMul", "QGemm", "QuantizeLinear", "MatMulIntegerToFloat", "DynamicQuantizeMatMul"):
            raise GraphError(f"quantized operator {op} is not rewritten")
        out_nodes.append(n)
    kept = [n for n in out_nodes if id(n) not in drop]
    # The Gathers feeding a DequantizeLinear were appended before their dequantization was seen.
    del g.node[:]
    g.node.extend(kept)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)
    new_inits.update(consts)
    for name in sorted(new_inits):
        if name in used:
            g.initializer.append(numpy_helper.from_array(new_inits[name], name))
    del g.value_info[:]
    if not any(o.domain == MS_DOMAIN for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    onnx.checker.check_model(model)
    return model


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """fp16 weights and activations, int64 inputs and float32 outputs kept."""
    from onnxruntime.transformers.onnx_model import OnnxModel

    m = OnnxModel(model)
    m.convert_float_to_float16(keep_io_types=True)
    return m.model


def check_outputs(src: onnx.ModelProto, out: onnx.ModelProto) -> None:
    """The GPU graph has the source's outputs (logits, the embedding), float32."""
    want = [o.name for o in src.graph.output]
    got = {o.name: o.type.tensor_type.elem_type for o in out.graph.output}
    for name in want:
        if got.get(name) != onnx.TensorProto.FLOAT:
            raise GraphError(f"output {name} is lost or not float32 in the GPU graph")


def build(src: Path, out: Path, precision: str, emulate: bool = False, fused: bool = True,
          refine: tuple[str, float] | None = None, ensemble: bool = True) -> dict:
    """Writes the GPU graph of src's int8 model to out, with src's tokenizer,
    labels and (unless not ensemble) ensemble.json. refine (model directory
    relative to out, margin) adds the ensemble's refinement: the texts the
    ensemble is unsure of are classified again by that model (the exact form,
    see the Makefile's model-gpu)."""
    if refine is not None and not (0 < refine[1] < 1):
        raise GraphError(f"refine margin {refine[1]}: want one in (0, 1)")
    model = onnx.load(str(src / "model.onnx"))
    source = onnx.ModelProto()
    source.CopyFrom(model)
    model = dequantize(model, emulate)
    if fused:
        try:
            gpufuse.fuse(model)
        except gpufuse.FuseError as e:
            raise GraphError(f"fusing: {e}") from e
    if precision == "fp16":
        model = to_fp16(model)
    check_outputs(source, model)
    model.producer_name, model.producer_version, model.doc_string = "domainclf.gpugraph", "1", ""
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    tmp.chmod(0o755)
    try:
        onnx.save(model, str(tmp / "model.onnx"))
        for f in COPIED:
            if (src / f).is_file() and (ensemble or f != "ensemble.json"):
                shutil.copyfile(src / f, tmp / f)
        if refine is not None:
            if not (tmp / "ensemble.json").is_file():
                raise GraphError("refine needs the source's ensemble.json")
            spec = json.loads((tmp / "ensemble.json").read_text())
            spec["refine"] = {"model": refine[0], "margin": refine[1]}
            (tmp / "ensemble.json").write_text(json.dumps(spec, indent=2) + "\n")
        srcinfo = json.loads((src / "model_info.json").read_text()) if (src / "model_info.json").is_file() else {}
        info = {
            "derived_from": {"model.onnx": _sha256(src / "model.onnx"), "dir": src.name},
            "precision": f"{precision} (GPU graph: the shipped int8 graph's weights dequantized, "
                         f"{'activations quantized per text as on the CPU' if emulate else 'float activations'}, "
                         f"{'embedding and residual blocks fused, ' if fused else ''}int64 inputs, float32 outputs)",
            "labels": srcinfo.get("labels"),
            "max_len": srcinfo.get("max_len"),
            "embedding": srcinfo.get("embedding"),
            "files": {f: _sha256(tmp / f) for f in ("model.onnx", "tokenizer.json", "category_mapping.json", "ensemble.json")
                      if (tmp / f).is_file()},
        }
        (tmp / "model_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return info


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--src", required=True, help="int8 model directory (models/domain-minilm)")
    ap.add_argument("--out", required=True, help="output model directory")
    ap.add_argument("--precision", choices=("fp16", "fp32"), default="fp16")
    ap.add_argument("--activations", choices=("float", "int8"), default="float",
                    help="int8: quantize activations per text as the CPU graph does (fake_quant)")
    ap.add_argument("--fusion", choices=("on", "off"), default="on",
                    help="on: fuse the embedding and residual blocks (gpufuse), fewer nodes per run")
    ap.add_argument("--ensemble", choices=("on", "off"), default="on",
                    help="off: leave the source's ensemble.json out (a refinement model is no ensemble)")
    ap.add_argument("--refine", metavar="MODEL:MARGIN",
                    help="add to ensemble.json a refinement by MODEL (relative to --out) below MARGIN")
    args = ap.parse_args(argv)
    refine = None
    if args.refine:
        model, _, margin = args.refine.rpartition(":")
        try:
            refine = (model, float(margin))
        except ValueError:
            print(f"gpugraph: --refine {args.refine!r}: want MODEL:MARGIN", file=sys.stderr)
            return 2
    try:
        info = build(Path(args.src), Path(args.out), args.precision, args.activations == "int8", args.fusion == "on",
                     refine, args.ensemble == "on")
    except GraphError as e:
        print(f"gpugraph: {e}", file=sys.stderr)
        return 1
    print(f"GPU graph {args.out}: {info['precision']}, model.onnx sha256 {info['files']['model.onnx']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
