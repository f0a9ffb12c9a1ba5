#!/usr/bin/env bash
# Issue 15 on the GPU device: assemble the carried ONNX Runtime CUDA set, derive
# the GPU graphs from the shipped int8 model there (as `make model-gpu` does),
# check labels against the CPU default and time the GPU graphs side by side
# with the CPU default on the same machine. Run from the repository root with
# .gpucarry/ carried; test/bench/gpu/run.sh stages the parts.
set -u
LOADER_VARIANTS=${LOADER_VARIANTS:-}
. test/bench/gpu/assemble.sh
cd $C
for v in q16:fp16:int8 g16:fp16:float q32:fp32:int8; do
  IFS=: read name prec act <<< "$v"
  python3 -m domainclf.gpugraph --src $R/models/domain-minilm --out $G/m/$name --precision $prec --activations $act >> $OUT/graphs.log 2>&1
done
cp -r $R/models/domain-linear $G/m/; cat $OUT/graphs.log
cd $R/pkg/classifier/onnx
T=$G/onnx.test D=$G/dev.jsonl
for v in g16 q16 q32 q32:use_tf32=0; do
  IFS=: read name opt <<< "$v"
  echo "=== agreement (graph alone) $v"
  BENCH_CUDA_OPTIONS=$opt SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/$name SEMANTIC_EPP_CPU_MODEL=$R/models/domain-minilm SEMANTIC_EPP_PARITY_DATA=$D \
    timeout 120 $T -test.run 'TestCUDAModelAgreement' -test.v 2>&1 | tee -a $OUT/agreement.log | grep -E "agreement|rror"
done
for v in $LOADER_VARIANTS; do
  echo "=== agreement (default with its ensemble, modelDir embedded, device cuda) $v"
  SEMANTIC_EPP_GPU_MODEL_DIR=$G/m/$v SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_PARITY_DATA=$D timeout 300 $T -test.run 'TestGPUDefaultAgreement' -test.v 2>&1 | tee -a $OUT/agreement.log | grep -E "agreement|accuracy|rror|^---"
done
M="q16=$G/m/q16,g16=$G/m/g16"
echo "=== CPU default, same machine"
BENCH_INTRA_OP_THREADS=1 BENCH_CONCURRENCY=16 timeout 60 $T -test.run '^$' -test.bench 'Latency/shipped/tokens=128|Throughput/shipped/conc=16/batching=false' -test.benchtime 2s 2>&1 | tee $OUT/cpu.log | grep -E "^Benchmark|FAIL"
echo "=== GPU latency and single-session batches"
BENCH_DEVICE=cuda BENCH_MODELS=$M timeout 150 $T -test.run '^$' -test.bench 'Latency/(q16|g16)/tokens=(43|128)$|Batch/(q16|g16)/' -test.benchtime 2s 2>&1 | tee $OUT/gpu_latency.log | grep -E "^Benchmark|FAIL|rror"
echo "=== GPU throughput (micro-batching)"
for wb in 2:256:1024 4:512:1024 4:512:4096 8:1024:4096; do
  IFS=: read w mb conc <<< "$wb"
  BENCH_DEVICE=cuda BENCH_MODELS=$M BENCH_WORKERS=$w BENCH_MAX_BATCH=$mb BENCH_CONCURRENCY=$conc timeout 80 $T -test.run '^$' -test.bench 'Throughput/(q16|g16)/conc=.*/batching=true' -test.benchtime 3s 2>&1 | sed "s/^Benchmark/w=$w,mb=$mb Benchmark/" | tee -a $OUT/gpu_throughput.log | grep -E "Benchmark|FAIL|rror"
done
