#!/usr/bin/env bash
# GPU verification for the ONNX backend (issue 3). Run from the repo root on the device.
REPO=$PWD
cp .gpu/dpart7/part7 /tmp/g/ || exit 1
cd /tmp/g && cat part0 part1 part2 part3 part4 part5 part6 part7 > all.tar && sha256sum all.tar && tar -xf all.tar && rm -f part* all.tar
Z() { LD_LIBRARY_PATH=/tmp/g/z /tmp/g/z/zstd "$@"; }
Z -d -q -f ortcuda19.tar.zst -o ortcuda.tar && tar -xf ortcuda.tar && rm ortcuda.tar ortcuda19.tar.zst
Z -d -q -f fp32.tar.zst -o fp32.tar && tar -xf fp32.tar && rm fp32.tar fp32.tar.zst
Z -d -q -f onnx.test.zst -o onnx.test && chmod +x onnx.test
sha256sum onnxruntime-cuda/* domain-minilm-fp32/model.onnx
cd "$REPO" && mkdir -p .cache/onnx-bench && ln -sfn /tmp/g/domain-minilm-fp32 .cache/onnx-bench/minilm
export LD_LIBRARY_PATH=/tmp/g/onnxruntime-cuda:/usr/local/cuda/lib64:/usr/lib/x86_64-linux-gnu:${LD_LIBRARY_PATH:-}
export ONNXRUNTIME_LIB=/tmp/g/onnxruntime-cuda/libonnxruntime.so.1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee $OUT/machine.txt
lscpu | grep -E "Model name|^CPU\(s\)" | tee -a $OUT/machine.txt
cd pkg/classifier/onnx
SEMANTIC_EPP_TEST_CUDA=1 timeout 120 /tmp/g/onnx.test -test.run 'CUDA|Matches' -test.v > $OUT/cuda_tests.log 2>&1; echo "cuda tests rc=$?"; tail -25 $OUT/cuda_tests.log
echo "=== GPU latency"; BENCH_DEVICE=cuda timeout 150 /tmp/g/onnx.test -test.run '^$' -test.bench 'Latency/^(shipped|minilm-bench)$' -test.benchtime 2s 2>&1 | tee $OUT/gpu_latency.log | grep -E "^Benchmark|FAIL|rror" 
echo "=== GPU throughput"; BENCH_DEVICE=cuda BENCH_WORKERS=2 BENCH_MAX_BATCH=256 timeout 170 /tmp/g/onnx.test -test.run '^$' -test.bench 'Throughput/^(shipped|minilm-bench)$' -test.benchtime 3s 2>&1 | tee $OUT/gpu_throughput.log | grep -E "^Benchmark|FAIL|rror"
echo "=== CPU latency (same machine, 1 intra-op thread)"; BENCH_INTRA_OP_THREADS=1 timeout 90 /tmp/g/onnx.test -test.run '^$' -test.bench 'Latency/^(shipped|minilm-bench)$' 2>&1 | tee $OUT/cpu_latency.log | grep -E "^Benchmark|FAIL|rror"
echo "=== CPU throughput (1 thread per worker)"; BENCH_INTRA_OP_THREADS=1 timeout 90 /tmp/g/onnx.test -test.run '^$' -test.bench 'Throughput/^shipped$' 2>&1 | tee $OUT/cpu_throughput.log | grep -E "^Benchmark|FAIL|rror"
