"""Metrics against scikit-learn, the label file format, and tokenization."""

import json

import numpy as np
import pytest

from domainclf import data, labels, metrics, text
from conftest import SHIPPED


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_scores_match_sklearn(seed):
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 5, 200)
    p = np.where(rng.random(200) < 0.7, y, rng.integers(0, 5, 200))
    got = metrics.scores(y, p, ["a", "b", "c", "d", "e"])
    assert got["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert got["macro_f1"] == pytest.approx(f1_score(y, p, average="macro"))
    per = f1_score(y, p, average=None)
    assert [got["per_class"][k]["f1"] for k in "abcde"] == pytest.approx(list(per))


@pytest.mark.parametrize("y, p", [([], []), ([0, 1], [0])])
def test_scores_reject_bad_input(y, p):
    with pytest.raises(ValueError):
        metrics.scores(y, p, ["a", "b"])


def test_category_mapping_round_trip(tmp_path):
    path = tmp_path / "category_mapping.json"
    labels.write_category_mapping(data.LABELS, path)
    doc = json.loads(path.read_text())
    assert doc["category_to_idx"]["computer science"] == 3
    assert doc["idx_to_category"]["13"] == "psychology"
    assert labels.read_category_mapping(path) == list(data.LABELS)


@pytest.mark.parametrize(
    "doc, msg",
    [
        ({"category_to_idx": {"a": 0}}, "want category_to_idx"),
        ({"category_to_idx": {"a": 0, "b": 1}, "idx_to_category": {"0": "a", "2": "b"}}, "not 0..1"),
        ({"category_to_idx": {"a": 1, "b": 0}, "idx_to_category": {"0": "a", "1": "b"}}, "disagree"),
    ],
)
def test_category_mapping_rejects_inconsistent_files(tmp_path, doc, msg):
    path = tmp_path / "m.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=msg):
        labels.read_category_mapping(path)


def test_duplicate_labels_rejected(tmp_path):
    with pytest.raises(ValueError, match="duplicate"):
        labels.write_category_mapping(["a", "a"], tmp_path / "m.json")


@pytest.fixture
def tokenizer_file():
    path = SHIPPED / "tokenizer.json"
    if not path.is_file():
        pytest.fail(f"{path} missing: the shipped model directory is incomplete")
    return path


def test_encode_pads_to_longest_and_truncates(tokenizer_file):
    tok = text.load_tokenizer(tokenizer_file, max_len=16)
    enc = text.encode(tok, ["", "short", "word " * 100])
    ids, mask = enc["input_ids"], enc["attention_mask"]
    assert ids.shape == (3, 16) and ids.dtype == np.int64
    assert mask.sum(1).tolist() == [2, 3, 16]  # [CLS] [SEP]; [CLS] short [SEP]; truncated
    assert ids[0, :2].tolist() == [101, 102]
    assert (ids[mask == 0] == 0).all()
    assert (enc["token_type_ids"] == 0).all()


def test_load_tokenizer_rejects_tiny_max_len(tokenizer_file):
    with pytest.raises(ValueError):
        text.load_tokenizer(tokenizer_file, max_len=2)


def test_shipped_tokenizer_pads_nothing(tokenizer_file, tmp_path):
    cfg = json.loads(tokenizer_file.read_text())
    assert cfg["padding"] is None
    assert cfg["truncation"]["max_length"] >= 64
    out = tmp_path / "t.json"
    text.write_shipped_tokenizer(tokenizer_file, out, 77)
    assert json.loads(out.read_text())["truncation"]["max_length"] == 77
