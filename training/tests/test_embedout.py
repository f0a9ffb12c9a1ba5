"""domainclf.embedout: the shipped graph's sentence embedding output.

Adding the output must change nothing else: stripping it gives back, byte for
byte, the graph it was derived from, and the logits of the two graphs are
bit-identical on every dev.jsonl question, one at a time (as the EPP runs
them) and in padded batches. The rewrite is deterministic and idempotent.
"""

import json
import shutil

import numpy as np
import onnx
import pytest

from domainclf import data, embedout, gpugraph, text
from domainclf.encoder import file_sha256
from conftest import SHIPPED


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """The shipped graph and the one it was derived from (stripped)."""
    d = tmp_path_factory.mktemp("embedout")
    model = onnx.load(str(SHIPPED / "model.onnx"))
    (d / "orig.onnx").write_bytes(embedout.strip(model).SerializeToString())
    return SHIPPED / "model.onnx", d / "orig.onnx"


def test_shipped_record_and_inverse(graphs):
    shipped, orig = graphs
    info = json.loads((SHIPPED / "model_info.json").read_text())
    rec = info["embedding"]
    assert rec["output"] == embedout.OUTPUT and rec["dim"] == 384
    assert file_sha256(orig) == rec["derived_from"], "stripping the output must give the source graph back"
    assert embedout.rewrite(SHIPPED, check=True) == rec
    # The output is the tensor the head reads: the int8 head quantizes it.
    g = onnx.load(str(shipped)).graph
    readers = [n.op_type for n in g.node if rec["source"] in n.input]
    assert sorted(readers) == ["DynamicQuantizeLinear", "Identity"]


def test_rewrite_is_deterministic_and_idempotent(tmp_path, graphs):
    _, orig = graphs
    outs = []
    for name in ("a", "b"):
        d = tmp_path / name
        shutil.copytree(SHIPPED, d)
        shutil.copyfile(orig, d / "model.onnx")
        info = json.loads((d / "model_info.json").read_text())
        del info["embedding"]
        info["files"]["model.onnx"] = file_sha256(orig)
        (d / "model_info.json").write_text(json.dumps(info, indent=2, sort_keys=True) + "\n")
        embedout.rewrite(d)
        outs.append((d / "model.onnx").read_bytes())
        embedout.rewrite(d)  # a second run changes nothing
        assert (d / "model.onnx").read_bytes() == outs[-1]
        assert (d / "model_info.json").read_text() == (SHIPPED / "model_info.json").read_text()
    assert outs[0] == outs[1] == (SHIPPED / "model.onnx").read_bytes()


def test_check_refuses_a_graph_without_the_output(tmp_path, graphs):
    _, orig = graphs
    d = tmp_path / "m"
    shutil.copytree(SHIPPED, d)
    shutil.copyfile(orig, d / "model.onnx")
    with pytest.raises(embedout.GraphError, match="make model-embedding"):
        embedout.rewrite(d, check=True)


def _session(path):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


def test_logits_bit_identical_on_dev(graphs):
    shipped, orig = graphs
    new, old = _session(shipped), _session(orig)
    tok = text.load_tokenizer(SHIPPED / "tokenizer.json", 128)
    texts = data.load_split("dev").texts
    names = [i.name for i in new.get_inputs()]
    # One at a time, unpadded (the EPP's path).
    for t in texts:
        enc = text.encode(tok, [t])
        feed = {k: enc[k][:, :int(enc["attention_mask"][0].sum())] for k in names}
        logits, emb = new.run(None, feed)
        ref = old.run(["logits"], feed)[0]
        assert np.array_equal(logits, ref), t
        assert emb.shape == (1, 384) and np.all(np.isfinite(emb))
    # Padded batches.
    for i in range(0, len(texts), 32):
        enc = text.encode(tok, texts[i:i + 32])
        feed = {k: enc[k] for k in names}
        assert np.array_equal(new.run(["logits", "sentence_embedding"], feed)[0], old.run(["logits"], feed)[0])


def test_gpu_graph_keeps_the_embedding(tmp_path):
    out = tmp_path / "g"
    info = gpugraph.build(SHIPPED, out, "fp16")
    outs = {o.name: o.type.tensor_type.elem_type for o in onnx.load(str(out / "model.onnx")).graph.output}
    assert outs == {"logits": onnx.TensorProto.FLOAT, "sentence_embedding": onnx.TensorProto.FLOAT}
    assert info["embedding"]["output"] == "sentence_embedding"
