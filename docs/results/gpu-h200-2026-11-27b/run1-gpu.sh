#!/usr/bin/env bash
# Call 4: ORT CUDA libs, export fp32/int8/fp16 from the checkpoint, Go CUDA tests and benchmarks.
REPO=$PWD G=/tmp/g
cd $G && for f in ort.so.xz cuda.so.xz; do [ -f $f ] && xz -d -T8 $f; done
mkdir -p ortcuda && mv -f ort.so ortcuda/libonnxruntime.so.1 2>/dev/null; mv -f cuda.so ortcuda/libonnxruntime_providers_cuda.so 2>/dev/null; cp -f b/shared.so ortcuda/libonnxruntime_providers_shared.so
[ -f onnx.test.xz ] && xz -d onnx.test.xz; chmod +x onnx.test
sha256sum ortcuda/* | tee $OUT/sha.txt
cd $REPO/training && DOMAIN_DATA_DIR=$G/b/data timeout 300 python3 -m domainclf.export --ckpt $G/b/ckpt --encoder $REPO/models/domain-minilm --out $G/m/fp32 --int8-out $G/m/int8 --fp16-out $G/m/fp16 > $OUT/export.log 2>&1; echo "export rc=$?"; grep -E "parity|fused|error" $OUT/export.log
export LD_LIBRARY_PATH=$G/ortcuda:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export ONNXRUNTIME_LIB=$G/ortcuda/libonnxruntime.so.1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee $OUT/machine.txt
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a $OUT/machine.txt
cd $REPO/pkg/classifier/onnx
T=$G/onnx.test
SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/fp16 SEMANTIC_EPP_CPU_MODEL=$G/m/fp32 SEMANTIC_EPP_PARITY_DATA=$G/b/data/dev.jsonl timeout 200 $T -test.run 'CUDA' -test.v > $OUT/cuda_tests.log 2>&1; echo "cuda tests rc=$?"; grep -E "^(---|===|ok|FAIL)|agreement|texts" $OUT/cuda_tests.log | head -20
M="fp16=$G/m/fp16,fp32=$G/m/fp32,int8=$G/m/int8"
echo "=== GPU latency"; BENCH_DEVICE=cuda BENCH_MODELS=$M timeout 120 $T -test.run '^$' -test.bench 'Latency/(fp16|fp32)/' -test.benchtime 2s 2>&1 | tee $OUT/gpu_latency.log | grep -E "^Benchmark|FAIL|rror"
for w in 2 4; do echo "=== GPU throughput workers=$w"; BENCH_DEVICE=cuda BENCH_MODELS=$M BENCH_WORKERS=$w BENCH_MAX_BATCH=256 BENCH_CONCURRENCY=64,256,1024 timeout 150 $T -test.run '^$' -test.bench 'Throughput/(fp16|fp32)/.*batching=true' -test.benchtime 3s 2>&1 | tee $OUT/gpu_throughput_w$w.log | grep -E "^Benchmark|FAIL|rror"; done
echo "=== CPU latency, same machine"; for th in 1 2; do BENCH_INTRA_OP_THREADS=$th BENCH_MODELS=$M timeout 90 $T -test.run '^$' -test.bench 'Latency/int8/tokens=(43|128)' 2>&1 | tee $OUT/cpu_latency_t$th.log | grep -E "^Benchmark|FAIL|rror"; done
