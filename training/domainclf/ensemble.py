"""Builds a distillation teacher from several trained runs (train data only).

    python -m domainclf.ensemble RUN_DIR [RUN_DIR ...] --out teacher.npy

Averages the runs' softmax probabilities on train.jsonl (their
train_logits.npy) and writes log(mean prob) as the teacher's logits; also
reports the ensemble's dev accuracy from dev_logits.npy, for the record.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from . import data, metrics


def softmax(x: np.ndarray) -> np.ndarray:
    z = x - x.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mean_log_probs(arrays: list[np.ndarray]) -> np.ndarray:
    if not arrays:
        raise ValueError("no runs given")
    shapes = {a.shape for a in arrays}
    if len(shapes) != 1:
        raise ValueError(f"runs disagree on shape: {shapes}")
    return np.log(np.mean([softmax(a) for a in arrays], axis=0) + 1e-9).astype(np.float32)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("runs", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--data", default=None)
    args = p.parse_args(argv)
    try:
        teacher = mean_log_probs([np.load(Path(r) / "train_logits.npy") for r in args.runs])
        dev_logits = mean_log_probs([np.load(Path(r) / "dev_logits.npy") for r in args.runs])
        dev = data.load_split("dev", args.data)
        train = data.load_split("train", args.data)
    except (OSError, ValueError, data.DataError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    np.save(args.out, teacher)
    res = {"ensemble": args.runs, "train_rows": len(teacher)}
    # Runs trained on a slice (--limit/--dev-limit, tests) cannot be scored on the full files.
    if len(dev_logits) == len(dev):
        m_dev = metrics.scores(dev.labels, dev_logits.argmax(1), data.LABELS)
        res.update(dev_accuracy=m_dev["accuracy"], dev_macro_f1=m_dev["macro_f1"])
    if len(teacher) == len(train):
        res["train_accuracy"] = metrics.scores(train.labels, teacher.argmax(1), data.LABELS)["accuracy"]
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
