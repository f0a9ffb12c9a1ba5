"""The shipped ONNX model (models/domain-minilm): files, contract, integrity and dev accuracy.

Needs only onnxruntime, tokenizers and numpy (light tier). These tests check
the ONNX model alone; the shipped default classifier is that model combined
with the linear model (ensemble.json), and the Go tests in
pkg/classifier/loader hold it to the issue's accuracy target (>= 0.86 on dev).
"""

import json

import numpy as np
import pytest

from domainclf import data, evaluate, export, labels
from domainclf.encoder import file_sha256
from conftest import SHIPPED

# The ONNX model alone (the 3-layer student scores 0.851 on dev; the ensemble
# with the linear model reaches the 0.86 target). Falling under this bound means
# the export or the tokenizer broke, not a weaker recipe.
MIN_DEV_ACCURACY = 0.84


@pytest.fixture(scope="module")
def shipped():
    missing = [f for f in export.MODEL_FILES if not (SHIPPED / f).is_file()]
    if missing:
        pytest.fail(f"{SHIPPED} lacks {missing}: rebuild with `make model FORCE=1`")
    return evaluate.ModelDir(SHIPPED, threads=2)


def test_files_match_recorded_sha256(shipped):
    info = json.loads((SHIPPED / "model_info.json").read_text())
    for name, digest in info["files"].items():
        assert file_sha256(SHIPPED / name) == digest, name


def test_contract(shipped):
    assert labels.read_category_mapping(SHIPPED / "category_mapping.json") == list(data.LABELS)
    ins = {i.name: i for i in shipped.sess.get_inputs()}
    assert set(ins) == set(export.INPUTS)
    for i in ins.values():
        assert i.type == "tensor(int64)"
        assert isinstance(i.shape[0], str) and isinstance(i.shape[1], str), "batch and sequence must be dynamic"
    outs = shipped.sess.get_outputs()
    assert [o.name for o in outs] == ["logits", "sentence_embedding"] and outs[0].shape[1] == len(data.LABELS)
    assert outs[1].type == "tensor(float)" and isinstance(outs[1].shape[0], str) and outs[1].shape[1] == 384


def test_batching_barely_changes_results(shipped):
    """Dynamic int8 quantization scales activations per tensor, so a text's logits
    depend a little on what it is batched with (padding, other rows); the
    predicted label must still agree for nearly all texts."""
    texts = data.load_split("dev").texts[:200] + ["", "law " * 300]
    batch = shipped.logits(texts, batch_size=32)
    one = shipped.logits(texts, batch_size=1)
    assert np.all(np.isfinite(batch)) and np.all(np.isfinite(one))
    assert np.mean(batch.argmax(1) == one.argmax(1)) >= 0.97


@pytest.mark.parametrize(
    "question, label",
    [
        ("Which enzyme unwinds the DNA double helix during replication?", "biology"),
        ("A plaintiff sues for breach of contract; which defence is the strongest?", "law"),
        ("What is the integral of 2x from 0 to 3?", "math"),
        ("Which philosopher wrote the Critique of Pure Reason?", "philosophy"),
    ],
)
def test_obvious_questions(shipped, question, label):
    # Top 2 for the model alone: it confuses biology and health on the first
    # question (0.74 health; the default ensemble also says health, 0.81: a
    # known weak spot listed in docs/model-card.md).
    top2 = np.argsort(-shipped.logits([question])[0])[:2]
    assert label in [shipped.labels[int(i)] for i in top2]


def test_ensemble_file(shipped):
    """ensemble.json combines the model with the embedded linear model, equal weights."""
    ens = json.loads((SHIPPED / export.ENSEMBLE_FILE).read_text())
    assert ens == {"combine": export.ENSEMBLE_COMBINE,
                   "members": [{"model": ".", "weight": 0.5}, {"model": "../domain-linear", "weight": 0.5}]}
    assert (SHIPPED / ".." / "domain-linear" / "linear.json").is_file()


def test_dev_accuracy_meets_target(shipped):
    dev = data.load_split("dev")
    pred = shipped.logits(dev.texts).argmax(1)
    got = float(np.mean(pred == np.array(dev.labels)))
    recorded = json.loads((SHIPPED / "model_info.json").read_text()).get("onnx_dev", {}).get("accuracy")
    assert got >= MIN_DEV_ACCURACY, f"dev accuracy {got:.4f} < {MIN_DEV_ACCURACY}"
    if recorded is not None:
        assert got == pytest.approx(recorded, abs=0.003)
