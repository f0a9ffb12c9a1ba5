"""GPU latency of a checkpoint with PyTorch (batch 1 and 32, fp32 and bf16), median of many runs.

    python -m domainclf.gpubench --ckpt DIR [--tokens 128]
"""

from __future__ import annotations

import argparse
import json
import sys

import torch

from . import model as mdl


def bench(model, batch: int, tokens: int, dtype, iters: int = 200, warmup: int = 30) -> float:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(1000, 29000, (batch, tokens), generator=g).cuda()
    mask = torch.ones_like(ids)
    types = torch.zeros_like(ids)
    times = []
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == "bf16"):
        for i in range(warmup + iters):
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            model(ids, mask, types)
            end.record()
            torch.cuda.synchronize()
            if i >= warmup:
                times.append(start.elapsed_time(end))
    times.sort()
    return times[len(times) // 2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ckpt", required=True)
    p.add_argument("--tokens", type=int, default=128)
    args = p.parse_args(argv)
    if not torch.cuda.is_available():
        print("error: no CUDA device", file=sys.stderr)
        return 2
    model, _ = mdl.load(args.ckpt, attn="sdpa")
    model.cuda()
    res = {"device": torch.cuda.get_device_name(0), "tokens": args.tokens, "torch": torch.__version__}
    for batch in (1, 32):
        for dtype in ("fp32", "bf16"):
            res[f"b{batch}_{dtype}_p50_ms"] = round(bench(model, batch, args.tokens, dtype), 3)
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
