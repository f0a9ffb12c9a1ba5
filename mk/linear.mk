# The pure-Go linear classifier (pkg/classifier/linear) and its shipped model.
#   make linear-model   retrain models/domain-linear from ../shared/data (deterministic:
#                       the same data gives the same bytes; TestShippedModelIsReproducible checks it)
#   make linear-eval    accuracy, macro-F1 and latency of the shipped model on dev.jsonl
#   make linear-bench   latency and throughput benchmarks (docs/classifier.md)

DATA_DIR          ?= $(abspath $(CURDIR)/../shared/data)
LINEAR_MODEL_DIR  := models/domain-linear

.PHONY: linear-model linear-eval linear-bench

linear-model: ## Retrain the embedded linear model (models/domain-linear) from ../shared/data
	@test -f $(DATA_DIR)/domain/train.jsonl || { echo "missing $(DATA_DIR)/domain/train.jsonl (set DATA_DIR)" >&2; exit 1; }
	$(GO) run ./cmd/classify train --data $(DATA_DIR)/domain/train.jsonl --dev $(DATA_DIR)/domain/dev.jsonl --out $(LINEAR_MODEL_DIR)

linear-eval: ## Evaluate the embedded linear model on dev.jsonl
	$(GO) run ./cmd/classify eval --backend linear --data $(DATA_DIR)/domain/dev.jsonl

linear-bench: ## Run the linear backend's benchmarks
	$(GO) test -run '^$$' -bench 'Classify|Throughput' -benchmem ./pkg/classifier/linear/
