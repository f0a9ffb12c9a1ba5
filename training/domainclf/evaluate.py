"""Evaluates ONNX model directories on dev.jsonl and measures CPU latency with ONNX Runtime.

    python -m domainclf.evaluate MODEL_DIR [MODEL_DIR ...] [--threads 2] [--json out.json]

Accuracy, macro-F1 and per-class F1 on dev; latency is one request at a time
(batch 1) at exactly --tokens tokens, after warm-up, reported as p50/p90/p99.
Needs no torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import data, labels as lbl, metrics, text


class ModelDir:
    """An exported model directory opened with ONNX Runtime on CPU."""

    def __init__(self, path: str | Path, threads: int = 2, max_len: int | None = None):
        import onnxruntime as ort

        self.path = Path(path)
        for f in ("model.onnx", "tokenizer.json", "category_mapping.json"):
            if not (self.path / f).is_file():
                raise FileNotFoundError(f"{self.path}: {f} missing")
        self.labels = lbl.read_category_mapping(self.path / "category_mapping.json")
        info_path = self.path / "model_info.json"
        self.info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.max_len = max_len or self.info.get("max_len", 128)
        self.tok = text.load_tokenizer(self.path / "tokenizer.json", self.max_len)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.sess = ort.InferenceSession(str(self.path / "model.onnx"), so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]

    def logits(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        order = np.argsort([len(t) for t in texts])
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        for i in range(0, len(texts), batch_size):
            sel = order[i:i + batch_size]
            enc = text.encode(self.tok, [texts[j] for j in sel])
            out[sel] = self.sess.run(["logits"], {k: enc[k] for k in self.inputs})[0]
        return out

    def latency_ms(self, tokens: int = 128, iters: int = 200, warmup: int = 20) -> dict:
        """Batch-1 latency at exactly `tokens` tokens (ids drawn from the vocabulary, fixed seed)."""
        rng = np.random.default_rng(0)
        ids = rng.integers(1000, 29000, size=(1, tokens), dtype=np.int64)
        ids[0, 0], ids[0, -1] = 101, 102
        feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}
        feed = {k: feed[k] for k in self.inputs}
        for _ in range(warmup):
            self.sess.run(["logits"], feed)
        times, cpu = [], []
        for _ in range(iters):
            t, c = time.perf_counter(), time.process_time()
            self.sess.run(["logits"], feed)
            times.append((time.perf_counter() - t) * 1e3)
            cpu.append((time.process_time() - c) * 1e3)
        p = np.percentile(times, [50, 90, 99])
        # CPU time per call (all threads) is what the call costs the machine; on a
        # busy shared machine wall time grows with the load, CPU time much less.
        return {"tokens": tokens, "iters": iters, "p50_ms": round(float(p[0]), 3),
                "p90_ms": round(float(p[1]), 3), "p99_ms": round(float(p[2]), 3),
                "cpu_p50_ms": round(float(np.median(cpu)), 3), "loadavg_1m": os.getloadavg()[0]}


def evaluate(path, dev: data.Dataset, threads: int, tokens: list[int], iters: int) -> dict:
    m = ModelDir(path, threads=threads)
    if m.labels != list(data.LABELS):
        raise ValueError(f"{path}: labels {m.labels} differ from the data's {list(data.LABELS)}")
    t = time.perf_counter()
    pred = m.logits(dev.texts).argmax(1)
    secs = time.perf_counter() - t
    res = metrics.scores(dev.labels, pred, data.LABELS)
    res["model"] = str(path)
    res["size_bytes"] = (Path(path) / "model.onnx").stat().st_size
    res["dev_seconds_batch32"] = round(secs, 2)
    res["latency"] = [m.latency_ms(tokens=n, iters=iters) for n in tokens]
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("models", nargs="+", help="model directories")
    p.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    p.add_argument("--tokens", type=int, nargs="+", default=[128])
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--data", default=None)
    p.add_argument("--json", default=None, help="write all results to this file")
    p.add_argument("--record", action="store_true",
                   help="store each model's dev accuracy and macro-F1 in its model_info.json (onnx_dev)")
    args = p.parse_args(argv)
    try:
        dev = data.load_split("dev", args.data)
        results = [evaluate(m, dev, args.threads, args.tokens, args.iters) for m in args.models]
    except (data.DataError, FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for r in results:
        lat = " ".join(f"p50@{x['tokens']}={x['p50_ms']}ms" for x in r["latency"])
        print(f"{r['model']}: accuracy {r['accuracy']:.4f} macro-F1 {r['macro_f1']:.4f} "
              f"size {r['size_bytes'] / 1e6:.1f} MB {lat}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    if args.record:
        for r in results:
            record(r["model"], r)
    return 0


def record(model_dir, result: dict) -> None:
    """Writes the dev numbers into model_info.json (not covered by its own sha256 list)."""
    path = Path(model_dir) / "model_info.json"
    info = json.loads(path.read_text()) if path.is_file() else {}
    info["onnx_dev"] = {"accuracy": round(result["accuracy"], 4), "macro_f1": round(result["macro_f1"], 4),
                        "per_class_f1": {k: round(v["f1"], 4) for k, v in result["per_class"].items()},
                        "n": result["n"]}
    path.write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    sys.exit(main())
