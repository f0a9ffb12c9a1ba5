"""Exports a checkpoint to an ONNX model directory (fp32 and int8) and checks parity.

    python -m domainclf.export --ckpt DIR --encoder DIR --out DIR [--int8-out DIR] [--force]

Each output directory holds model.onnx (inputs input_ids, attention_mask,
token_type_ids; output logits; batch and sequence axes dynamic),
tokenizer.json and category_mapping.json, plus model_info.json with
provenance and the parity numbers. ONNX Runtime's fp32 logits must match
PyTorch's within --atol on a fixture set, or the export fails. The int8
model (onnxruntime quantize_dynamic) must agree with PyTorch's argmax on at
least --int8-agreement of the fixtures. Existing output directories are
never overwritten without --force.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import data, labels as lbl, text
from .encoder import file_sha256

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "logits"
MODEL_FILES = ("model.onnx", "tokenizer.json", "category_mapping.json", "model_info.json")


class ExportError(Exception):
    """Export refused or a check failed."""


def check_target(out: Path, force: bool) -> None:
    """Refuses to replace a directory that already holds a model unless force is set."""
    if out.exists() and any((out / f).exists() for f in MODEL_FILES) and not force:
        raise ExportError(f"{out} already holds a model; pass --force to overwrite it")


def fixture_texts(n: int = 48) -> list[str]:
    """Fixture set for parity: edge cases plus dev questions of varied length."""
    fixed = [
        "",
        "a",
        "What is the derivative of x^2 sin(x)?",
        "Ünïcödé façade naïve café — ¿qué? 数学の問題 🙂",
        "law " * 400,  # longer than max_len: exercises truncation
        "  \t leading and trailing whitespace \n ",
    ]
    try:
        dev = data.load_split("dev")
        step = max(1, len(dev) // max(1, n - len(fixed)))
        fixed += dev.texts[::step][: n - len(fixed)]
    except data.DataError as err:
        print(f"note: parity fixtures without dev rows: {err}", flush=True)
    return fixed


def torch_logits(model, enc: dict) -> np.ndarray:
    import torch

    with torch.no_grad():
        return model(**{k: torch.from_numpy(v) for k, v in enc.items()}).numpy()


def ort_logits(path: Path, enc: dict, threads: int = 1) -> np.ndarray:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    return sess.run([OUTPUT], {k: v for k, v in enc.items() if k in names})[0]


def export_onnx(model, path: Path, opset: int) -> None:
    import torch

    dummy = {
        "input_ids": torch.tensor([[101, 7592, 2088, 102], [101, 7592, 102, 0]]),
        "attention_mask": torch.tensor([[1, 1, 1, 1], [1, 1, 1, 0]]),
        "token_type_ids": torch.zeros(2, 4, dtype=torch.long),
    }
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUTS}
    axes[OUTPUT] = {0: "batch"}
    torch.onnx.export(
        model, (dummy["input_ids"], dummy["attention_mask"], dummy["token_type_ids"]), str(path),
        input_names=list(INPUTS), output_names=[OUTPUT], dynamic_axes=axes,
        opset_version=opset, do_constant_folding=True, dynamo=False,
    )


def optimize(src: Path, dst: Path, config) -> None:
    """ONNX Runtime's transformer fusions (attention, LayerNorm, GELU) at graph level.

    The fused graph uses com.microsoft contrib ops, which every ONNX Runtime
    build (including the one the Go backend loads) provides.
    """
    from onnxruntime.transformers import optimizer

    opt = optimizer.optimize_model(str(src), model_type="bert", num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size, opt_level=1, use_gpu=False)
    opt.save_model_to_file(str(dst))


def quantize(src: Path, dst: Path) -> None:
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused contrib ops defeat ONNX shape inference; their outputs are float.
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})


def write_dir(out: Path, onnx_file: Path, tokenizer_src: Path, meta: dict, info: dict) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    tmp.chmod(0o755)
    try:
        shutil.copyfile(onnx_file, tmp / "model.onnx")
        text.write_shipped_tokenizer(tokenizer_src, tmp / "tokenizer.json", meta["max_len"])
        lbl.write_category_mapping(meta["labels"], tmp / "category_mapping.json")
        info = dict(info, files={f: file_sha256(tmp / f) for f in ("model.onnx", "tokenizer.json", "category_mapping.json")})
        (tmp / "model_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def run(args) -> dict:
    from . import model as mdl

    out = Path(args.out)
    int8_out = Path(args.int8_out) if args.int8_out else None
    check_target(out, args.force)
    if int8_out:
        check_target(int8_out, args.force)
    model, meta = mdl.load(args.ckpt, attn="eager")
    tok_src = Path(args.encoder) / "tokenizer.json" if args.encoder else Path(args.ckpt) / "tokenizer.json"
    if not tok_src.is_file():
        raise ExportError(f"tokenizer.json not found at {tok_src}")
    tok = text.load_tokenizer(tok_src, meta["max_len"])
    enc = text.encode(tok, fixture_texts(args.fixtures))
    ref = torch_logits(model, enc)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        raw, fused, q8 = Path(td) / "raw.onnx", Path(td) / "fused.onnx", Path(td) / "int8.onnx"
        export_onnx(model, raw, args.opset)
        fp32 = raw
        if not args.no_optimize:
            optimize(raw, fused, model.encoder.config)
            fp32 = fused
        got = ort_logits(fp32, enc)
        diff = float(np.max(np.abs(got - ref)))
        print(f"parity fp32: max |ort - torch| = {diff:.2e} over {len(ref)} fixtures (atol {args.atol})", flush=True)
        if not diff <= args.atol:
            raise ExportError(f"fp32 ONNX logits differ from PyTorch by {diff:.2e} > {args.atol}")
        base = {k: meta[k] for k in ("labels", "pooling", "max_len", "encoder", "best_epoch", "dev", "recipe")}
        parity = {"fixtures": len(ref), "fp32_max_abs_diff": diff, "atol": args.atol}
        write_dir(out, fp32, tok_src, meta, dict(base, precision="fp32", parity=parity))
        result = {"fp32": str(out), "fp32_max_abs_diff": diff}
        if int8_out:
            quantize(fp32, q8)
            got8 = ort_logits(q8, enc)
            agree = float(np.mean(got8.argmax(1) == ref.argmax(1)))
            d8 = float(np.max(np.abs(got8 - ref)))
            print(f"parity int8: argmax agreement {agree:.3f}, max |ort - torch| = {d8:.2e}", flush=True)
            if agree < args.int8_agreement:
                raise ExportError(f"int8 argmax agreement {agree:.3f} < {args.int8_agreement}")
            parity8 = dict(parity, int8_argmax_agreement=agree, int8_max_abs_diff=d8,
                           int8_min_agreement=args.int8_agreement)
            write_dir(int8_out, q8, tok_src, meta,
                      dict(base, precision="int8 (quantize_dynamic, QInt8 per-channel weights)", parity=parity8))
            result.update(int8=str(int8_out), int8_argmax_agreement=agree)
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="checkpoint folder written by domainclf.train")
    p.add_argument("--encoder", default=None, help="encoder folder holding tokenizer.json")
    p.add_argument("--out", required=True, help="fp32 model directory to write")
    p.add_argument("--int8-out", default=None, help="int8 model directory to write (optional)")
    p.add_argument("--force", action="store_true", help="overwrite existing model directories")
    p.add_argument("--opset", type=int, default=17)
    p.add_argument("--atol", type=float, default=1e-3, help="max |logit difference| ORT fp32 vs PyTorch")
    p.add_argument("--int8-agreement", type=float, default=0.95, help="min argmax agreement int8 vs PyTorch")
    p.add_argument("--fixtures", type=int, default=48)
    p.add_argument("--no-optimize", action="store_true", help="skip ONNX Runtime's transformer fusions")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        res = run(args)
    except (ExportError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
