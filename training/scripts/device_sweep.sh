#!/usr/bin/env bash
# GPU sweep for the domain classifier, run on the lent device machine (see
# docs/model-card.md). Expects .carry/b/{enc/,data/} carried (the encoder with
# its weights stored in fp16, so that weights and data fit one 64 MiB call).
# Wave 1: recipe search (all with --save-logits). Wave 2: distill the top-4
# ensemble into the best 6-layer and the best smaller recipe. SKIP_W2=1 stops
# after wave 1. device_export.sh then packs the results.
set -euo pipefail
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
ROOT=$PWD
STAGE=${STAGE:-/root/stage}
E=$STAGE/enc R=${RUNS:-$STAGE/runs}
OUT=${OUT:-/tmp/out}
SWEEP=${SWEEP:-scripts/sweep1.json}  # relative to training/
EXTRA=${EXTRA:-}  # extra train args for every run (tests: --limit 64 --max-steps 2)
mkdir -p "$E" "$R" "$OUT/logs"
if [ ! -f "$E/model.safetensors" ]; then
  cp .carry/b/enc/* "$E/"   # carried with the weights in fp16 (64 MiB per call)
fi
export DOMAIN_DATA_DIR=$ROOT/.carry/b/data
cd training
python3 - "$SWEEP" "$R/w1.json" "$EXTRA" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
extra = sys.argv[3].split()
json.dump({k: v + ["--save-logits"] + extra for k, v in cfg.items()}, open(sys.argv[2], "w"))
PY
python3 -m domainclf.sweep --encoder "$E" --runs "$R/w1" --configs "$R/w1.json" --parallel "${PARALLEL:-10}" --threads 1 --deadline "${DEADLINE1:-0}" || true
if [ -n "${SKIP_W2:-}" ]; then cp "$R/w1/summary.json" "$OUT/logs/w1_summary.json"; for d in "$R"/w1/*/; do cp "$d/meta.json" "$OUT/logs/w1_$(basename "$d")_meta.json" 2>/dev/null || true; done; exit 0; fi
# top-4 full-depth runs form the teacher
python3 - "$R" "$EXTRA" <<'PY'
import json, sys
R, extra = sys.argv[1], sys.argv[2].split()
rows = json.load(open(f"{R}/w1/summary.json"))
full = [r for r in rows if "--layers" not in r["args"]]
top = full[:4]
open(f"{R}/teacher_runs.txt", "w").write(" ".join(f"{R}/w1/{r['name']}" for r in top))
best = full[0]["args"].replace("--save-logits", "").split()
small = [r for r in rows if "--layers" in r["args"]]
w2 = {"kd-L6": best + ["--teacher-logits", f"{R}/teacher.npy"] + extra}
if small:
    sargs = small[0]["args"].replace("--save-logits", "").split()
    w2["kd-small"] = sargs + ["--teacher-logits", f"{R}/teacher.npy"] + extra
json.dump(w2, open(f"{R}/w2.json", "w"))
PY
python3 -m domainclf.ensemble $(cat "$R/teacher_runs.txt") --out "$R/teacher.npy" | tee "$OUT/logs/ensemble.json"
python3 -m domainclf.sweep --encoder "$E" --runs "$R/w2" --configs "$R/w2.json" --parallel 3 --threads 2 --deadline "${DEADLINE2:-0}" || true
cp "$R/w1/summary.json" "$OUT/logs/w1_summary.json"; cp "$R/w2/summary.json" "$OUT/logs/w2_summary.json"
for d in "$R"/w1/* "$R"/w2/*; do [ -d "$d" ] && cp "$d/meta.json" "$OUT/logs/$(basename $(dirname $d))_$(basename $d)_meta.json" 2>/dev/null || true; done
