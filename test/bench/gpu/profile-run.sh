#!/usr/bin/env bash
# Issue 15, item 3 on the GPU device: where the GPU graph's time goes, and what the fused graph
# (training/domainclf/gpufuse.py) changes. Run from the repository root with .gpucarry/ carried
# (run.sh stages it). Every stage runs the graphs side by side in the same call:
#   graphs      $GRAPHS ("name:precision:activations:fusion"), built as make model-gpu does
#   agreement   TestCUDAModelAgreement (graph alone vs the CPU default, dev.jsonl) for $AGREE
#               ("name" or "name:cuda_option=value")
#   run         BenchmarkRun (the ONNX Runtime run alone, pre-tokenized), 1 and 2 concurrent runs
#   encode      BenchmarkEncode (a batch's host tokenization alone)
#   latency     BenchmarkLatency at 128 tokens (Classify: tokenization + run + softmax)
#   throughput  BenchmarkThroughput with micro-batching ($WORKERS workers, batches <= $MAXBATCH)
#   cudagraphs  TestCUDAGraphsMatchSession for each graph (the CUDA graph path against the plain
#               session over dev.jsonl), then BenchmarkRun at batch 1 and BenchmarkLatency at
#               16, 43 and 128 tokens with CUDA graphs on and off side by side (NAME-nographs)
#   refine      TestCUDARefineMargins: the first graph's ensemble with the texts of small top-two
#               margin classified again by $EXACT's (use_tf32=0), agreement with the CPU default
#               per threshold
#   default     the default as make model-gpu lays it out (fast graph with its ensemble and the
#               exact refinement below margin $MARGIN) under $G/gpu: TestGPUDefaultAgreement (one
#               text at a time and in batches of 64) and BenchmarkGPUDefault (as the EPP runs it)
#               once per GOGC value of $GOGCS; BENCH_PREPARE=off-too adds tokenizing in the
#               batch workers (prepare=off) beside tokenizing in the callers
#   kernels     after default: for each attentionKernel of $KERNELS, TestGPUDefaultAgreement and
#               BenchmarkRun of the default's fast graph (batch 512, 1 and 2 runs at once); then
#               BenchmarkGPUDefault at 1,024 and 4,096 callers with the kernels side by side
#   ncu         per-kernel GPU time of $NCU_GRAPH at batch 512 (Nsight Compute), summed by kernel
#   profile     ONNX Runtime's profile of batch 1 summed by operator (profsum.py)
#   variants    for each of $VARIANTS ("name:cuda_option=value;..."), on the first graph: the run at
#               batch 1 and 512, Classify latency, and micro-batched throughput at 1,024 and 4,096 callers
# Logs under $OUT: console.log holds everything printed.
set -u
GRAPHS=${GRAPHS:-g16:fp16:float:on g16u:fp16:float:off}
AGREE=${AGREE:-g16}
STAGES=${STAGES:-graphs agreement run encode latency throughput ncu profile}
KERNELS=${KERNELS:-efficient cudnn} EXACT=${EXACT:-q32} MARGIN=${MARGIN:-0.1} GOGCS=${GOGCS:-100} WORKERS=${WORKERS:-2} MAXBATCH=${MAXBATCH:-512} NCU_GRAPH=${NCU_GRAPH:-g16}
. test/bench/gpu/assemble.sh
T=$G/onnx.test D=$G/dev.jsonl M=""
for g in $GRAPHS; do M="$M${M:+,}${g%%:*}=$G/m/${g%%:*}"; done
names=$(for g in $GRAPHS; do printf '%s|' "${g%%:*}"; done); names="(${names%|})"
# throughput GRAPH_REGEX TIMEOUT: micro-batched throughput at 1,024 and 4,096 callers.
throughput() { for conc in 1024 4096; do
  BENCH_WORKERS=$WORKERS BENCH_MAX_BATCH=$MAXBATCH BENCH_CONCURRENCY=$conc bench "$2" "Throughput/$1/conc=$conc/batching=true" -test.benchtime 3s
done; }
bench() { BENCH_DEVICE=cuda BENCH_MODELS=$M timeout "$1" $T -test.run '^$' -test.bench "$2" "${@:3}" 2>&1 | grep -E "^Benchmark|FAIL|rror"; }
cd $R/pkg/classifier/onnx
for s in $STAGES; do
  echo "=== $s"
  case $s in
  graphs) rm -rf $G/m/domain-linear && cp -r $R/models/domain-linear $G/m/  # the ensembles' second member
    for g in $GRAPHS; do
      IFS=: read name prec act fus <<< "$g"
      (cd $R/training && python3 -m domainclf.gpugraph --src $R/models/domain-minilm --out $G/m/$name --precision $prec --activations $act --fusion $fus) 2>&1 | tee -a $OUT/graphs.log
    done ;;
  agreement) for v in $AGREE; do
      name=${v%%:*} opt=; [ "$name" != "$v" ] && opt=${v#*:}
      echo "--- $v"
      BENCH_CUDA_OPTIONS=$opt SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/$name SEMANTIC_EPP_CPU_MODEL=$R/models/domain-minilm SEMANTIC_EPP_PARITY_DATA=$D \
        timeout 120 $T -test.run 'TestCUDAModelAgreement' -test.v 2>&1 | grep -E "agreement|rror"
    done ;;
  cudagraphs) for g in $GRAPHS; do
      echo "--- ${g%%:*}"
      SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/${g%%:*} SEMANTIC_EPP_PARITY_DATA=$D \
        timeout 240 $T -test.run 'TestCUDAGraphsMatchSession' -test.v 2>&1 | grep -E "texts|rror|captured|^(---|ok|FAIL|PASS)"
    done
    BENCH_CUDA_GRAPHS=off-too bench 200 "Run/$names/batch=1\$/runners=1\$" -test.benchtime 1s
    BENCH_CUDA_GRAPHS=off-too bench 200 "Latency/$names/tokens=(16|43|128)\$" -test.benchtime 1s ;;
  refine) first=${GRAPHS%% *}
    SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_CUDA_MODEL=$G/m/${first%%:*} SEMANTIC_EPP_CUDA_EXACT_MODEL=$G/m/$EXACT SEMANTIC_EPP_PARITY_DATA=$D \
      BENCH_CUDA_OPTIONS=use_tf32=0 timeout 400 $T -test.run 'TestCUDARefineMargins' -test.v 2>&1 | grep -E "texts|threshold|exact|rror|^(---|ok|FAIL)" ;;
  default) GD=$G/gpu && rm -rf $GD && mkdir -p $GD && cp -r $R/models/domain-linear $GD/
    (cd $R/training && python3 -m domainclf.gpugraph --src $R/models/domain-minilm --out $GD/domain-minilm --precision fp16 \
        --activations float --refine ../domain-minilm-exact:$MARGIN &&
      python3 -m domainclf.gpugraph --src $R/models/domain-minilm --out $GD/domain-minilm-exact --precision fp32 --activations int8 \
        --ensemble off) >> $OUT/graphs.log 2>&1 || { echo "building the default's GPU graphs failed"; continue; }
    [ "${DEFAULT_AGREE:-on}" = on ] && SEMANTIC_EPP_GPU_MODEL_DIR=$GD/domain-minilm SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_PARITY_DATA=$D \
      timeout 300 $T -test.run 'TestGPUDefaultAgreement' -test.v 2>&1 | grep -E "texts|rror|^(---|ok|FAIL)"
    for gc in $GOGCS; do
      SEMANTIC_EPP_GPU_MODEL_DIR=$GD/domain-minilm SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_PARITY_DATA=$D BENCH_MAX_BATCH=$MAXBATCH GOGC=$gc \
        timeout 300 $T -test.run '^$' -test.bench 'GPUDefault' -test.benchtime 3s 2>&1 | grep -E "^Benchmark|rror" | sed "s/^/GOGC=$gc /"
    done ;;
  kernels) GD=$G/gpu
    [ -s $GD/domain-minilm/model.onnx ] || { echo "kernels: run the default stage first"; continue; }
    for k in $KERNELS; do
      echo "--- $k"
      BENCH_ATTENTION=$k SEMANTIC_EPP_GPU_MODEL_DIR=$GD/domain-minilm SEMANTIC_EPP_TEST_CUDA=1 SEMANTIC_EPP_PARITY_DATA=$D \
        timeout 300 $T -test.run 'TestGPUDefaultAgreement' -test.v 2>&1 | grep -E "texts|rror|^(---|ok|FAIL)"
      BENCH_ATTENTION=$k BENCH_DEVICE=cuda BENCH_MODELS=default=$GD/domain-minilm timeout 200 $T -test.run '^$' \
        -test.bench 'Run/default/batch=512$/runners=(1|2)$' -test.benchtime 2s 2>&1 | grep -E "^Benchmark|rror" | sed "s/^/$k /"
    done
    BENCH_ATTENTION=$(echo $KERNELS | tr ' ' ,) BENCH_CONCURRENCY=1024,4096 SEMANTIC_EPP_GPU_MODEL_DIR=$GD/domain-minilm SEMANTIC_EPP_TEST_CUDA=1 \
      SEMANTIC_EPP_PARITY_DATA=$D BENCH_MAX_BATCH=$MAXBATCH GOGC=400 timeout 400 $T -test.run '^$' -test.bench 'GPUDefault' -test.benchtime 3s 2>&1 | grep -E "^Benchmark|rror" ;;
  run) bench 300 "Run/$names/batch=(1|512|1024)\$/runners=(1|2)\$" -test.benchtime 1s ;;
  encode) first=${GRAPHS%% *}; bench 60 "Encode/${first%%:*}/" -test.benchtime 1s ;;
  latency) bench 120 "Latency/$names/tokens=128\$" -test.benchtime 2s ;;
  throughput) throughput "$names" 120 ;;
  ncu) command -v ncu > /dev/null || { echo "no ncu"; continue; }
    BENCH_DEVICE=cuda BENCH_MODELS=$NCU_GRAPH=$G/m/$NCU_GRAPH timeout 240 ncu --clock-control none --csv --metrics gpu__time_duration.sum \
      $T -test.run '^$' -test.bench "Run/$NCU_GRAPH/batch=512\$/runners=1\$" -test.benchtime 4x > /tmp/ncu.csv 2> /tmp/ncu.err
    python3 $R/test/bench/gpu/ncusum.py /tmp/ncu.csv 2>&1 | tee $OUT/ncu.txt || tail -5 /tmp/ncu.err ;;
  profile) mkdir -p /tmp/prof && rm -f /tmp/prof/*
    for g in $GRAPHS; do
      BENCH_DEVICE=cuda BENCH_MODELS=$M BENCH_ORT_PROFILE=/tmp/prof/${g%%:*} timeout 60 $T -test.run '^$' -test.bench "Run/${g%%:*}/batch=1\$/runners=1\$" -test.benchtime 300x > /dev/null 2>&1
    done
    python3 $R/test/bench/gpu/profsum.py $(for g in $GRAPHS; do ls -S /tmp/prof/${g%%:*}_*.json | head -1; done) > $OUT/profsum.txt 2>&1
    grep -E "runs|^  [A-Z]" $OUT/profsum.txt | head -60 ;;
  variants) first=${GRAPHS%% *}; first=${first%%:*}
    for v in $VARIANTS; do
      name=${v%%:*} opt=${v#*:}
      echo "--- $name ($opt)"
      export BENCH_CUDA_OPTIONS=$opt
      bench 120 "Run/$first/batch=(1|512)\$/runners=(1|2)\$" -test.benchtime 1s | sed "s/^/$name /"
      bench 60 "Latency/$first/tokens=128\$" -test.benchtime 2s | sed "s/^/$name /"
      throughput "$first" 60 | sed "s/^/$name /"
      unset BENCH_CUDA_OPTIONS
    done ;;
  esac
done
