# System benchmarks (issue 7, test/bench, docs/benchmarks.md "System benchmarks").
#   make bench   plain EPP vs one-hop vs two-hop through the Envoy-like gateway and the
#                sandbox's simulated model servers, side by side in one run (A/B rounds);
#                writes docs/results/bench-cpu/ and the system section of docs/benchmarks.md.
#                About 8.5 minutes on the 2-core machine with the default 5-minute memory soak,
#                13.5 with BENCH_ARGS="-soak 10m" (issue 7's 10-minute run). Needs root (network namespaces)
#                and the shared data set (../shared/data/domain/dev.jsonl).
#   BENCH_ARGS   extra flags for the bench command, e.g. "-soak 10m" or "-sizes 128 -rounds 4";
#                "-configs one-hop,one-hop-cpu -step 0 -soak 0" runs a subset (summary.json and
#                summary.md only, the document untouched), "-net auto" falls back to loopback
#                pod addresses without network namespaces. The GPU machine's run of issue 15
#                (GPU one-hop beside the CPU default): test/bench/gpu/system-stage.sh.

BENCH_BIN  := $(CACHE_DIR)/bin/bench
BENCH_ARGS ?=

.PHONY: bench bench-bin semantic-router-bin

# test/bench is its own Go module (BENCH_MODULE, mk/go.mk): its commands build from there.
# bin/semantic-router: the two-hop first hop, built only for the benchmarks.
semantic-router-bin: cgo-toolchain
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GO) build -o $(BIN)/semantic-router ./cmd/semantic-router

bench-bin: cgo-toolchain semantic-router-bin
	@mkdir -p $(dir $(BENCH_BIN))
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GO) build -o $(BENCH_BIN) ./cmd/bench

bench: e2e-deps onnxruntime bench-bin ## System benchmark: plain vs one-hop vs two-hop (docs/benchmarks.md)
	@test -f ../shared/data/domain/dev.jsonl || { echo "bench: ../shared/data/domain/dev.jsonl missing (the shared data set)"; exit 1; }
	cd $(CURDIR) && $(BENCH_BIN) -repo $(CURDIR) $(BENCH_ARGS)

# Saturation benchmark (issue 11, test/bench/cmd/bench-saturation, docs/benchmarks.md
# "Saturation benchmark"): one slow phi4-mini pod and two llama3-8b pods with real
# capacity (--max-num-seqs, time to first token), a skewed `auto` workload at rising
# load; capacity-blind one-hop vs load-aware one-hop vs two-hop side by side.
# Writes docs/results/bench-saturation/ (summary.json, report.md, plot, raw data).
# About 5 minutes. The load-aware configuration is skipped, with a message, until
# config/semantic-epp-load-aware.yaml exists and bin/epp loads it.
#   SAT_BENCH_ARGS   extra flags, e.g. "-rates 6,12,18,24,30 -step 15s"
SAT_BENCH_BIN  := $(CACHE_DIR)/bin/bench-saturation
SAT_BENCH_ARGS ?=

.PHONY: bench-saturation bench-saturation-bin

bench-saturation-bin: semantic-router-bin
	@mkdir -p $(dir $(SAT_BENCH_BIN))
	cd $(BENCH_MODULE) && $(GO) build -o $(SAT_BENCH_BIN) ./cmd/bench-saturation

bench-saturation: e2e-deps onnxruntime bench-saturation-bin ## Saturation benchmark: blind vs load-aware vs two-hop (docs/benchmarks.md)
	@test -f ../shared/data/domain/dev.jsonl || { echo "bench-saturation: ../shared/data/domain/dev.jsonl missing (the shared data set)"; exit 1; }
	cd $(CURDIR) && $(SAT_BENCH_BIN) -repo $(CURDIR) $(SAT_BENCH_ARGS)
