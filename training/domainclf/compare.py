"""One-run comparison on dev.jsonl: TF-IDF + linear SVM, the Go linear backend,
the Go default (the shipped ONNX model with its ensemble.json: ONNX + linear),
the ONNX model alone, and the ONNX models (fp32, int8, and the 6-layer teacher)
through ONNX Runtime in Python.

    python -m domainclf.compare --shipped DIR [--fp32 DIR] [--teacher DIR] [--classify bin/classify] [--out FILE.json]

Latency: ONNX models are timed at batch 1 and exactly 32 and 128 tokens
(2 intra-op threads); TF-IDF per dev question; the Go backends report the
p50 of sequential Classify calls over the dev questions (`classify eval`).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

from . import baseline, data, evaluate


def go_eval(classify: str, backend: str, model: str, dev_file: Path, *extra: str) -> dict:
    """Runs `classify eval` and parses its accuracy, macro-F1 and p50 latency."""
    cmd = [classify, "eval", "--backend", backend, "--data", str(dev_file), *extra]
    if model:
        cmd += ["--model", model]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.TimeoutExpired) as err:
        return {"error": f"{' '.join(cmd)}: {err}"}
    if proc.returncode != 0:
        return {"error": f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.strip()[-500:]}"}
    out = proc.stdout
    acc = re.search(r"^accuracy:\s+([0-9.]+)", out, re.M)
    f1 = re.search(r"^macro-F1:\s+([0-9.]+)", out, re.M)
    p50 = re.search(r"p50 ([0-9.]+)(µs|us|ms|s)\b", out)
    res = {"command": " ".join(cmd)}
    if acc and f1:
        res.update(accuracy=float(acc.group(1)), macro_f1=float(f1.group(1)))
    else:
        res["error"] = "could not parse classify eval output"
    if p50:
        scale = {"µs": 1e-3, "us": 1e-3, "ms": 1.0, "s": 1e3}[p50.group(2)]
        res["p50_ms"] = round(float(p50.group(1)) * scale, 3)
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--shipped", required=True, help="int8 model directory (the embedded model)")
    p.add_argument("--fp32", default=None, help="fp32 model directory (built by make model)")
    p.add_argument("--teacher", default=None, help="the 6-layer teacher's int8 directory (built by make model)")
    p.add_argument("--classify", default=None, help="path of the classify binary (Go backends)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--iters", type=int, default=200)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    try:
        d = data.data_dir()
        dev = data.load_split("dev", d)
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = {}
    tf = baseline.run(d)
    rows["tfidf-linear-svm (scikit-learn)"] = {"accuracy": tf["accuracy"], "macro_f1": tf["macro_f1"],
                                               "p50_ms": tf["latency"]["p50_ms"]}
    if args.classify:
        rows["linear (Go, classify eval)"] = go_eval(args.classify, "linear", "", d / "dev.jsonl")
        rows["default: minilm3 int8 + linear (Go, classify eval)"] = go_eval(args.classify, "onnx", args.shipped,
                                                                               d / "dev.jsonl")
        rows["minilm3 int8 alone (Go, classify eval --no-ensemble)"] = go_eval(args.classify, "onnx", args.shipped,
                                                                               d / "dev.jsonl", "--no-ensemble")
    models = [("minilm3 fp32 (onnxruntime, Python)", args.fp32), ("minilm3 int8 (onnxruntime, Python)", args.shipped),
              ("minilm6 int8 teacher (onnxruntime, Python)", args.teacher)]
    for name, path in models:
        if not path and name.startswith("minilm6"):
            continue
        if not path or not Path(path).is_dir():
            rows[name] = {"error": f"model directory {path} not found (run make model)"}
            continue
        r = evaluate.evaluate(path, dev, args.threads, [32, 128], args.iters)
        rows[name] = {"accuracy": r["accuracy"], "macro_f1": r["macro_f1"], "size_mb": round(r["size_bytes"] / 1e6, 1),
                      "latency": r["latency"], "per_class_f1": {k: round(v["f1"], 4) for k, v in r["per_class"].items()}}
    print(f"\n{'model':<48} {'accuracy':>8} {'macro-F1':>8}  latency p50")
    for name, r in rows.items():
        if "error" in r:
            print(f"{name:<48} error: {r['error']}")
            continue
        if "latency" in r:
            lat = ", ".join(f"{x['p50_ms']} ms @{x['tokens']} tok" for x in r["latency"])
        else:
            lat = f"{r.get('p50_ms', '?')} ms per dev question"
        print(f"{name:<48} {r['accuracy']:>8.4f} {r['macro_f1']:>8.4f}  {lat}")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
