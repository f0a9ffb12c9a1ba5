"""Training and export on a tiny randomly initialised BERT (CPU, seconds).

These need torch and transformers (training/requirements.txt). When they
are missing the module is skipped with the reason printed. `make model-test`
installs them and sets DOMAINCLF_REQUIRE_TORCH=1, so there a missing or
broken torch fails instead of skipping.
"""

import importlib
import json
import os
import shutil

import numpy as np
import pytest

if os.environ.get("DOMAINCLF_REQUIRE_TORCH") == "1":
    torch = importlib.import_module("torch")
    transformers = importlib.import_module("transformers")
else:
    torch = pytest.importorskip("torch", reason="torch not installed (full tier: pip install -r training/requirements.txt)")
    transformers = pytest.importorskip("transformers", reason="transformers not installed (full tier)")

from domainclf import data, export, model as mdl, train  # noqa: E402
from domainclf.encoder import file_sha256  # noqa: E402
from conftest import SHIPPED  # noqa: E402


@pytest.fixture
def tiny_encoder(tmp_path):
    """A 2-layer, 32-wide BERT with random weights and the shipped WordPiece tokenizer."""
    cfg = transformers.BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                                  intermediate_size=64, max_position_embeddings=256)
    torch.manual_seed(0)
    enc = transformers.BertModel(cfg, add_pooling_layer=False)
    d = tmp_path / "encoder"
    enc.save_pretrained(str(d))
    shutil.copyfile(SHIPPED / "tokenizer.json", d / "tokenizer.json")
    return d


def run_train(encoder, out, *extra):
    return train.main(["--encoder", str(encoder), "--out", str(out), "--epochs", "2", "--batch-size", "8",
                       "--lr", "1e-3", "--max-len", "32", "--threads", "1", *extra])


def test_train_learns_and_writes_checkpoint(tiny_encoder, tiny_data, tmp_path):
    out = tmp_path / "ckpt"
    assert run_train(tiny_encoder, out) == 0
    meta = json.loads((out / "meta.json").read_text())
    assert meta["labels"] == list(data.LABELS)
    assert len(meta["history"]) == 2
    assert meta["history"][1]["loss"] < meta["history"][0]["loss"]
    m, _ = mdl.load(out)
    fresh = mdl.from_pretrained(tiny_encoder, len(data.LABELS))
    assert not torch.equal(m.head.weight, fresh.head.weight)


def test_train_is_deterministic_on_cpu(tiny_encoder, tiny_data, tmp_path):
    for name in ("a", "b"):
        assert run_train(tiny_encoder, tmp_path / name, "--max-steps", "3") == 0
    a = torch.load(tmp_path / "a" / "classifier.pt")
    b = torch.load(tmp_path / "b" / "classifier.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_train_refuses_bad_data_in_strict_mode(tiny_encoder, tiny_data, tmp_path):
    with open(tiny_data / "train.jsonl", "a") as fh:
        fh.write('{"text": "x", "label": "astrology"}\n')
    assert run_train(tiny_encoder, tmp_path / "c", "--strict") == 2


def test_distillation_checks_teacher_shape(tiny_encoder, tiny_data, tmp_path):
    bad = tmp_path / "teacher.npy"
    np.save(bad, np.zeros((3, len(data.LABELS)), dtype=np.float32))
    with pytest.raises(SystemExit, match="teacher logits shape"):
        run_train(tiny_encoder, tmp_path / "d", "--teacher-logits", str(bad))


def test_layer_and_pooling_options(tiny_encoder, tiny_data, tmp_path):
    out = tmp_path / "e"
    assert run_train(tiny_encoder, out, "--layers", "1", "--pooling", "cls", "--max-steps", "2") == 0
    m, meta = mdl.load(out)
    assert len(m.encoder.encoder.layer) == 1 and meta["pooling"] == "cls"


def test_export_parity_int8_and_force(tiny_encoder, tiny_data, tmp_path):
    ckpt = tmp_path / "ckpt"
    assert run_train(tiny_encoder, ckpt) == 0
    fp32, int8 = tmp_path / "m-fp32", tmp_path / "m-int8"
    args = ["--ckpt", str(ckpt), "--encoder", str(tiny_encoder), "--out", str(fp32), "--int8-out", str(int8),
            "--fixtures", "16", "--int8-agreement", "0"]
    assert export.main(args) == 0
    for d in (fp32, int8):
        assert sorted(p.name for p in d.iterdir()) == sorted(export.MODEL_FILES)
    info = json.loads((fp32 / "model_info.json").read_text())
    assert info["parity"]["fp32_max_abs_diff"] <= 1e-3
    assert info["files"]["model.onnx"] == file_sha256(fp32 / "model.onnx")

    # ONNX Runtime on the exported graph agrees with PyTorch on new inputs of other shapes.
    import onnxruntime as ort

    sess = ort.InferenceSession(str(fp32 / "model.onnx"), providers=["CPUExecutionProvider"])
    assert [i.name for i in sess.get_inputs()] == list(export.INPUTS)
    assert [o.name for o in sess.get_outputs()] == [export.OUTPUT]
    m, _ = mdl.load(ckpt)
    rng = np.random.default_rng(1)
    for batch, seq in ((1, 5), (3, 29)):
        ids = rng.integers(1000, 29000, (batch, seq)).astype(np.int64)
        mask = np.ones_like(ids)
        mask[0, seq // 2:] = 0
        feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        got = sess.run(["logits"], feed)[0]
        ref = export.torch_logits(m, feed)
        assert got.shape == (batch, len(data.LABELS))
        assert np.max(np.abs(got - ref)) <= 1e-3

    # A second export without --force refuses; with --force it replaces.
    before = (fp32 / "model.onnx").stat().st_mtime_ns
    assert export.main(args) == 2
    assert (fp32 / "model.onnx").stat().st_mtime_ns == before
    assert export.main(args + ["--force"]) == 0


def test_student_from_init_with_layer_map(tiny_encoder, tiny_data, tmp_path):
    """The distillation recipe: start from a trained checkpoint, keep chosen layers, learn teacher logits."""
    teacher = tmp_path / "teacher"
    assert run_train(tiny_encoder, teacher, "--max-steps", "2") == 0
    n_train = len(data.load_split("train").texts)
    logits = tmp_path / "logits.npy"
    np.save(logits, np.random.default_rng(0).normal(size=(n_train, len(data.LABELS))).astype(np.float16))
    student = tmp_path / "student"
    assert run_train(tiny_encoder, student, "--init", str(teacher), "--layer-map", "1",
                     "--teacher-logits", str(logits), "--max-steps", "2") == 0
    t, _ = mdl.load(teacher)
    s, meta = mdl.load(student)
    assert len(s.encoder.encoder.layer) == 1 and meta["recipe"]["layer_map"] == "1"
    # Initialised from the teacher's layer 1, then trained: same shapes, close but not equal values.
    tw = t.encoder.encoder.layer[1].output.dense.weight
    sw = s.encoder.encoder.layer[0].output.dense.weight
    assert tw.shape == sw.shape and not torch.equal(tw, sw)
    assert torch.allclose(tw, sw, atol=0.05)


@pytest.mark.parametrize("indices", [[], [2], [0, 0], [-1]])
def test_select_layers_rejects_bad_indices(tiny_encoder, indices):
    m = mdl.from_pretrained(tiny_encoder, len(data.LABELS))
    with pytest.raises(ValueError, match="layer indices"):
        mdl.select_layers(m, indices)


def test_export_graph_forms_and_ensemble(tiny_encoder, tiny_data, tmp_path):
    """CPU int8: fused attention, no SkipLayerNormalization; GPU fp16 written; ensemble.json beside int8."""
    import onnx

    ckpt = tmp_path / "ckpt"
    assert run_train(tiny_encoder, ckpt, "--max-steps", "2") == 0
    out = {k: tmp_path / k for k in ("fp32", "int8", "fp16")}
    assert export.main(["--ckpt", str(ckpt), "--encoder", str(tiny_encoder), "--out", str(out["fp32"]),
                        "--int8-out", str(out["int8"]), "--fp16-out", str(out["fp16"]), "--fixtures", "8",
                        "--int8-agreement", "0", "--ensemble-member", "../domain-linear=0.25",
                        "--ensemble-weight", "0.75"]) == 0
    ops = {k: {n.op_type for n in onnx.load(str(d / "model.onnx")).graph.node} for k, d in out.items()}
    assert "Attention" in ops["fp32"] and "QAttention" in ops["int8"]
    assert "SkipLayerNormalization" not in ops["int8"]
    fp16 = onnx.load(str(out["fp16"] / "model.onnx"))
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in fp16.graph.initializer)
    assert fp16.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    ens = json.loads((out["int8"] / export.ENSEMBLE_FILE).read_text())
    assert ens == {"combine": export.ENSEMBLE_COMBINE,
                   "members": [{"model": ".", "weight": 0.75}, {"model": "../domain-linear", "weight": 0.25}]}
    assert not (out["fp32"] / export.ENSEMBLE_FILE).exists()


@pytest.mark.parametrize("member", ["../x", "../x=0", "=1", "../x=abc"])
def test_ensemble_spec_rejects_bad_members(member):
    with pytest.raises(export.ExportError, match="DIR=WEIGHT"):
        export.ensemble_spec(0.5, [member])


def test_export_fails_when_parity_fails(tiny_encoder, tiny_data, tmp_path):
    ckpt = tmp_path / "ckpt"
    assert run_train(tiny_encoder, ckpt, "--max-steps", "1") == 0
    # An impossible tolerance makes the parity check fail, and nothing is written.
    rc = export.main(["--ckpt", str(ckpt), "--encoder", str(tiny_encoder), "--out", str(tmp_path / "x"),
                      "--fixtures", "8", "--atol", "-1"])
    assert rc == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "sources, spec, want",
    [
        (["a", "b/x", "b/y"], None, [0, 1, 2]),
        (["a", "b/x", "b/y"], "b/=1", [0, 1, 2]),
        (["a", "b/x", "b/y"], "b/=3", [0, 1, 2, 1, 2, 1, 2]),
    ],
)
def test_epoch_pool(sources, spec, want):
    assert train.epoch_pool(sources, spec).tolist() == want


@pytest.mark.parametrize("spec", ["b/", "b/=0", "=2", "b/=x", "zzz=2"])
def test_epoch_pool_rejects_bad_spec(spec):
    with pytest.raises(SystemExit):
        train.epoch_pool(["a", "b/x"], spec)
