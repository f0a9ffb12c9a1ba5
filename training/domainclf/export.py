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

from . import bertgraph, data, labels as lbl, text
from .encoder import file_sha256

INPUTS = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT = "logits"
MODEL_FILES = ("model.onnx", "tokenizer.json", "category_mapping.json", "model_info.json")
ENSEMBLE_FILE = "ensemble.json"
ENSEMBLE_COMBINE = "weighted mean of log-probabilities"


def ensemble_spec(self_weight: float, members: list[str]) -> dict:
    """The ensemble.json the Go loader reads (docs/classifier.md): this model
    (".") plus each "DIR=WEIGHT" member, a directory relative to this one."""
    out = [{"model": ".", "weight": self_weight}]
    for m in members:
        rel, sep, w = m.rpartition("=")
        try:
            weight = float(w)
        except ValueError:
            weight = -1.0
        if not sep or not rel or not weight > 0:
            raise ExportError(f"--ensemble-member {m!r}: want DIR=WEIGHT with a weight > 0")
        out.append({"model": rel, "weight": weight})
    if not self_weight > 0:
        raise ExportError(f"--ensemble-weight {self_weight}: must be > 0")
    return {"combine": ENSEMBLE_COMBINE, "members": out}


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
    """Traces bertgraph.ExportableClassifier (same function as model, in the
    form ONNX Runtime's attention fusion matches) to path."""
    import torch

    model = bertgraph.ExportableClassifier(model).eval()

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


def optimize(src: Path, dst: Path, config, fp16_dst: Path | None = None) -> dict:
    """ONNX Runtime's transformer fusions (attention, LayerNorm, GELU) at graph level.

    The fused graph uses com.microsoft contrib ops, which every ONNX Runtime
    build (including the one the Go backend loads) provides. Every layer's
    attention must fuse (bertgraph exists for that). fp16_dst, when set,
    gets the same graph in fp16 with int64 inputs and float32 logits (GPU).
    """
    from onnxruntime.transformers import optimizer

    opt = optimizer.optimize_model(str(src), model_type="bert", num_heads=config.num_attention_heads,
                                   hidden_size=config.hidden_size, opt_level=1, use_gpu=False)
    stats = {k: v for k, v in opt.get_fused_operator_statistics().items() if v}
    if stats.get("Attention", 0) != config.num_hidden_layers:
        raise ExportError(f"attention fused in {stats.get('Attention', 0)} of {config.num_hidden_layers} layers: {stats}")
    opt.save_model_to_file(str(dst))
    if fp16_dst is not None:
        opt.convert_float_to_float16(keep_io_types=True)
        opt.save_model_to_file(str(fp16_dst))
    return stats


def quantize(src: Path, dst: Path) -> int:
    """int8 dynamic quantization, then the CPU graph form (bertgraph docstring).
    Returns the number of SkipLayerNormalization nodes split."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Fused contrib ops defeat ONNX shape inference; their outputs are float.
    quantize_dynamic(str(src), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    m = onnx.load(str(dst))
    n = bertgraph.split_skip_layernorm(m)
    onnx.checker.check_model(m)
    onnx.save(m, str(dst))
    return n


def write_dir(out: Path, onnx_file: Path, tokenizer_src: Path, meta: dict, info: dict,
              ensemble: dict | None = None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    tmp.chmod(0o755)
    try:
        shutil.copyfile(onnx_file, tmp / "model.onnx")
        text.write_shipped_tokenizer(tokenizer_src, tmp / "tokenizer.json", meta["max_len"])
        lbl.write_category_mapping(meta["labels"], tmp / "category_mapping.json")
        if ensemble:
            (tmp / ENSEMBLE_FILE).write_text(json.dumps(ensemble, indent=2) + "\n")
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
    fp16_out = Path(args.fp16_out) if args.fp16_out else None
    if fp16_out:
        check_target(fp16_out, args.force)
        if args.no_optimize:
            raise ExportError("--fp16-out needs the fused graph (drop --no-optimize)")
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
        f16 = Path(td) / "fp16.onnx"
        export_onnx(model, raw, args.opset)
        fp32 = raw
        if not args.no_optimize:
            stats = optimize(raw, fused, model.encoder.config, f16 if fp16_out else None)
            print(f"fused: {stats}", flush=True)
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
            ens = ensemble_spec(args.ensemble_weight, args.ensemble_member) if args.ensemble_member else None
            write_dir(int8_out, q8, tok_src, meta,
                      dict(base, precision="int8 (quantize_dynamic, QInt8 per-channel weights)", parity=parity8),
                      ensemble=ens)
            result.update(int8=str(int8_out), int8_argmax_agreement=agree)
        if fp16_out:
            # ONNX Runtime's CPU provider has no fp16 Attention kernel, so the
            # fp16 graph's parity is checked where it runs: the Go backend's
            # CUDA test (TestCUDAModelAgreement) compares it with the fp32 model on the CPU.
            write_dir(fp16_out, f16, tok_src, meta,
                      dict(base, precision="fp16 (GPU graph: fused attention, fp16 weights, fp32 logits)",
                           parity=dict(parity, fp16="checked on CUDA by pkg/classifier/onnx TestCUDAModelAgreement")))
            result.update(fp16=str(fp16_out))
    return result


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ckpt", required=True, help="checkpoint folder written by domainclf.train")
    p.add_argument("--encoder", default=None, help="encoder folder holding tokenizer.json")
    p.add_argument("--out", required=True, help="fp32 model directory to write")
    p.add_argument("--int8-out", default=None, help="int8 model directory to write (optional)")
    p.add_argument("--ensemble-member", action="append", default=[],
                   help="DIR=WEIGHT: write an ensemble.json beside the int8 model combining it with DIR "
                        "(relative to it, e.g. ../domain-linear=0.5); repeatable")
    p.add_argument("--ensemble-weight", type=float, default=0.5, help="the int8 model's own weight in ensemble.json")
    p.add_argument("--fp16-out", default=None, help="fp16 GPU model directory to write (optional)")
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
