"""What the embedding output costs the ONNX graph itself: the shipped graph
(logits + sentence_embedding) against the graph it was derived from (logits
only), batch 1 at 128 tokens, 2 intra-op threads, spinning off (as the EPP),
in pairs whose order alternates; prints the medians and the median ratio.

    git show <commit before the output>:models/domain-minilm/model.onnx > /tmp/orig.onnx
    .cache/gpugraph-venv/bin/python docs/results/similarity-2026-12-02/graphcost.py /tmp/orig.onnx models/domain-minilm/model.onnx
"""

import sys
import time

import numpy as np
import onnxruntime as ort


def session(path):
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = 2, 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def main(old_path, new_path, pairs=1200):
    old, new = session(old_path), session(new_path)
    ids = np.random.default_rng(0).integers(1000, 29000, size=(1, 128), dtype=np.int64)
    ids[0, 0], ids[0, -1] = 101, 102
    feed = {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.zeros_like(ids)}

    def timed(s, outs):
        t = time.perf_counter()
        s.run(outs, feed)
        return time.perf_counter() - t

    for _ in range(20):
        timed(old, ["logits"]), timed(new, None)
    a, b = [], []
    for i in range(pairs):
        if i % 2 == 0:
            a.append(timed(old, ["logits"]))
            b.append(timed(new, None))
        else:
            b.append(timed(new, None))
            a.append(timed(old, ["logits"]))
    a, b = np.array(a), np.array(b)
    print(f"{pairs} pairs: logits-only graph p50 {np.median(a) * 1e3:.3f} ms, with the embedding output "
          f"p50 {np.median(b) * 1e3:.3f} ms, ratio p50 {np.median(b / a):.3f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
