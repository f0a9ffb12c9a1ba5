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


def build(vocab, rng):
    w = {}

    def p(name, *shape, scale=0.5):
        w[name] = (rng.standard_normal(shape) * scale).astype(np.float32)
        return name

    def const(name, arr):
        w[name] = np.asarray(arr)
        return name

    p("word_emb", vocab, HIDDEN)
    p("pos_emb", POSITIONS, HIDDEN)
    p("type_emb", TYPES, HIDDEN)
    for ln in ("ln0", "ln1", "ln2"):
        w[ln + "_g"] = (1 + rng.standard_normal(HIDDEN) * 0.1).astype(np.float32)
        w[ln + "_b"] = (rng.standard_normal(HIDDEN) * 0.1).astype(np.float32)
    for m in ("q", "k", "v", "o"):
        p("w" + m, HIDDEN, HIDDEN)
        p("b" + m, HIDDEN, scale=0.1)
    p("w_ff1", HIDDEN, FFN)
    p("b_ff1", FFN, scale=0.1)
    p("w_ff2", FFN, HIDDEN)
    p("b_ff2", HIDDEN, scale=0.1)
    p("w_pool", HIDDEN, HIDDEN)
    p("b_pool", HIDDEN, scale=0.1)
    p("w_cls", HIDDEN, len(LABELS))
    p("b_cls", len(LABELS), scale=0.1)
    dh = HIDDEN // HEADS
    const("c0", np.array(0, np.int64))
    const("c1", np.array(1, np.int64))
    const("ax12", np.array([1, 2], np.int64))
    const("one_f", np.array(1.0, np.float32))
    const("neg_big", np.array(-10000.0, np.float32))
    const("scale", np.array(1.0 / np.sqrt(dh), np.float32))
    const("half", np.array(0.5, np.float32))
    const("inv_sqrt2", np.array(1.0 / np.sqrt(2.0), np.float32))
    const("split_shape", np.array([0, 0, HEADS, dh], np.int64))
    const("merge_shape", np.array([0, 0, HIDDEN], np.int64))

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
        N("LayerNormalization", ["e_sum", "ln0_g", "ln0_b"], ["h0"], axis=-1, epsilon=1e-12),
        # additive attention mask: (1 - mask) * -10000, shape [B,1,1,S]
        N("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        N("Sub", ["one_f", "mask_f"], ["mask_inv"]),
        N("Mul", ["mask_inv", "neg_big"], ["mask_add2"]),
        N("Unsqueeze", ["mask_add2", "ax12"], ["mask_add"]),
    ]
    for m in ("q", "k", "v"):
        nodes += [
            N("MatMul", ["h0", "w" + m], [m + "_mm"]),
            N("Add", [m + "_mm", "b" + m], [m + "_lin"]),
            N("Reshape", [m + "_lin", "split_shape"], [m + "_4d"]),
        ]
    nodes += [
        N("Transpose", ["q_4d"], ["q_t"], perm=[0, 2, 1, 3]),
        N("Transpose", ["k_4d"], ["k_t"], perm=[0, 2, 3, 1]),
        N("Transpose", ["v_4d"], ["v_t"], perm=[0, 2, 1, 3]),
        N("MatMul", ["q_t", "k_t"], ["scores_raw"]),
        N("Mul", ["scores_raw", "scale"], ["scores_scaled"]),
        N("Add", ["scores_scaled", "mask_add"], ["scores"]),
        N("Softmax", ["scores"], ["probs"], axis=-1),
        N("MatMul", ["probs", "v_t"], ["ctx_t"]),
        N("Transpose", ["ctx_t"], ["ctx_4d"], perm=[0, 2, 1, 3]),
        N("Reshape", ["ctx_4d", "merge_shape"], ["ctx"]),
        N("MatMul", ["ctx", "wo"], ["attn_mm"]),
        N("Add", ["attn_mm", "bo"], ["attn_out"]),
        N("Add", ["attn_out", "h0"], ["res1"]),
        N("LayerNormalization", ["res1", "ln1_g", "ln1_b"], ["h1"], axis=-1, epsilon=1e-12),
        N("MatMul", ["h1", "w_ff1"], ["ff1_mm"]),
        N("Add", ["ff1_mm", "b_ff1"], ["ff1"]),
        # GELU(x) = 0.5 x (1 + erf(x / sqrt 2))
        N("Mul", ["ff1", "inv_sqrt2"], ["ff1_s"]),
        N("Erf", ["ff1_s"], ["ff1_erf"]),
        N("Add", ["ff1_erf", "one_f"], ["ff1_erf1"]),
        N("Mul", ["ff1", "ff1_erf1"], ["ff1_g2"]),
        N("Mul", ["ff1_g2", "half"], ["ff1_gelu"]),
        N("MatMul", ["ff1_gelu", "w_ff2"], ["ff2_mm"]),
        N("Add", ["ff2_mm", "b_ff2"], ["ff2"]),
        N("Add", ["ff2", "h1"], ["res2"]),
        N("LayerNormalization", ["res2", "ln2_g", "ln2_b"], ["h2"], axis=-1, epsilon=1e-12),
        N("Gather", ["h2", "c0"], ["cls"], axis=1),
        N("MatMul", ["cls", "w_pool"], ["pool_mm"]),
        N("Add", ["pool_mm", "b_pool"], ["pool_lin"]),
        N("Tanh", ["pool_lin"], ["pooled"]),
        N("MatMul", ["pooled", "w_cls"], ["cls_mm"]),
        N("Add", ["cls_mm", "b_cls"], ["logits"]),
    ]
    inputs = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"])
              for n in ("input_ids", "attention_mask", "token_type_ids")]
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", len(LABELS)])]
    inits = [numpy_helper.from_array(v, k) for k, v in w.items()]
    graph = helper.make_graph(nodes, "tiny_bert_classifier", inputs, outputs, inits)
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
