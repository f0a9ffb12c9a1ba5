"""Writes an ONNX model's logits on a data split (a distillation teacher).

    python -m domainclf.logits MODEL_DIR --split train --out FILE.npy

The rows are in the split's file order (as domainclf.train reads them), the
logits float16 (14 per row), computed on the CPU in batches of 32 with one
intra-op thread. The shipped 3-layer student learned the 6-layer model's
logits written this way (docs/model-card.md).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from . import data, evaluate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="exported model directory (model.onnx, tokenizer.json, category_mapping.json)")
    p.add_argument("--split", default="train", choices=("train", "dev"))
    p.add_argument("--data", default=None, help="folder with the split (default: DOMAIN_DATA_DIR or ../shared/data/domain)")
    p.add_argument("--out", required=True, help=".npy file to write")
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args(argv)
    try:
        ds = data.load_split(args.split, args.data)
        m = evaluate.ModelDir(args.model, threads=args.threads)
    except (data.DataError, FileNotFoundError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if m.labels != list(data.LABELS):
        print(f"error: {args.model}: labels {m.labels} differ from the data's {list(data.LABELS)}", file=sys.stderr)
        return 2
    out = np.zeros((len(ds.texts), len(m.labels)), dtype=np.float32)
    for i in range(0, len(ds.texts), 32):  # file order, as the teacher logits were first computed
        out[i:i + 32] = m.logits(ds.texts[i:i + 32], batch_size=32)
    np.save(args.out, out.astype(np.float16))
    print(f"wrote {args.out}: {out.shape[0]} rows x {out.shape[1]} logits", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
