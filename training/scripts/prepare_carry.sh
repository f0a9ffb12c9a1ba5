#!/usr/bin/env bash
# Prepares .carry/b for the device machine (see device_sweep.sh): the encoder
# with fp16 weights (45 MB instead of 91 MB, so it fits one 64 MiB call with the
# data) and a copy of the shared data. .carry/ must stay out of git: this script
# adds it to .git/info/exclude. Never commit the data.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY=${PY:-.cache/training-venv/bin/python}
DATA=${DATA_DIR:-../shared/data}/domain
ENC=.cache/encoders/all-MiniLM-L6-v2
mkdir -p .git/info && { grep -qx '/.carry/' .git/info/exclude 2>/dev/null || echo '/.carry/' >> .git/info/exclude; }
(cd training && "../$PY" -m domainclf.encoder --dest "../$ENC" --cache ../.cache/encoders)
mkdir -p .carry/b/enc .carry/b/data
cp "$ENC"/{config.json,tokenizer.json,vocab.txt,tokenizer_config.json,special_tokens_map.json} .carry/b/enc/
cp "$DATA"/train.jsonl "$DATA"/dev.jsonl .carry/b/data/
"$PY" - "$ENC/model.safetensors" .carry/b/enc/model.safetensors <<'PY'
import sys
from safetensors.torch import load_file, save_file
sd = load_file(sys.argv[1])
save_file({k: (v.half() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}, sys.argv[2],
          metadata={"format": "pt"})
PY
du -sh .carry/b
