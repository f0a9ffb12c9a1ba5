# Soak (issue 12, test/bench/soak and test/bench/cmd/soak, docs/results/soak/).
#   make soak   the sandbox under the mixed workload (auto and explicit, chat and
#               completions, streamed and not, 1 % malformed): a short closed-loop
#               ramp measures the capacity, then 30 minutes at 70 % of it while the
#               EPP's RSS and goroutines are sampled. Writes docs/results/soak/
#               (README.md, soak.png, soak.json) and fails on any unexpected answer
#               or a drift above 5 % after the warm-up. About 33 minutes; root
#               (network namespaces) and ../shared/data/domain/dev.jsonl.
#   SOAK_ARGS   extra flags, e.g. "-duration 5m -warmup 1m -span 1m" for a short run

SOAK_BIN  := $(CACHE_DIR)/bin/soak
SOAK_ARGS ?=

.PHONY: soak soak-bin

soak-bin:
	@mkdir -p $(dir $(SOAK_BIN))
	cd $(BENCH_MODULE) && $(GO) build -o $(SOAK_BIN) ./cmd/soak

soak: e2e-deps onnxruntime soak-bin ## 30-minute soak at 70 % of the measured capacity (docs/results/soak/)
	@test -f ../shared/data/domain/dev.jsonl || { echo "soak: ../shared/data/domain/dev.jsonl missing (the shared data set)"; exit 1; }
	$(SOAK_BIN) -repo $(CURDIR) $(SOAK_ARGS)
