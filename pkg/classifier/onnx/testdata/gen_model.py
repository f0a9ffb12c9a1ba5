"""Builds the tiny BERT-shaped ONNX test model and its reference logits.

Run from the repository root (Python 3 with numpy, onnx, onnxruntime,
tokenizers; Go tests never need Python):

    python3 pkg/classifier/onnx/testdata/gen_model.py

The model is built node by node with the `onnx` helpers: word + position +
token-type embeddings, LayerNorm, one post-LN transformer layer (2-head
self-attention with the usual additive mask, GELU feed-forward), the [CLS]
vector, a tanh pooler and a linear head with 4 labels. Weights are random
(seeded), so the labels mean nothing; the model exists to check that the Go
backend feeds ONNX Runtime exactly what the Python side does. Outputs:

  tiny/model.onnx, tiny/tokenizer.json (all-MiniLM-L6-v2's WordPiece, padding
  off, truncation 512), tiny/category_mapping.json,
  tiny/reference.json          texts, the ids Go must build and ONNX Runtime's logits,
  small-vocab/model.onnx       same graph with 1000 embedding rows (too few for the tokenizer),
  no-logits/model.onnx         a graph whose output is named "scores", not "logits".
"""
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
TOKENIZER = os.path.join(HERE, "..", "..", "tokenizer", "testdata", "wordpiece", "tokenizer.json")
HIDDEN, HEADS, FFN, POSITIONS, TYPES = 8, 2, 16, 512, 2
LABELS = ["biology", "law", "math", "other"]
MAX_LEN = 512


def build(vocab, rng, hidden=HIDDEN, heads=HEADS, ffn=FFN, layers=1, labels=len(LABELS),
          weights=None, pooling="cls", name="tiny_bert_classifier"):
    """A post-LN BERT encoder + pooling + linear head as an ONNX graph.

    weights maps Hugging Face BERT parameter names to arrays; parameters it
    lacks are drawn from rng.
    """
    w = {}
    weights = weights or {}

    def p(key, hf, *shape, scale=0.5, transpose=False, offset=0.0):
        if hf in weights:
            a = weights[hf].astype(np.float32)
            w[key] = np.ascontiguousarray(a.T if transpose else a)
        else:
            w[key] = (offset + rng.standard_normal(shape) * scale).astype(np.float32)
        assert w[key].shape == tuple(shape), (key, w[key].shape, shape)
        return key

    def const(key, arr):
        w[key] = np.asarray(arr)
        return key

    p("word_emb", "embeddings.word_embeddings.weight", vocab, hidden)
    p("pos_emb", "embeddings.position_embeddings.weight", POSITIONS, hidden)
    p("type_emb", "embeddings.token_type_embeddings.weight", TYPES, hidden)
    p("ln0_g", "embeddings.LayerNorm.weight", hidden, scale=0.1, offset=1.0)
    p("ln0_b", "embeddings.LayerNorm.bias", hidden, scale=0.1)
    dh = hidden // heads
    const("c0", np.array(0, np.int64))
    const("c1", np.array(1, np.int64))
    const("ax1", np.array([1], np.int64))
    const("ax2", np.array([2], np.int64))
    const("ax12", np.array([1, 2], np.int64))
    const("one_f", np.array(1.0, np.float32))
    const("tiny_f", np.array(1e-9, np.float32))
    const("neg_big", np.array(-10000.0, np.float32))
    const("sqrt_dh", np.array(np.sqrt(dh), np.float32))
    const("half", np.array(0.5, np.float32))
    const("sqrt2", np.array(np.sqrt(2.0), np.float32))
    const("split_shape", np.array([0, 0, heads, dh], np.int64))
    const("merge_shape", np.array([0, 0, hidden], np.int64))

    N = helper.make_node
    nodes = [
        N("Gather", ["word_emb", "input_ids"], ["e_word"]),
        N("Shape", ["input_ids"], ["ids_shape"]),
        N("Gather", ["ids_shape", "c1"], ["seq_len"], axis=0),
        N("Range", ["c0", "seq_len", "c1"], ["pos_ids"]),
        N("Gather", ["pos_emb", "pos_ids"], ["e_pos"]),
        N("Gather", ["type_emb", "token_type_ids"], ["e_type"]),
        N("Add", ["e_word", "e_pos"], ["e_wp"]),
        N("Add", ["e_wp", "e_type"], ["e_sum"]),
        N("LayerNormalization", ["e_sum", "ln0_g", "ln0_b"], ["h_0"], axis=-1, epsilon=1e-12),
        # additive attention mask: (1 - mask) * -10000, shape [B,1,1,S]
        N("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        N("Unsqueeze", ["attention_mask", "ax12"], ["mask_4d"]),
        N("Cast", ["mask_4d"], ["mask_4d_f"], to=TensorProto.FLOAT),
        N("Sub", ["one_f", "mask_4d_f"], ["mask_inv"]),
        N("Mul", ["mask_inv", "neg_big"], ["mask_add"]),
    ]
    for i in range(layers):
        L, hf, x = f"l{i}_", f"encoder.layer.{i}.", f"h_{i}"
        for m, hm in (("q", "query"), ("k", "key"), ("v", "value")):
            p(L + "w" + m, hf + f"attention.self.{hm}.weight", hidden, hidden, transpose=True)
            p(L + "b" + m, hf + f"attention.self.{hm}.bias", hidden, scale=0.1)
            nodes += [
                N("MatMul", [x, L + "w" + m], [L + m + "_mm"]),
                N("Add", [L + m + "_mm", L + "b" + m], [L + m + "_lin"]),
                N("Reshape", [L + m + "_lin", "split_shape"], [L + m + "_4d"]),
            ]
        p(L + "wo", hf + "attention.output.dense.weight", hidden, hidden, transpose=True)
        p(L + "bo", hf + "attention.output.dense.bias", hidden, scale=0.1)
        p(L + "ln1_g", hf + "attention.output.LayerNorm.weight", hidden, scale=0.1, offset=1.0)
        p(L + "ln1_b", hf + "attention.output.LayerNorm.bias", hidden, scale=0.1)
        p(L + "w_ff1", hf + "intermediate.dense.weight", hidden, ffn, transpose=True)
        p(L + "b_ff1", hf + "intermediate.dense.bias", ffn, scale=0.1)
        p(L + "w_ff2", hf + "output.dense.weight", ffn, hidden, transpose=True)
        p(L + "b_ff2", hf + "output.dense.bias", hidden, scale=0.1)
        p(L + "ln2_g", hf + "output.LayerNorm.weight", hidden, scale=0.1, offset=1.0)
        p(L + "ln2_b", hf + "output.LayerNorm.bias", hidden, scale=0.1)
        nodes += [
            N("Transpose", [L + "q_4d"], [L + "q_t"], perm=[0, 2, 1, 3]),
            N("Transpose", [L + "k_4d"], [L + "k_t"], perm=[0, 2, 3, 1]),
            N("Transpose", [L + "v_4d"], [L + "v_t"], perm=[0, 2, 1, 3]),
            N("MatMul", [L + "q_t", L + "k_t"], [L + "scores_raw"]),
            N("Div", [L + "scores_raw", "sqrt_dh"], [L + "scores_scaled"]),
            N("Add", [L + "scores_scaled", "mask_add"], [L + "scores"]),
            N("Softmax", [L + "scores"], [L + "probs"], axis=-1),
            N("MatMul", [L + "probs", L + "v_t"], [L + "ctx_t"]),
            N("Transpose", [L + "ctx_t"], [L + "ctx_4d"], perm=[0, 2, 1, 3]),
            N("Reshape", [L + "ctx_4d", "merge_shape"], [L + "ctx"]),
            N("MatMul", [L + "ctx", L + "wo"], [L + "attn_mm"]),
            N("Add", [L + "attn_mm", L + "bo"], [L + "attn_out"]),
            N("Add", [L + "attn_out", x], [L + "res1"]),
            N("LayerNormalization", [L + "res1", L + "ln1_g", L + "ln1_b"], [L + "h1"], axis=-1, epsilon=1e-12),
            N("MatMul", [L + "h1", L + "w_ff1"], [L + "ff1_mm"]),
            N("Add", [L + "ff1_mm", L + "b_ff1"], [L + "ff1"]),
            # GELU(x) = 0.5 x (1 + erf(x / sqrt 2)); the Div forms match the
            # patterns ONNX Runtime's transformer fusions look for.
            N("Div", [L + "ff1", "sqrt2"], [L + "ff1_s"]),
            N("Erf", [L + "ff1_s"], [L + "ff1_erf"]),
            N("Add", [L + "ff1_erf", "one_f"], [L + "ff1_erf1"]),
            N("Mul", [L + "ff1", L + "ff1_erf1"], [L + "ff1_g2"]),
            N("Mul", [L + "ff1_g2", "half"], [L + "ff1_gelu"]),
            N("MatMul", [L + "ff1_gelu", L + "w_ff2"], [L + "ff2_mm"]),
            N("Add", [L + "ff2_mm", L + "b_ff2"], [L + "ff2"]),
            N("Add", [L + "ff2", L + "h1"], [L + "res2"]),
            N("LayerNormalization", [L + "res2", L + "ln2_g", L + "ln2_b"], [f"h_{i + 1}"], axis=-1, epsilon=1e-12),
        ]
    top = f"h_{layers}"
    if pooling == "cls":
        p("w_pool", "pooler.dense.weight", hidden, hidden, transpose=True)
        p("b_pool", "pooler.dense.bias", hidden, scale=0.1)
        nodes += [
            N("Gather", [top, "c0"], ["cls"], axis=1),
            N("MatMul", ["cls", "w_pool"], ["pool_mm"]),
            N("Add", ["pool_mm", "b_pool"], ["pool_lin"]),
            N("Tanh", ["pool_lin"], ["pooled"]),
        ]
    else:  # mean over the attended tokens
        nodes += [
            N("Unsqueeze", ["mask_f", "ax2"], ["mask_3d"]),
            N("Mul", [top, "mask_3d"], ["masked"]),
            N("ReduceSum", ["masked", "ax1"], ["sum_h"], keepdims=0),
            N("ReduceSum", ["mask_f", "ax1"], ["count"], keepdims=1),
            N("Max", ["count", "tiny_f"], ["count_safe"]),
            N("Div", ["sum_h", "count_safe"], ["pooled"]),
        ]
    p("w_cls", "classifier.weight", hidden, labels, scale=0.1, transpose=True)
    p("b_cls", "classifier.bias", labels, scale=0.1)
    nodes += [
        N("MatMul", ["pooled", "w_cls"], ["cls_mm"]),
        N("Add", ["cls_mm", "b_cls"], ["logits"]),
    ]
    used = {i for n in nodes for i in n.input}
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", labels])]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items() if k in used]
    graph = helper.make_graph(nodes, name, inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="semantic-epp gen_model.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def window(ids, limit):
    """Head+tail window, as the Go backend does: first limit//2, last limit-limit//2."""
    if len(ids) <= limit:
        return ids, False
    head = limit // 2
    return ids[:head] + ids[len(ids) - (limit - head):], True


def main():
    rng = np.random.default_rng(20261127)
    tok = Tokenizer.from_file(TOKENIZER)
    tok.no_padding()
    tok.no_truncation()
    vocab = tok.get_vocab_size()
    tiny = os.path.join(HERE, "tiny")
    os.makedirs(tiny, exist_ok=True)
    onnx.save(build(vocab, rng), os.path.join(tiny, "model.onnx"))
    small = os.path.join(HERE, "small-vocab")
    os.makedirs(small, exist_ok=True)
    onnx.save(build(1000, np.random.default_rng(1)), os.path.join(small, "model.onnx"))

    nl = os.path.join(HERE, "no-logits")
    os.makedirs(nl, exist_ok=True)
    g = helper.make_graph(
        [helper.make_node("Cast", ["input_ids"], ["scores"], to=TensorProto.FLOAT)], "no_logits",
        [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["batch", "sequence"])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, os.path.join(nl, "model.onnx"))

    cfg = json.load(open(TOKENIZER, encoding="utf-8"))
    cfg["padding"] = None
    cfg["truncation"] = {"direction": "Right", "max_length": MAX_LEN, "strategy": "LongestFirst", "stride": 0}
    with open(os.path.join(tiny, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False)
    with open(os.path.join(tiny, "category_mapping.json"), "w", encoding="utf-8") as f:
        json.dump({"category_to_idx": {l: i for i, l in enumerate(LABELS)},
                   "idx_to_category": {str(i): l for i, l in enumerate(LABELS)}}, f, indent=1)

    texts = [
        "",
        "What is the derivative of x^2 with respect to x?",
        "Café naïve résumé Ångström",
        "机器学习是人工智能的一个分支",
        "def f(x):\n    return x ** 2  # 🍕",
        "A 45-year-old man presents with chest pain radiating to the left arm. What is the most likely diagnosis?",
        "contract law " * 300 + "which clause is void?",
        " ".join(f"word{i}" for i in range(700)),
    ]
    sess = ort.InferenceSession(os.path.join(tiny, "model.onnx"), providers=["CPUExecutionProvider"])
    rows = []
    for t in texts:
        content = tok.encode(t, add_special_tokens=False).ids
        win, truncated = window(content, MAX_LEN - 2)
        ids = [101] + win + [102]
        feed = {"input_ids": np.array([ids], np.int64),
                "attention_mask": np.ones((1, len(ids)), np.int64),
                "token_type_ids": np.zeros((1, len(ids)), np.int64)}
        logits = sess.run(["logits"], feed)[0][0]
        rows.append({"text": t, "ids": ids, "truncated": truncated, "logits": [float(x) for x in logits]})
    with open(os.path.join(tiny, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"labels": LABELS, "max_len": MAX_LEN, "rows": rows}, f, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
