#!/usr/bin/env bash
# 3-layer students of the shipped classifier, trained side by side on the
# device's GPU (issue 4: a model cheap enough for the CPU latency target).
# Every run starts from the shipped checkpoint (--init), keeps three of its
# six layers (--layer-map) and, for the -kd runs, also learns the shipped
# model's own logits on train.jsonl (teacher, computed on the CPU by
# domainclf.evaluate --logits). Run from the repository root:
#   STAGE=DIR training/scripts/device_distill.sh
# with DIR/ckpt (the shipped checkpoint, weights in fp16 to fit a 64 MiB call),
# DIR/data/{train,dev}.jsonl and DIR/teacher_train_logits.npy.
set -euo pipefail
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
ROOT=$PWD STAGE=${STAGE:?set STAGE to the carried folder}
R=${RUNS:-$STAGE/runs}
mkdir -p "$R"
export DOMAIN_DATA_DIR=$STAGE/data
cd training
python3 - scripts/sweep3.json "$R/sweep3.json" "$STAGE" <<'PY'
import json, sys
cfg = json.load(open(sys.argv[1]))
stage = sys.argv[3]
fix = lambda a: f"{stage}/teacher_train_logits.npy" if a == "TEACHER" else a
json.dump({k: [fix(a) for a in v] + ["--init", f"{stage}/ckpt", "--save-logits"] for k, v in cfg.items()},
          open(sys.argv[2], "w"))
PY
python3 -m domainclf.sweep --encoder "$ROOT/models/domain-minilm" --runs "$R" --configs "$R/sweep3.json" \
  --parallel "${PARALLEL:-11}" --threads 1 --deadline "${DEADLINE:-0}"
