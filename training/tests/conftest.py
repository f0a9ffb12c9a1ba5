"""Shared fixtures: the package on sys.path, the repository root and small data sets."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

TRAINING = Path(__file__).resolve().parents[1]
REPO = TRAINING.parent
sys.path.insert(0, str(TRAINING))

SHIPPED = REPO / "models" / "domain-minilm"


@pytest.fixture
def tiny_data(tmp_path, monkeypatch):
    """A small train/dev pair (two rows per label) in a temp folder, set as DOMAIN_DATA_DIR."""
    from domainclf import data

    d = tmp_path / "data"
    d.mkdir()
    for split, n in (("train", 4), ("dev", 2)):
        with open(d / f"{split}.jsonl", "w") as fh:
            for i, label in enumerate(data.LABELS):
                for k in range(n):
                    fh.write(json.dumps({"text": f"{split} question {k} about {label} number {i}", "label": label}) + "\n")
    monkeypatch.setenv("DOMAIN_DATA_DIR", str(d))
    return d
