"""Runs several training configurations side by side on one GPU and tabulates dev results.

    python -m domainclf.sweep --encoder DIR --runs DIR --configs FILE.json [--parallel 5]

FILE.json maps a run name to a list of extra domainclf.train arguments.
Each run writes RUNS/NAME/{meta.json,train.log}; the summary (sorted by dev
macro-F1) goes to RUNS/summary.json and stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--encoder", required=True)
    p.add_argument("--runs", required=True)
    p.add_argument("--configs", required=True)
    p.add_argument("--parallel", type=int, default=4)
    p.add_argument("--threads", type=int, default=3, help="CPU threads per run")
    p.add_argument("--deadline", type=float, default=0, help="seconds; then stop unfinished runs and summarize")
    args = p.parse_args(argv)
    configs = json.loads(Path(args.configs).read_text())
    runs = Path(args.runs)
    runs.mkdir(parents=True, exist_ok=True)
    pending = list(configs.items())
    active: list[tuple[str, subprocess.Popen, float]] = []
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), TOKENIZERS_PARALLELISM="false")
    failed = []
    start = time.time()
    while pending or active:
        if args.deadline and time.time() - start > args.deadline:
            for name, proc, _ in active:
                proc.terminate()
                proc.wait()
                print(f"stopped {name}: deadline {args.deadline:.0f}s reached", flush=True)
                failed.append(name)
            print(f"not started (deadline): {[n for n, _ in pending]}", flush=True)
            break
        while pending and len(active) < args.parallel:
            name, extra = pending.pop(0)
            out = runs / name
            out.mkdir(parents=True, exist_ok=True)
            cmd = [sys.executable, "-m", "domainclf.train", "--encoder", args.encoder, "--out", str(out), *extra]
            log = open(out / "train.log", "w")
            active.append((name, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env), time.time()))
            print(f"start {name}: {' '.join(extra)}", flush=True)
        time.sleep(2)
        for item in list(active):
            name, proc, t0 = item
            if proc.poll() is not None:
                active.remove(item)
                print(f"done {name}: rc={proc.returncode} in {time.time() - t0:.0f}s", flush=True)
                if proc.returncode:
                    failed.append(name)
                    print((runs / name / "train.log").read_text()[-2000:], flush=True)
    rows = []
    for name, extra in configs.items():
        meta_path = runs / name / "meta.json"
        if not meta_path.is_file():
            continue
        meta = json.loads(meta_path.read_text())
        rows.append({"name": name, "args": " ".join(extra), "best_epoch": meta["best_epoch"],
                     "accuracy": meta["dev"]["accuracy"], "macro_f1": meta["dev"]["macro_f1"],
                     "history": [(h["epoch"], round(h["dev_accuracy"], 4), round(h["dev_macro_f1"], 4))
                                 for h in meta["history"]]})
    rows.sort(key=lambda r: (r["macro_f1"], r["accuracy"]), reverse=True)
    (runs / "summary.json").write_text(json.dumps(rows, indent=2) + "\n")
    for r in rows:
        print(f"{r['name']:<14} acc {r['accuracy']:.4f} mF1 {r['macro_f1']:.4f} ep {r['best_epoch']}  {r['args']}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
