#!/usr/bin/env bash
# Issue 15's auto_minus_explicit_ms on the GPU device, staged from the repository (run here, at
# the repository root): the system benchmark (test/bench/cmd/bench) with the GPU overlay's config
# (deploy/components/gpu/semantic-epp.yaml) beside the CPU default, on the one-hop EPP only.
# It builds what the sandbox needs that the checkout lacks (kube-apiserver, etcd,
# llm-d-inference-sim, bin/epp and the bench command, stripped; the GIE CRDs, dev.jsonl and, with
# WITH_ORT=1, the ONNX Runtime CUDA set), packs it into one zstd stream (a long window, so the
# models that bin/epp and bench both embed are stored once), and cuts it into carry folders
# $STAGE/1 .. $STAGE/N of at most CARRY_MAX bytes each: a device call carries at most 64 MiB
# together with the checkout. The device has no zstd and no ip (iproute2, for the sandbox's network
# namespaces; root and namespaces work there, 2026-11-27): folder 1 also carries this machine's.
# Then, with the device tool, back to back (a machine goes back 30 s after a call):
#   0. once: echo /.gpucarry/ >> .git/info/exclude   (the folder must be git-ignored)
#   for i in 1 .. N: replace <checkout>/.gpucarry with $STAGE/$i, run
#        bash test/bench/gpu/system-run.sh                     carry [".gpucarry"]
# Every call keeps its part under /tmp/g and says which parts are still missing (and builds the
# GPU graph while there is nothing else to do); the call that brings the last part runs the
# benchmark. Parts may come in any order; a part lost with a machine that went cold is named.
# SIZES=1 also prints each binary's size compressed alone.
# WITH_ORT=0 leaves the ONNX Runtime CUDA set out when /tmp/g/ort already holds it (run.sh).
set -euo pipefail
STAGE=${STAGE:-/tmp/semantic-epp-system-stage}
DATA=${DATA:-../shared/data/domain/dev.jsonl}
CARRY_MAX=${CARRY_MAX:-28000000}
WITH_ORT=${WITH_ORT:-1}
LEVEL=${LEVEL:-19}
# 64 MiB per call, less what the device copies of the checkout: tracked files and the
# untracked ones git does not ignore (both change, so measure now).
tree=$(git ls-files -co --exclude-standard -z | xargs -0 stat -c %s 2>/dev/null | awk '{s+=$1} END {print s}')
make tools onnxruntime
[ "$WITH_ORT" = 1 ] && make onnxruntime-cuda
rm -rf "$STAGE" && mkdir -p "$STAGE/w/sys/bin" "$STAGE/w/sys/tools" "$STAGE/w/sys/crd" "$STAGE/zbin"
W=$STAGE/w X=$STAGE/w/sys
# Stripped: the device needs no symbols, and they are a third of a Go binary.
CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o "$X/bin/epp" ./cmd/epp
(cd test/bench && CGO_ENABLED=1 go build -trimpath -ldflags='-s -w' -o "$X/bin/bench" ./cmd/bench)
cp .cache/tools/bin/kube-apiserver .cache/tools/bin/etcd .cache/tools/bin/llm-d-inference-sim "$X/tools/"
# The sandbox reads the CRDs from the module cache with `go list` unless GIE_CRD_DIR is set.
cp "$(go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api-inference-extension)"/config/crd/bases/*.yaml "$X/crd/"
cp "$DATA" "$X/dev.jsonl"
git rev-parse --short HEAD > "$X/commit" 2>/dev/null || echo unknown > "$X/commit"
if [ "$WITH_ORT" = 1 ]; then
  mkdir -p "$X/ort"
  # Only the H200's sm_90 CUDA images: the others are most of the provider's bytes.
  python3 test/bench/gpu/trim_fatbin.py .cache/onnxruntime-cuda/libonnxruntime_providers_cuda.so "$X/ort/libonnxruntime_providers_cuda.so"
  cp .cache/onnxruntime-cuda/libonnxruntime.so.1 .cache/onnxruntime-cuda/libonnxruntime_providers_shared.so "$X/ort/"
fi
# epp and bench side by side in the stream: the long window finds their shared bytes.
(cd "$W" && tar -cf - sys/bin sys/tools sys/crd sys/dev.jsonl sys/commit $( [ -d sys/ort ] && echo sys/ort )) |
  zstd -q -T0 -"$LEVEL" --long=30 -o "$W/sys.tar.zst"
# The device image has no zstd and no ip: carry this machine's, with their libraries (ip
# compressed, beside the zstd that unpacks it).
withlibs() { cp "$(readlink -f "$1")" "$2/"; for l in $(ldd "$1" | awk '/=>/{print $3}' | grep -v 'libc\.so'); do cp "$l" "$2/"; done; }
withlibs "$(command -v zstd)" "$STAGE/zbin"
mkdir -p "$W/ipt" && withlibs "$(command -v ip)" "$W/ipt"
(cd "$W" && tar -cf - ipt) | zstd -q -19 -o "$STAGE/zbin/ipt.tar.zst"
zb=$(du -sb "$STAGE/zbin" | cut -f1)
total=$(stat -c %s "$W/sys.tar.zst")
# Cut: folder 1 holds zbin as well; 16 KiB of room for the manifest and du's rounding.
off=0 i=1
while [ "$off" -lt "$total" ]; do
  room=$((CARRY_MAX - 16384)); [ $i = 1 ] && room=$((room - zb))
  d=$STAGE/$i && mkdir -p "$d"
  dd if="$W/sys.tar.zst" of="$d/part-$(printf %02d $i)" bs=1M iflag=skip_bytes,count_bytes skip="$off" count="$room" status=none
  off=$((off + room)) i=$((i + 1))
done
n=$((i - 1))
mv "$STAGE/zbin" "$STAGE/1/"
# The manifest names every part and the whole stream, so a device call knows what it still lacks.
(cd "$W" && sha256sum sys.tar.zst) > "$W/sys.sha256"
for d in $(seq 1 $n); do (cd "$STAGE/$d" && sha256sum part-*) >> "$W/sys.sha256"; done
for d in $(seq 1 $n); do cp "$W/sys.sha256" "$STAGE/$d/"; done
echo "uncompressed:"; du -sb "$X"/bin/* "$X"/tools/* "$X"/ort/* 2>/dev/null | awk '{printf "  %6.1f MB  %s\n", $1/1e6, $2}'
# SIZES=1: what each binary would take compressed on its own (slow: a minute on 2 cores).
[ "${SIZES:-0}" = 1 ] && for f in bin/epp bin/bench tools/kube-apiserver tools/etcd tools/llm-d-inference-sim; do
  printf '  %-28s alone: %5.1f MB zstd -%s\n' "$f" "$(zstd -q -T0 -"$LEVEL" --long=27 -c "$X/$f" | wc -c | awk '{print $1/1e6}')" "$LEVEL"
done
printf 'stream: %.1f MB in %d parts; checkout copied with each call: %.1f MB\n' "$(echo "$total" | awk '{print $1/1e6}')" "$n" "$(echo "$tree" | awk '{print $1/1e6}')"
for d in $(seq 1 $n); do
  s=$(du -sb "$STAGE/$d" | cut -f1)
  printf '  call %d: carry %s (%.1f MB), with the checkout %.1f of 67.1 MB\n' "$d" "$STAGE/$d" "$(echo "$s" | awk '{print $1/1e6}')" "$(echo "$s $tree" | awk '{print ($1+$2)/1e6}')"
  [ "$s" -le "$CARRY_MAX" ] || { echo "folder $d is over CARRY_MAX"; exit 1; }
done
echo "each call: rm -rf .gpucarry && cp -r $STAGE/<i> .gpucarry, then run  bash test/bench/gpu/system-run.sh  carry [\".gpucarry\"]"
