#!/usr/bin/env bash
# Assemble ORT CUDA libs, export student + 6-layer GPU graphs, bench on CUDA.
REPO=$PWD G=/tmp/g
cd $G && cat l0 l1 l2 > libs.bin && sha256sum libs.bin && head -c 6549224 libs.bin > onnx.test.xz && tail -c +6549225 libs.bin | head -c 12156740 > ort.so.xz && tail -c 164329452 libs.bin > cuda.so.xz && rm -f l0 l1 l2 libs.bin
xz -d -T8 -f ort.so.xz cuda.so.xz onnx.test.xz; mkdir -p ortcuda && mv -f ort.so ortcuda/libonnxruntime.so.1 && mv -f cuda.so ortcuda/libonnxruntime_providers_cuda.so && cp -f b/shared.so ortcuda/libonnxruntime_providers_shared.so; chmod +x onnx.test
cd $REPO/training
for n in l025-kd; do DOMAIN_DATA_DIR=$G/b/data python3 -m domainclf.export --ckpt $G/b/runs/$n --encoder ../models/domain-minilm --out $G/g/s3-fp32 --fp16-out $G/g/s3-fp16 --force > $OUT/export_s3.log 2>&1 & done
DOMAIN_DATA_DIR=$G/b/data python3 -m domainclf.export --ckpt $G/b/ckpt --encoder ../models/domain-minilm --out $G/g/m6-fp32 --force > $OUT/export_m6.log 2>&1; wait
grep -h -E "parity|fused|rror" $OUT/export_*.log
export LD_LIBRARY_PATH=$G/ortcuda:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu ONNXRUNTIME_LIB=$G/ortcuda/libonnxruntime.so.1
cd $REPO/pkg/classifier/onnx; T=$G/onnx.test
M="s3fp32=$G/g/s3-fp32,s3fp16=$G/g/s3-fp16,m6fp32=$G/g/m6-fp32"
SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/g/s3-fp32 SEMANTIC_EPP_CPU_MODEL=$G/s/l025-kd/fp32 SEMANTIC_EPP_PARITY_DATA=$G/b/data/dev.jsonl timeout 120 $T -test.run 'CUDA' -test.v 2>&1 | tee $OUT/cuda_tests.log | grep -E "^(---|ok|FAIL)|agreement"
echo "=== GPU latency"; BENCH_DEVICE=cuda BENCH_MODELS=$M timeout 150 $T -test.run '^$' -test.bench 'Latency/(s3fp32|s3fp16|m6fp32)/' -test.benchtime 2s 2>&1 | tee $OUT/gpu_latency.log | grep -E "^Benchmark|FAIL|rror"
echo "=== GPU throughput"; BENCH_DEVICE=cuda BENCH_MODELS=$M BENCH_WORKERS=4 BENCH_MAX_BATCH=256 BENCH_CONCURRENCY=256,1024 timeout 200 $T -test.run '^$' -test.bench 'Throughput/(s3fp32|m6fp32)/conc=/batching=true' -test.benchtime 3s 2>&1 | tee $OUT/gpu_throughput.log | grep -E "^Benchmark|FAIL|rror"
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader > $OUT/machine.txt; lscpu | grep -E "Model name|^CPU\(s\)" >> $OUT/machine.txt
