#!/usr/bin/env bash
# Issue 7's GPU section: the system benchmark (test/bench) on the GPU machine, twice in one call:
# first with the default CPU classifier (the baseline rerun on this machine), then with the
# one-hop EPP and the two-hop router classifying on CUDA. Run from the repository root with the
# carried parts in .gpu/ (see docs/results/bench-gpu-h200-2026-11-27/README.md).
set -u
REPO=$PWD G=/tmp/g
mkdir -p $G && cd $G
[ -d dv ] || { cat d0 d1 d2 > dv.tar.xz && xz -d -T8 -c dv.tar.xz | tar -x && rm -f dv.tar.xz d0 d1 d2; } || exit 1
if [ ! -f ortcuda/libonnxruntime_providers_cuda.so ]; then
  cat l0 l1 l2 l3 > libs.bin && sha256sum libs.bin && tail -c +6549225 libs.bin | head -c 12156740 > ort.so.xz && tail -c 164329452 libs.bin > cuda.so.xz && rm -f l0 l1 l2 l3 libs.bin
  xz -d -T8 -f ort.so.xz cuda.so.xz && mkdir -p ortcuda && mv -f ort.so ortcuda/libonnxruntime.so.1 && mv -f cuda.so ortcuda/libonnxruntime_providers_cuda.so && cp -f $REPO/.gpu/shared.so ortcuda/libonnxruntime_providers_shared.so
fi
sha256sum ortcuda/* | tee $OUT/sha.txt
mkdir -p ipbin && printf '#!/bin/sh\nLD_LIBRARY_PATH=%s/dv/ipt exec %s/dv/ipt/ip "$@"\n' $G $G > ipbin/ip && chmod +x ipbin/ip
export PATH=$G/ipbin:$PATH GIE_CRD_DIR=$G/dv/crds
mkdir -p $REPO/bin $REPO/.cache/tools/bin && cp dv/bin/* $REPO/bin/ && cp dv/tools/* $REPO/.cache/tools/bin/
# The GPU graph of the default (fp32, fused) beside a copy of the linear model, with its ensemble.json.
cd $REPO/training && DOMAIN_DATA_DIR=$G/dv python3 -m domainclf.export --ckpt $G/dv/ck/domain-minilm3-ckpt --encoder $REPO/models/domain-minilm \
  --out $G/models/minilm-gpu --force > $OUT/export.log 2>&1; echo "export rc=$?"; grep -E "parity|fused" $OUT/export.log
cp -r $REPO/models/domain-linear $G/models/ && cp $REPO/models/domain-minilm/ensemble.json $G/models/minilm-gpu/
cd $REPO && sed 's|      modelDir: embedded|      modelDir: /tmp/g/models/minilm-gpu\n      device: cuda\n      cudaFallback: fail\n      maxBatchSize: 64|' config/semantic-epp.yaml > config/semantic-epp-gpu-device.yaml
grep -A6 "classifier:" config/semantic-epp-gpu-device.yaml
export LD_LIBRARY_PATH=$G/ortcuda:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu ONNXRUNTIME_LIB=$G/ortcuda/libonnxruntime.so.1
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | tee $OUT/machine.txt; lscpu | grep -E "Model name|^CPU\(s\)" | tee -a $OUT/machine.txt
ARGS="-repo $REPO -data $G/dv/dev.jsonl -doc= -sizes 128 -rounds 8 -soak 0 -rates 20,80,320 -step 3s"
pkill -f llm-d-inference-sim; pkill -f "bin/epp"; pkill -f semantic-router; for ns in $(ip netns list | cut -d" " -f1); do ip netns del $ns; done
for run in cpu gpu; do
  extra=""; [ $run = gpu ] && extra="-selector-config config/semantic-epp-gpu-device.yaml"
  echo "=== bench $run"; timeout 250 $G/dv/bench $ARGS -out $G/res/$run $extra > $G/res-$run.log 2>&1; echo "bench $run rc=$?"; tail -4 $G/res-$run.log
  grep -h "device\|CUDA\|cuda" $REPO/.cache/sandbox/*/epp*.log 2>/dev/null | head -3
done
cd $G && tar -czf $OUT/results.tgz res res-*.log && ls -la $OUT
