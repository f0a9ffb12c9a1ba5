#!/usr/bin/env bash
# Round 1 on the GPU device (issue 15): assemble the carried ONNX Runtime CUDA
# set, derive the GPU graphs from the shipped int8 model there, check labels
# against the CPU default and time the variants side by side with the CPU.
# Run from the repository root with .gpucarry/ carried (see run.sh).
set -u
R=$PWD C=$PWD/.gpucarry G=/tmp/g
mkdir -p $G/ort $G/m $OUT
cat $G/p1 $C/p2 > $G/cuda90.zst && zstd -d -q -f $G/cuda90.zst -o $G/ort/libonnxruntime_providers_cuda.so || exit 1
zstd -d -q -f $C/ort.zst -o $G/ort/libonnxruntime.so.1 && cp $C/shared.so $G/ort/libonnxruntime_providers_shared.so || exit 1
zstd -d -q -f $C/onnx.test.zst -o $G/onnx.test && chmod +x $G/onnx.test || exit 1
sha256sum $G/ort/* | tee $OUT/sha.txt
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee $OUT/machine.txt
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a $OUT/machine.txt
python3 -c "import onnx, onnxruntime; print('onnx', onnx.__version__, 'onnxruntime', onnxruntime.__version__)" | tee -a $OUT/machine.txt
export LD_LIBRARY_PATH=$G/ort:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu ONNXRUNTIME_LIB=$G/ort/libonnxruntime.so.1
cd $C
for v in q16:fp16:int8 g16:fp16:float q32:fp32:int8; do
  IFS=: read name prec act <<< "$v"
  python3 -m domainclf.gpugraph --src $R/models/domain-minilm --out $G/m/$name --precision $prec --activations $act 2>&1 | tee -a $OUT/graphs.log
done
cp -r $R/models/domain-linear $G/m/
cd $R/pkg/classifier/onnx
T=$G/onnx.test
for v in q16 g16 q32; do
  echo "=== agreement $v"
  SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/$v SEMANTIC_EPP_CPU_MODEL=$R/models/domain-minilm SEMANTIC_EPP_PARITY_DATA=$C/dev.jsonl \
    timeout 120 $T -test.run 'TestCUDAModelAgreement|TestCUDAParity' -test.v 2>&1 | tee -a $OUT/agreement.log | grep -E "^(---|ok|FAIL)|agreement"
done
M="q16=$G/m/q16,g16=$G/m/g16,q32=$G/m/q32"
echo "=== CPU default, same machine"
BENCH_INTRA_OP_THREADS=1 BENCH_CONCURRENCY=1,16 timeout 60 $T -test.run '^$' -test.bench 'Latency/shipped/tokens=128|Throughput/shipped/conc=16/batching=false' -test.benchtime 2s 2>&1 | tee $OUT/cpu.log | grep -E "^Benchmark|FAIL"
echo "=== GPU latency"
BENCH_DEVICE=cuda BENCH_MODELS=$M timeout 90 $T -test.run '^$' -test.bench 'Latency/(q16|g16|q32)/tokens=(43|128)$' -test.benchtime 2s 2>&1 | tee $OUT/gpu_latency.log | grep -E "^Benchmark|FAIL|rror"
echo "=== GPU throughput"
for wb in 2:256 4:256 4:512 8:512; do
  IFS=: read w mb <<< "$wb"
  BENCH_DEVICE=cuda BENCH_MODELS=$M BENCH_WORKERS=$w BENCH_MAX_BATCH=$mb BENCH_CONCURRENCY=1024,4096 timeout 100 $T -test.run '^$' -test.bench 'Throughput/(q16|g16)/conc=.*/batching=true' -test.benchtime 3s 2>&1 | sed "s/^Benchmark/w=$w,mb=$mb Benchmark/" | tee -a $OUT/gpu_throughput.log | grep -E "Benchmark|FAIL|rror"
done
echo "=== profile q16 batch 256"
mkdir -p $G/prof && BENCH_ORT_PROFILE=$G/prof/q16 BENCH_DEVICE=cuda BENCH_MODELS=q16=$G/m/q16 BENCH_WORKERS=2 BENCH_MAX_BATCH=256 BENCH_CONCURRENCY=1024 timeout 60 $T -test.run '^$' -test.bench 'Throughput/q16/conc=1024/batching=true' -test.benchtime 3000x > /dev/null 2>&1
python3 $C/profsum.py $G/prof/*.json > $OUT/profile.txt 2>&1; head -40 $OUT/profile.txt
