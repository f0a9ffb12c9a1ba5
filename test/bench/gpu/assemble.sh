# Sourced by the device scripts (device-run.sh, profile-run.sh), from the repository root with
# .gpucarry/ carried (run.sh stages it): puts the carried ONNX Runtime CUDA set, the test binaries,
# dev.jsonl, domainclf and zstd together under /tmp/g and exports the environment the test
# binaries need. On a machine still warm from an earlier call, /tmp/g already holds them: then
# .gpucarry need only hold a new onnx.test.zst (one call instead of three).
R=$PWD C=$PWD/.gpucarry G=/tmp/g
mkdir -p $G/ort $G/m $OUT
if [ -f $C/p2 ]; then
  rm -rf $G/zbin && cp -r $C/zbin $G/zbin && cp $C/dev.jsonl $G/ && rm -rf $G/domainclf && cp -r $C/domainclf $G/ || exit 1
fi
export PATH=$G/zbin:$PATH LD_LIBRARY_PATH=$G/zbin
if [ -f $C/p2 ]; then
  cat $G/p1 $C/p2 > $G/cuda90.zst && zstd -d -q -f $G/cuda90.zst -o $G/ort/libonnxruntime_providers_cuda.so || exit 1
  zstd -d -q -f $C/ort.zst -o $G/ort/libonnxruntime.so.1 && cp $C/shared.so $G/ort/libonnxruntime_providers_shared.so || exit 1
fi
[ -s $G/ort/libonnxruntime_providers_cuda.so ] || { echo "no CUDA provider under $G: carry stage a, then b (run.sh)"; exit 1; }
for t in onnx; do
  if [ -f $C/$t.test.zst ]; then zstd -d -q -f $C/$t.test.zst -o $G/$t.test; elif [ -f $G/$t.test.zst ]; then zstd -d -q -f $G/$t.test.zst -o $G/$t.test; fi
  chmod +x $G/$t.test || exit 1
done
sha256sum $G/ort/* > $OUT/sha.txt
{ nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader; lscpu | grep -E "Model name|^CPU\(s\)"
  python3 -c "import onnx, onnxruntime; print('onnx', onnx.__version__, 'onnxruntime (python, graph build)', onnxruntime.__version__)"; } > $OUT/machine.txt
export LD_LIBRARY_PATH=$G/ort:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu ONNXRUNTIME_LIB=$G/ort/libonnxruntime.so.1
