"""Builds the vLLM Semantic Router-style test classifiers and their references.

vLLM Semantic Router's classifiers are Hugging Face sequence-classification
models exported to ONNX, in a directory with tokenizer.json and
category_mapping.json ({"category_to_idx": ..., "idx_to_category": ...},
labels sorted, as its training scripts write it). No such weights can be
downloaded here, so this script makes small models of the same
architectures and tokenizer formats, deterministically:

  vsr-modernbert/  ModernBertForSequenceClassification (3 layers, one global
                   and two sliding-window attention layers, [CLS] pooling)
                   with a byte-level BPE tokenizer (ModernBERT's form: NFC,
                   ByteLevel, BPE, [CLS] $A [SEP]) trained on train.jsonl;
  vsr-mmbert/      the same architecture with mean pooling and a Gemma-style
                   byte-fallback BPE tokenizer (mmBERT's form), the one
                   pkg/classifier/tokenizer/testdata/bytefallback holds.

Each model is trained for a few hundred steps on
../shared/data/domain/train.jsonl so that its labels mean something, and
exported with torch.onnx (opset 17, input_ids + attention_mask, dynamic
batch and sequence axes, output logits). Each directory also gets the
config.json transformers writes and reference.json: texts, the ids Python's
tokenizers gives them and ONNX Runtime's probabilities, which the Go tests
compare against. Run from the repository root with the training venv
(torch, transformers, tokenizers, onnx, onnxruntime):

    make vsr-test-models

Go tests never need Python.
"""
import argparse
import json
import os
import random
import shutil
import sys

import numpy as np
import onnx
import onnxruntime as ort
import torch
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import ModernBertConfig, ModernBertForSequenceClassification

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))
DATA = os.path.join(ROOT, "..", "shared", "data", "domain")
GEMMA_TOKENIZER = os.path.join(ROOT, "pkg", "classifier", "tokenizer", "testdata", "bytefallback", "tokenizer.json")
SEED = 14

TEXTS = [
    "What is the derivative of x^2 with respect to x?",
    "Which court hears an appeal from a federal district court?",
    "How does DNA replication work in eukaryotic cells?",
    "Explain supply and demand in a competitive market.",
    "Größenordnung der Straßenbahn über Österreich: wie schnell?",
    "机器学习是人工智能的一个分支。",
    "I love pizza 🍕🍕 and 👩\u200d💻 coding! 🎉",
    "  leading\ttabs\n\nnewlines   trailing  ",
    "unknown bytes \x07\x1b and ▁ markers <bos> <eos>",
    "A 45-year-old man presents with chest pain radiating to the left arm. What is the most likely diagnosis?",
    # Longer than the sliding window and the traced export length, then
    # longer than the 512-token limit (classified on a head+tail window).
    " ".join(["The court held that the contract was void because the seller had misrepresented the goods."] * 8),
    " ".join(["Compute the integral of x squared from zero to three, then explain each step."] * 60),
]
MAX_LEN = 512  # the Go classifier's limit for a model without a position table


def read_rows(name):
    path = os.path.join(DATA, name)
    if not os.path.exists(path):
        raise SystemExit(f"missing {path}: the shared data folder must sit beside the repository")
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def train_bytelevel(texts):
    """A ModernBERT-form tokenizer: NFC, ByteLevel, BPE, [CLS] $A [SEP]."""
    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, min_frequency=2, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", AddedToken("[MASK]", lstrip=True, special=True)],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]",
        special_tokens=[("[CLS]", tok.token_to_id("[CLS]")), ("[SEP]", tok.token_to_id("[SEP]"))])
    return tok


def window(ids, limit=MAX_LEN):
    """What the Go classifier feeds a text longer than the limit: its first
    and last halves of the content ids between the special tokens."""
    if len(ids) <= limit:
        return ids
    content, half = ids[1:-1], (limit - 2) // 2
    return [ids[0]] + content[:half] + content[len(content) - (limit - 2 - half):] + [ids[-1]]


def encode_batch(tok, texts, max_len):
    encs = tok.encode_batch(texts)
    return pad([e.ids[:max_len - 1] + [e.ids[-1]] if len(e.ids) > max_len else e.ids for e in encs])


def pad(ids):
    n = max(len(i) for i in ids)
    x = np.zeros((len(ids), n), dtype=np.int64)
    m = np.zeros((len(ids), n), dtype=np.int64)
    for r, i in enumerate(ids):
        x[r, :len(i)] = i
        m[r, :len(i)] = 1
    return torch.from_numpy(x), torch.from_numpy(m)


def build_model(tok, labels, pooling, pad_id, cls, sep, bos=None, eos=None):
    cfg = ModernBertConfig(
        vocab_size=tok.get_vocab_size(), hidden_size=32, intermediate_size=64, num_hidden_layers=3,
        num_attention_heads=2, max_position_embeddings=512, global_attn_every_n_layers=3,
        local_attention=16, classifier_pooling=pooling, pad_token_id=pad_id, cls_token_id=cls,
        sep_token_id=sep, bos_token_id=bos if bos is not None else cls, eos_token_id=eos if eos is not None else sep,
        num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)}, attn_implementation="eager")
    return ModernBertForSequenceClassification(cfg)


def train(model, tok, rows, labels, steps, batch=32, max_len=64):
    idx = {l: i for i, l in enumerate(labels)}
    rng = random.Random(SEED)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    model.train()
    for step in range(steps):
        sample = rng.sample(rows, batch)
        x, m = encode_batch(tok, [r["text"] for r in sample], max_len)
        y = torch.tensor([idx[r["label"]] for r in sample])
        loss = model(input_ids=x, attention_mask=m, labels=y).loss
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == steps - 1:
            print(f"  step {step} loss {loss.item():.3f}")
    model.eval()


def accuracy(model, tok, rows, labels):
    idx = {l: i for i, l in enumerate(labels)}
    right = 0
    with torch.no_grad():
        for i in range(0, len(rows), 64):
            part = rows[i:i + 64]
            x, m = encode_batch(tok, [r["text"] for r in part], 128)
            pred = model(input_ids=x, attention_mask=m).logits.argmax(-1)
            right += sum(int(p) == idx[r["label"]] for p, r in zip(pred, part))
    return right / len(rows)


def export(model, tok, path):
    x, m = encode_batch(tok, ["a short text", "another, somewhat longer text to pad the batch"], 64)
    axes = {"input_ids": {0: "batch", 1: "sequence"}, "attention_mask": {0: "batch", 1: "sequence"},
            "logits": {0: "batch"}}
    with torch.no_grad():
        torch.onnx.export(model, (x, m), path, input_names=["input_ids", "attention_mask"],
                          output_names=["logits"], dynamic_axes=axes, opset_version=17,
                          do_constant_folding=True, dynamo=False)
    m = onnx.load(path)
    onnx.checker.check_model(m)
    m.producer_name, m.producer_version = "gen_vsr_models.py", ""
    onnx.save(m, path)


def write_dir(out, model, tok, labels):
    os.makedirs(out, exist_ok=True)
    tok.save(os.path.join(out, "tokenizer.json"))
    # The router's own writer: json.dump of the two maps, no indent.
    with open(os.path.join(out, "category_mapping.json"), "w") as f:
        json.dump({"category_to_idx": {l: i for i, l in enumerate(labels)},
                   "idx_to_category": {str(i): l for i, l in enumerate(labels)}}, f)
    cfg = model.config.to_dict()
    cfg.pop("transformers_version", None)
    cfg["architectures"] = [type(model).__name__]
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")
    export(model, tok, os.path.join(out, "model.onnx"))
    sess = ort.InferenceSession(os.path.join(out, "model.onnx"), providers=["CPUExecutionProvider"])
    cases = []
    with torch.no_grad():
        for t in TEXTS:
            full = tok.encode(t).ids
            ids = window(full)
            x = np.array([ids], dtype=np.int64)
            logits = sess.run(["logits"], {"input_ids": x, "attention_mask": np.ones_like(x)})[0][0]
            torch_logits = model(input_ids=torch.from_numpy(x)).logits[0].numpy()
            assert np.allclose(logits, torch_logits, atol=1e-4), (t, logits, torch_logits)
            p = np.exp(logits - logits.max())
            p /= p.sum()
            cases.append({"text": t, "ids": ids, "truncated": len(full) > MAX_LEN, "label": labels[int(p.argmax())],
                          "probabilities": [round(float(v), 7) for v in p]})
    # One padded batch gives every row's own logits: the mask, not the
    # padding, decides (what the Go side's batches rely on).
    x, m = pad([c["ids"] for c in cases])
    batch = sess.run(["logits"], {"input_ids": x.numpy(), "attention_mask": m.numpy()})[0]
    for row, c in zip(batch, cases):
        p = np.exp(row - row.max())
        assert np.allclose(p / p.sum(), c["probabilities"], atol=1e-5), c["text"]
    with open(os.path.join(out, "reference.json"), "w", encoding="utf-8") as f:
        json.dump({"onnxruntime": ort.__version__, "cases": cases}, f, ensure_ascii=True, indent=1)
        f.write("\n")
    print(f"  {out}: model.onnx {os.path.getsize(os.path.join(out, 'model.onnx'))} bytes")


def main():
    if os.environ.get("PYTHONHASHSEED") != "0":
        # transformers walks a set of layer types while building the rotary
        # embeddings: with string hashing randomized, the exported graph's
        # node order (not its result) changes from run to run.
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable] + sys.argv)
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    rows = read_rows("train.jsonl")
    dev = read_rows("dev.jsonl")[:300]
    labels = sorted({r["label"] for r in rows})

    print("vsr-modernbert (byte-level BPE)")
    tok = train_bytelevel(r["text"] for r in rows)
    torch.manual_seed(SEED)
    model = build_model(tok, labels, "cls", pad_id=tok.token_to_id("[PAD]"),
                        cls=tok.token_to_id("[CLS]"), sep=tok.token_to_id("[SEP]"))
    train(model, tok, rows, labels, args.steps)
    print(f"  accuracy on 300 dev rows: {accuracy(model, tok, dev, labels):.3f}")
    write_dir(os.path.join(HERE, "vsr-modernbert"), model, tok, labels)

    print("vsr-mmbert (Gemma-style byte-fallback BPE)")
    tok = Tokenizer.from_file(GEMMA_TOKENIZER)
    torch.manual_seed(SEED)
    model = build_model(tok, labels, "mean", pad_id=tok.token_to_id("<pad>"), cls=tok.token_to_id("<bos>"),
                        sep=tok.token_to_id("<eos>"), bos=tok.token_to_id("<bos>"), eos=tok.token_to_id("<eos>"))
    train(model, tok, rows, labels, args.steps)
    print(f"  accuracy on 300 dev rows: {accuracy(model, tok, dev, labels):.3f}")
    out = os.path.join(HERE, "vsr-mmbert")
    write_dir(out, model, tok, labels)
    shutil.copyfile(GEMMA_TOKENIZER, os.path.join(out, "tokenizer.json"))  # byte for byte the fixture's


if __name__ == "__main__":
    main()
