"""domainclf.gpugraph on the shipped int8 model: no quantized operator left,
the same bytes on every build, and (fp32, CPU) the function of the int8 graph:
the exact form gives the int8 graph's logits, the float form its labels on
nearly every fixture."""

import numpy as np
import onnx
import pytest

from domainclf import gpugraph, text
from conftest import SHIPPED

QUANTIZED = {"DynamicQuantizeLinear", "MatMulInteger", "QAttention", "QEmbedLayerNormalization"}
TEXTS = ["What is the derivative of x squared?", "Explain supply and demand curves.",
         "Which enzyme unwinds DNA during replication?", "Summarise the causes of the French Revolution.",
         "How does a transistor amplify a signal?", "Is lying ever morally permissible?"]


def logits(path, enc):
    import onnxruntime as ort
    s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([s.run(["logits"], {k: v[i:i + 1, :int(enc["attention_mask"][i].sum())]
                                              for k, v in enc.items()})[0] for i in range(len(enc["input_ids"]))])


@pytest.mark.parametrize("emulate", [False, True])
def test_fp32_graph_computes_the_int8_function(tmp_path, emulate):
    out = tmp_path / "g"
    gpugraph.build(SHIPPED, out, "fp32", emulate)
    ops = {n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node}
    assert not ops & QUANTIZED
    tok = text.load_tokenizer(SHIPPED / "tokenizer.json", 128)
    enc = text.encode(tok, TEXTS)
    ref, got = logits(SHIPPED / "model.onnx", enc), logits(out / "model.onnx", enc)
    assert (ref.argmax(1) == got.argmax(1)).all()
    if emulate:
        np.testing.assert_allclose(got, ref, atol=1e-3)


def test_fp16_graph_is_deterministic(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ia, ib = gpugraph.build(SHIPPED, a, "fp16"), gpugraph.build(SHIPPED, b, "fp16")
    assert ia["files"]["model.onnx"] == ib["files"]["model.onnx"]
    assert (a / "ensemble.json").read_text() == (SHIPPED / "ensemble.json").read_text()
    assert not {n.op_type for n in onnx.load(str(a / "model.onnx")).graph.node} & QUANTIZED


def test_refine_and_ensemble_options(tmp_path):
    import json
    fast, exact = tmp_path / "fast", tmp_path / "exact"
    gpugraph.build(SHIPPED, fast, "fp16", refine=("../exact", 0.1))
    spec = json.loads((fast / "ensemble.json").read_text())
    assert spec["refine"] == {"model": "../exact", "margin": 0.1}
    assert spec["members"] == json.loads((SHIPPED / "ensemble.json").read_text())["members"]
    info = gpugraph.build(SHIPPED, exact, "fp32", emulate=True, ensemble=False)
    assert not (exact / "ensemble.json").exists() and "ensemble.json" not in info["files"]
    with pytest.raises(gpugraph.GraphError, match="margin"):
        gpugraph.build(SHIPPED, tmp_path / "bad", "fp16", refine=("../exact", 1.0))
