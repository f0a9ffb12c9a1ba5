"""The label file the Go backend reads (vLLM Semantic Router's category_mapping.json format)."""

from __future__ import annotations

import json
from pathlib import Path


def write_category_mapping(labels, path: str | Path) -> None:
    """Writes {"category_to_idx": {name: i}, "idx_to_category": {"i": name}}."""
    labels = list(labels)
    if len(set(labels)) != len(labels):
        raise ValueError(f"duplicate labels in {labels}")
    doc = {
        "category_to_idx": {name: i for i, name in enumerate(labels)},
        "idx_to_category": {str(i): name for i, name in enumerate(labels)},
    }
    Path(path).write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def read_category_mapping(path: str | Path) -> list[str]:
    """Reads a category_mapping.json and returns the labels in index order.

    Raises ValueError when the two maps disagree or the indices are not 0..n-1.
    """
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    try:
        c2i, i2c = doc["category_to_idx"], doc["idx_to_category"]
    except (KeyError, TypeError) as err:
        raise ValueError(f"{path}: want category_to_idx and idx_to_category maps") from err
    n = len(i2c)
    if sorted(int(k) for k in i2c) != list(range(n)):
        raise ValueError(f"{path}: idx_to_category keys are not 0..{n - 1}")
    labels = [i2c[str(i)] for i in range(n)]
    if c2i != {name: i for i, name in enumerate(labels)}:
        raise ValueError(f"{path}: category_to_idx and idx_to_category disagree")
    return labels
