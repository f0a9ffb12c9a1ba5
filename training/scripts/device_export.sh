#!/usr/bin/env bash
# After device_sweep.sh: export the best smaller model (fp32 + int8,
# parity-checked) and evaluate it with ONNX Runtime, time PyTorch on the GPU
# for it and the best full-depth model, and pack what comes back into $OUT (<= 8 files,
# 64 MiB): the best model's checkpoint in fp16 (exported again locally) and
# the smaller model's int8 ONNX directory.
set -euo pipefail
export HF_HUB_OFFLINE=1 PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false
ROOT=$PWD
STAGE=${STAGE:-/root/stage}
E=$STAGE/enc R=${RUNS:-$STAGE/runs} X=$STAGE/export
OUT=${OUT:-/tmp/out}
export DOMAIN_DATA_DIR=$ROOT/.carry/b/data
mkdir -p "$X" "$OUT/logs"
cd training
read -r BEST SMALL < <(python3 - "$R" <<'PY'
import json, sys, os
R = sys.argv[1]
rows = []
for w in ("w1", "w2"):
    p = f"{R}/{w}/summary.json"
    if os.path.exists(p):
        rows += [dict(r, dir=f"{R}/{w}/{r['name']}") for r in json.load(open(p))]
rows.sort(key=lambda r: (r["macro_f1"], r["accuracy"]), reverse=True)
full = [r for r in rows if "--layers" not in r["args"]]
small = [r for r in rows if "--layers" in r["args"]]
print(full[0]["dir"], small[0]["dir"] if small else "")
PY
)
echo "best=$BEST small=$SMALL"
python3 -m domainclf.gpubench --ckpt "$BEST" | tee "$OUT/logs/gpu_$(basename "$BEST").json" || true
for c in $SMALL; do
  n=$(basename "$c")
  python3 -m domainclf.export --ckpt "$c" --encoder "$E" --out "$X/$n-fp32" --int8-out "$X/$n-int8" --force --int8-agreement "${INT8_AGREE:-0.95}" 2>&1 | grep -v -i warn | tee "$OUT/logs/export_$n.log"
  python3 -m domainclf.evaluate "$X/$n-fp32" "$X/$n-int8" --threads 2 --iters 100 --tokens 32 128 --json "$OUT/logs/eval_$n.json"
  python3 -m domainclf.gpubench --ckpt "$c" | tee "$OUT/logs/gpu_$n.json" || true
done
nb=$(basename "$BEST"); echo "$nb" > "$OUT/logs/best.txt"; basename "${SMALL:-none}" > "$OUT/logs/small.txt"
python3 - "$BEST" "$X/ckpt16" <<'PY'
import shutil, sys, torch
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
sd = torch.load(src / "classifier.pt", map_location="cpu", weights_only=True)
torch.save({k: v.half() if v.is_floating_point() else v for k, v in sd.items()}, dst / "classifier.pt")
for f in ("meta.json", "config.json"):
    shutil.copyfile(src / f, dst / f)
PY
tar -C "$X/ckpt16" -cf - . | split -b 16000000 - "$OUT/best-ckpt16.tar.part-"
[ -n "$SMALL" ] && tar -C "$X/$(basename "$SMALL")-int8" -cf - . | split -b 16000000 - "$OUT/small-int8.tar.part-"
tar -C "$OUT" -czf "$OUT/logs.tgz" logs && rm -rf "$OUT/logs"
ls -la "$OUT"
