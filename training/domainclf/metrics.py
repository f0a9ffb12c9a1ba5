"""Classification metrics shared by training, evaluation and the baseline."""

from __future__ import annotations

import numpy as np


def scores(y_true, y_pred, labels) -> dict:
    """Accuracy, macro-F1 and per-class precision/recall/F1/support."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape:
        raise ValueError(f"length mismatch: {y_true.shape} true vs {y_pred.shape} predicted")
    if y_true.size == 0:
        raise ValueError("no examples to score")
    per_class = {}
    f1s = []
    for i, name in enumerate(labels):
        tp = int(np.sum((y_pred == i) & (y_true == i)))
        fp = int(np.sum((y_pred == i) & (y_true != i)))
        fn = int(np.sum((y_pred != i) & (y_true == i)))
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        per_class[name] = {"precision": p, "recall": r, "f1": f1, "support": tp + fn}
        f1s.append(f1)
    return {
        "accuracy": float(np.mean(y_true == y_pred)),
        "macro_f1": float(np.mean(f1s)),
        "per_class": per_class,
        "n": int(y_true.size),
    }
