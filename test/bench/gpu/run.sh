#!/usr/bin/env bash
# The GPU benchmark of issue 15, staged from the repository (run here, at the repository root).
# It builds what the device needs (the Go test binary, the CUDA ONNX Runtime set), shrinks the
# CUDA provider for the transfer (trim_fatbin.py) and writes two carry folders of at most
# ~33 MB each, because a device call carries at most 64 MiB together with the checkout:
#   $STAGE/a : the first part of the CUDA provider
#   $STAGE/b : the rest, libonnxruntime, the test binary, domainclf, dev.jsonl, device-run.sh
# Then, with the device tool, back to back (a machine goes back 30 s after a call):
#   0. once: echo /.gpucarry/ >> .git/info/exclude   (the folder must be git-ignored)
#   1. copy $STAGE/a to <checkout>/.gpucarry, run
#        mkdir -p /tmp/g && mv .gpucarry/p1 /tmp/g/            carry [".gpucarry"]
#   2. replace <checkout>/.gpucarry with $STAGE/b, run
#        bash .gpucarry/device-run.sh                          carry [".gpucarry"]
# device-run.sh derives the GPU graphs there (as make model-gpu does), runs the agreement
# tests and the classifier benchmarks side by side with the CPU default, and leaves the logs in
# $OUT (docs/results/gpu-default/ holds one such run).
set -euo pipefail
STAGE=${STAGE:-/tmp/semantic-epp-gpu-stage}
DATA=${DATA:-../shared/data/domain/dev.jsonl}
make onnxruntime-cuda
rm -rf "$STAGE" && mkdir -p "$STAGE/a" "$STAGE/b/zbin" "$STAGE/w"
CGO_ENABLED=1 go test -c -o "$STAGE/w/onnx.test" ./pkg/classifier/onnx/
python3 test/bench/gpu/trim_fatbin.py .cache/onnxruntime-cuda/libonnxruntime_providers_cuda.so "$STAGE/w/cuda90.so"
zstd -q -T0 -19 --long=27 "$STAGE/w/cuda90.so" -o "$STAGE/w/cuda90.zst"
zstd -q -T0 -15 .cache/onnxruntime-cuda/libonnxruntime.so.1 -o "$STAGE/b/ort.zst"
zstd -q -T0 -19 "$STAGE/w/onnx.test" -o "$STAGE/b/onnx.test.zst"
head -c 33000000 "$STAGE/w/cuda90.zst" > "$STAGE/a/p1"
tail -c +33000001 "$STAGE/w/cuda90.zst" > "$STAGE/b/p2"
cp .cache/onnxruntime-cuda/libonnxruntime_providers_shared.so "$STAGE/b/shared.so"
cp -r training/domainclf "$STAGE/b/" && rm -rf "$STAGE/b/domainclf/__pycache__"
cp "$DATA" test/bench/gpu/device-run.sh "$STAGE/b/"
# The device image has no zstd: carry this machine's, with its libraries.
cp "$(command -v zstd)" "$STAGE/b/zbin/"
for l in $(ldd "$(command -v zstd)" | awk '/=>/{print $3}' | grep -v 'libc\.so'); do cp "$l" "$STAGE/b/zbin/"; done
du -sh "$STAGE/a" "$STAGE/b"
