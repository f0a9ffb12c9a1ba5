# The pure-Go linear classifier (pkg/classifier/linear) and its shipped model.
#   make linear-model   retrain models/domain-linear from ../shared/data and the lexicon
#                       (deterministic: the same data gives the same bytes;
#                       TestShippedModelIsReproducible checks it; fetches ONNX Runtime)
#   make linear-eval    accuracy, macro-F1 and latency of the shipped model on dev.jsonl
#   make linear-bench   latency and throughput benchmarks (docs/classifier.md)
#   make linear-lexicon the embedded ONNX model alone run on each word of its vocabulary:
#                       the teacher lexicon of the shipped model's short-text head
#   make linear-head-cv cross-validate the lexicon head on train.jsonl
#                       (docs/results/linear-short-prompts-2026-12-02b)

DATA_DIR          ?= $(abspath $(CURDIR)/../shared/data)
LINEAR_MODEL_DIR  := models/domain-linear

LINEAR_LEXICON    ?= $(CACHE_DIR)/linear/domain-minilm-lexicon.bin
# GATES/CROPS/L2S/LRS, comma lists (classify train -h, --head-cv).
LINEAR_HEAD_CV    ?= 16,32,64,1024/2/1e-4/0.2
LINEAR_HEAD_FLAGS ?= --head-seen 20 --head-diagonal

.PHONY: linear-model linear-eval linear-bench linear-lexicon linear-head-cv

# The shipped head is DefaultHeadOptions (trial 7 of the results above); the
# teacher string is recorded in linear.json. TestShippedModelIsReproducible
# runs the same two steps: keep them in step.
LINEAR_LEXICON_TEACHER := models/domain-minilm alone (classify lexicon)

linear-model: linear-lexicon ## Retrain the embedded linear model (models/domain-linear) from ../shared/data and the teacher lexicon
	@test -f $(DATA_DIR)/domain/train.jsonl || { echo "missing $(DATA_DIR)/domain/train.jsonl (set DATA_DIR)" >&2; exit 1; }
	$(GO) run ./cmd/classify train --data $(DATA_DIR)/domain/train.jsonl --dev $(DATA_DIR)/domain/dev.jsonl \
		--lexicon $(LINEAR_LEXICON) --lexicon-teacher '$(LINEAR_LEXICON_TEACHER)' --out $(LINEAR_MODEL_DIR)

linear-eval: ## Evaluate the embedded linear model on dev.jsonl
	$(GO) run ./cmd/classify eval --backend linear --data $(DATA_DIR)/domain/dev.jsonl

linear-bench: ## Run the linear backend's benchmarks
	$(GO) test -run '^$$' -bench 'Classify|Throughput' -benchmem ./pkg/classifier/linear/

linear-lexicon: onnxruntime ## Score each whole word of the ONNX model's vocabulary with it (the linear head's teacher lexicon) into .cache/linear
	CGO_ENABLED=1 ONNXRUNTIME_LIB=$(ORT_LIB) $(GO) run ./cmd/classify lexicon --out $(LINEAR_LEXICON)

linear-head-cv: linear-lexicon ## Cross-validate the linear lexicon head's settings on train.jsonl (LINEAR_HEAD_CV, LINEAR_HEAD_FLAGS)
	@test -f $(DATA_DIR)/domain/train.jsonl || { echo "missing $(DATA_DIR)/domain/train.jsonl (set DATA_DIR)" >&2; exit 1; }
	$(GO) run ./cmd/classify train --data $(DATA_DIR)/domain/train.jsonl --lexicon $(LINEAR_LEXICON) \
		$(LINEAR_HEAD_FLAGS) --head-cv-source mmlu-pro --head-cv $(LINEAR_HEAD_CV)
