"""domainclf.gpufuse on the dequantized shipped graph: the embedding block and every residual
block are fused, and the fused graph computes the same logits (fp32, CPU) with fewer nodes; a
graph without the patterns is refused."""

import copy

import numpy as np
import onnx
import pytest

from domainclf import gpufuse, gpugraph
from conftest import SHIPPED


def run(model, feeds):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # compare the graphs as written
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(["logits"], feeds)[0]


def test_fused_graph_computes_the_same_logits():
    base = gpugraph.dequantize(onnx.load(str(SHIPPED / "model.onnx")))
    fused = copy.deepcopy(base)
    assert gpufuse.fuse(fused) == {"EmbedLayerNormalization": 1, "SkipLayerNormalization": 6}
    ops = [n.op_type for n in fused.graph.node]
    assert "LayerNormalization" not in ops and "Range" not in ops
    assert len(ops) < len(base.graph.node) - 15
    rng = np.random.default_rng(7)
    ids = rng.integers(1000, 30000, (3, 37)).astype(np.int64)
    mask = np.ones_like(ids)
    mask[1, 20:] = 0  # padded rows: the mask index must come out the same
    mask[2, 5:] = 0
    feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
    np.testing.assert_allclose(run(fused, feeds), run(base, feeds), atol=1e-4)


def test_graph_without_the_pattern_is_refused():
    m = gpugraph.dequantize(onnx.load(str(SHIPPED / "model.onnx")))
    for n in m.graph.node:
        if n.op_type == "Gather" and n.input[1] == "input_ids":
            n.input[1] = "token_type_ids"  # no word-embedding lookup left
    with pytest.raises(gpufuse.FuseError):
        gpufuse.fuse(m)
