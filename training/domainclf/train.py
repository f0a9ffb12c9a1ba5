"""Fine-tunes the domain classifier on train.jsonl and selects the epoch on dev.jsonl.

    python -m domainclf.train --encoder DIR --out DIR [--epochs 5 --lr 5e-5 ...]

Runs on CUDA when available, else CPU. Seeds are fixed (--seed); on CPU the
run is deterministic, on GPU it is up to cuDNN/cuBLAS kernel choice.
Writes the checkpoint of the best dev epoch (macro-F1, then accuracy) and a
meta.json with every epoch's dev numbers.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import data, metrics, model as mdl, text


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)


def param_groups(model: mdl.DomainClassifier, lr: float, weight_decay: float, layer_decay: float):
    """AdamW groups with layer-wise LR decay: the head gets lr, encoder layer k
    (of L) gets lr * layer_decay**(L-k), embeddings lr * layer_decay**(L+1).
    Biases and LayerNorm weights get no weight decay."""
    n_layers = model.encoder.config.num_hidden_layers
    groups: dict[tuple[float, float], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        if name.startswith("encoder.embeddings"):
            depth = n_layers + 1
        elif name.startswith("encoder.encoder.layer."):
            depth = n_layers - int(name.split(".")[3])
        else:
            depth = 0
        scale = layer_decay ** depth
        wd = 0.0 if (p.ndim == 1 or "LayerNorm" in name) else weight_decay
        groups.setdefault((lr * scale, wd), []).append(p)
    return [{"params": ps, "lr": l, "weight_decay": wd, "initial_lr": l} for (l, wd), ps in groups.items()]


def epoch_pool(sources: list[str], spec: str | None) -> np.ndarray:
    """Row indices seen in one epoch. spec "PREFIX=K" repeats rows whose source
    starts with PREFIX K times (K integer >= 1); None or "" uses every row once."""
    base = np.arange(len(sources))
    if not spec:
        return base
    prefix, sep, k = spec.rpartition("=")
    if not sep or not prefix or not k.isdigit() or int(k) < 1:
        raise SystemExit(f"--oversample wants PREFIX=K with integer K >= 1, got {spec!r}")
    extra = [i for i, s in enumerate(sources) if s.startswith(prefix)]
    if not extra:
        raise SystemExit(f"--oversample {spec!r}: no training row has a source starting with {prefix!r}")
    return np.concatenate([base] + [np.array(extra)] * (int(k) - 1))


def batches(n: int, size: int, rng: np.random.Generator | None):
    order = rng.permutation(n) if rng is not None else np.arange(n)
    for i in range(0, n, size):
        yield order[i:i + size]


def to_device(enc: dict, device) -> dict:
    return {k: torch.from_numpy(v).to(device) for k, v in enc.items()}


@torch.no_grad()
def predict_logits(model, tok, texts, device, batch_size=128, amp=False) -> np.ndarray:
    """Logits for texts, in order (batches sorted by length for speed)."""
    model.eval()
    order = np.argsort([len(t) for t in texts])
    out = np.zeros((len(texts), model.head.out_features), dtype=np.float32)
    for idx in batches(len(texts), batch_size, None):
        sel = order[idx]
        enc = to_device(text.encode(tok, [texts[i] for i in sel]), device)
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
            logits = model(**enc)
        out[sel] = logits.float().cpu().numpy()
    return out


def distill_loss(logits, soft_targets, temperature):
    t = temperature
    return F.kl_div(F.log_softmax(logits / t, dim=-1), F.softmax(soft_targets / t, dim=-1),
                    reduction="batchmean") * t * t


def train(args) -> dict:
    set_seed(args.seed)
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    amp = device.type == "cuda" and not args.no_amp
    if device.type == "cpu" and args.threads:
        torch.set_num_threads(args.threads)
    train_ds = data.load_split("train", args.data, strict=args.strict)
    dev_ds = data.load_split("dev", args.data, strict=args.strict)
    if args.limit:
        rng = np.random.default_rng(args.seed)
        keep = rng.permutation(len(train_ds))[:args.limit]
        train_ds.texts = [train_ds.texts[i] for i in keep]
        train_ds.labels = [train_ds.labels[i] for i in keep]
        train_ds.sources = [train_ds.sources[i] for i in keep]
    if args.dev_limit:
        dev_ds.texts, dev_ds.labels = dev_ds.texts[:args.dev_limit], dev_ds.labels[:args.dev_limit]
    teacher = None
    if args.teacher_logits:
        teacher = np.load(args.teacher_logits)
        if teacher.shape != (len(train_ds), len(data.LABELS)):
            raise SystemExit(f"teacher logits shape {teacher.shape} != ({len(train_ds)}, {len(data.LABELS)})")

    pool = epoch_pool(train_ds.sources, args.oversample)
    if len(pool) != len(train_ds):
        print(f"oversampling {args.oversample}: {len(pool)} rows per epoch from {len(train_ds)}", flush=True)
    tok = text.load_tokenizer(Path(args.encoder) / "tokenizer.json", args.max_len)
    if args.init:
        # Start from a trained classifier (e.g. the shipped one) instead of the
        # pretrained encoder: a smaller student keeps the layers it is given.
        model, init_meta = mdl.load(args.init, attn="sdpa")
        if init_meta["pooling"] != args.pooling:
            raise SystemExit(f"--init {args.init} uses {init_meta['pooling']} pooling, not {args.pooling}")
    else:
        model = mdl.from_pretrained(args.encoder, len(data.LABELS), pooling=args.pooling, dropout=args.dropout)
    if args.layer_map:
        mdl.select_layers(model, [int(i) for i in args.layer_map.split(",")])
    elif args.layers:
        mdl.keep_layers(model, args.layers)
    model.to(device)
    opt = torch.optim.AdamW(param_groups(model, args.lr, args.weight_decay, args.layer_decay),
                            betas=(0.9, 0.999), eps=1e-8)
    steps_per_epoch = math.ceil(len(pool) / args.batch_size)
    total = steps_per_epoch * args.epochs
    warmup = int(total * args.warmup)

    def lr_lambda(step):
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    y = torch.tensor(train_ds.labels)
    rng = np.random.default_rng(args.seed)
    history, best, best_state = [], None, None
    step = 0
    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        run_loss = 0.0
        for pos in batches(len(pool), args.batch_size, rng):
            idx = pool[pos]
            enc = to_device(text.encode(tok, [train_ds.texts[i] for i in idx]), device)
            target = y[idx].to(device)
            with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=amp):
                logits = model(**enc).float()
            loss = F.cross_entropy(logits, target, label_smoothing=args.label_smoothing)
            if teacher is not None:
                soft = torch.from_numpy(teacher[idx]).to(device)
                loss = (1 - args.distill_alpha) * loss + args.distill_alpha * distill_loss(logits, soft, args.distill_temp)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            run_loss += loss.item()
            if args.max_steps and step >= args.max_steps:
                break
        dev_logits = predict_logits(model, tok, dev_ds.texts, device, amp=amp)
        m = metrics.scores(dev_ds.labels, dev_logits.argmax(1), data.LABELS)
        rec = {"epoch": epoch, "loss": run_loss / max(1, steps_per_epoch), "dev_accuracy": m["accuracy"],
               "dev_macro_f1": m["macro_f1"], "seconds": round(time.time() - t0, 1)}
        history.append(rec)
        print(json.dumps(rec), flush=True)
        key = (m["macro_f1"], m["accuracy"])
        if best is None or key > best[0]:
            best = (key, epoch, m)
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        if args.max_steps and step >= args.max_steps:
            break
    model.load_state_dict(best_state)
    meta = {
        "labels": list(data.LABELS),
        "pooling": args.pooling,
        "max_len": args.max_len,
        "encoder": str(args.encoder_name),
        "recipe": {k: v for k, v in vars(args).items() if k not in ("out", "data", "encoder")},
        "best_epoch": best[1],
        "dev": {"accuracy": best[2]["accuracy"], "macro_f1": best[2]["macro_f1"]},
        "history": history,
        "train_rows": len(train_ds),
        "device": str(device),
        "torch": torch.__version__,
    }
    mdl.save(model, args.out, meta)
    if args.save_logits:
        np.save(Path(args.out) / "train_logits.npy", predict_logits(model, tok, train_ds.texts, device, amp=amp))
        np.save(Path(args.out) / "dev_logits.npy", predict_logits(model, tok, dev_ds.texts, device, amp=amp))
    return meta


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", required=True, help="pretrained encoder folder (config.json, model.safetensors, tokenizer.json)")
    p.add_argument("--encoder-name", default="sentence-transformers/all-MiniLM-L6-v2")
    p.add_argument("--data", default=None, help="folder with train.jsonl and dev.jsonl (default ../shared/data/domain)")
    p.add_argument("--out", required=True, help="checkpoint folder to write")
    p.add_argument("--epochs", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=5e-5)
    p.add_argument("--weight-decay", type=float, default=0.01)
    p.add_argument("--warmup", type=float, default=0.06, help="fraction of steps with linear warm-up")
    p.add_argument("--layer-decay", type=float, default=1.0, help="layer-wise LR decay factor (1 = off)")
    p.add_argument("--label-smoothing", type=float, default=0.0)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--max-len", type=int, default=128)
    p.add_argument("--pooling", choices=mdl.POOLINGS, default="mean")
    p.add_argument("--layers", type=int, default=0, help="keep only the first N encoder layers (0 = all)")
    p.add_argument("--layer-map", default=None,
                   help="keep these encoder layers, in order (e.g. 0,2,4); overrides --layers")
    p.add_argument("--init", default=None,
                   help="checkpoint folder (domainclf.train output) to start from instead of --encoder's weights")
    p.add_argument("--seed", type=int, default=13)
    p.add_argument("--device", default="auto")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0 = torch default)")
    p.add_argument("--no-amp", action="store_true", help="train in fp32 on CUDA (default bf16 autocast)")
    p.add_argument("--strict", action="store_true", help="refuse data files with any bad row")
    p.add_argument("--limit", type=int, default=0, help="train on a random slice of this many rows (tests)")
    p.add_argument("--dev-limit", type=int, default=0, help="evaluate on the first N dev rows (tests)")
    p.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (tests)")
    p.add_argument("--oversample", default=None,
                   help="PREFIX=K: show rows whose source starts with PREFIX K times per epoch (e.g. mmlu-pro/=2)")
    p.add_argument("--teacher-logits", default=None, help=".npy of teacher logits on train (distillation)")
    p.add_argument("--distill-alpha", type=float, default=0.5)
    p.add_argument("--distill-temp", type=float, default=2.0)
    p.add_argument("--save-logits", action="store_true",
                   help="also write the best epoch's train_logits.npy and dev_logits.npy (distillation teachers)")
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        meta = train(args)
    except data.DataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(json.dumps({"best_epoch": meta["best_epoch"], **meta["dev"]}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
