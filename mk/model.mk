# The default ONNX domain classifier (models/domain-minilm) and its Python pipeline (training/).
#   make model          fine-tune all-MiniLM-L6-v2 on ../shared/data/domain/train.jsonl (6-layer
#                       teacher), distil it into the 3-layer student, export the student int8
#                       (models/domain-minilm, embedded, with its ensemble.json) and fp32/fp16 GPU
#                       graphs (.cache/models/domain-minilm-fp32, -fp16).
#                       Refuses to replace the shipped model unless FORCE=1. GPU if torch sees one,
#                       else CPU (see docs/model-card.md for the time it takes).
#   make model-embedding  give the shipped graph its second output, the sentence embedding (the
#                       pooled vector the classification head reads; training/domainclf/embedout.py):
#                       logits unchanged bit for bit, model_info.json updated. Deterministic and
#                       idempotent; `make model` runs it after each export.
#   make model-gpu      derive the default's GPU graph from the shipped int8 model, no training and no
#                       torch (training/domainclf/gpugraph.py: weights dequantized, fp16): into
#                       .cache/models/gpu/domain-minilm with ensemble.json and the linear model beside
#                       it. The CUDA image builds and ships it; `device: cuda` with `modelDir: embedded`
#                       runs it (pkg/classifier/onnx, gpugraph.go). Deterministic: same bytes each run.
#   make model-gpu-export  export an fp32 GPU graph from the student checkpoint `make model` left in
#                       .cache instead (.cache/models/gpu-ckpt/domain-minilm, a directory to mount)
#   make model-compare  TF-IDF+SVM, the Go linear backend, fp32 and int8 on dev.jsonl, with latency
#   make vsr-test-models  rebuild the ModernBERT and mmBERT test classifiers in vLLM Semantic
#                       Router's layout (pkg/classifier/loader/testdata/vsr-*, a few hundred
#                       CPU steps on train.jsonl; deterministic), then commit them
#   make model-test     pytest: data validation, export/parity on a tiny model, shipped-model checks
#                       (part of `make test`; MODEL_TEST_TORCH=0 skips the torch tier with a reason)

DATA_DIR         ?= $(abspath $(CURDIR)/../shared/data)
MODEL_PYTHON     ?= python3
MODEL_VENV       := $(CACHE_DIR)/training-venv
MODEL_PY         := $(MODEL_VENV)/bin/python
MODEL_SHIPPED    := models/domain-minilm
MODEL_FP32       := $(CACHE_DIR)/models/domain-minilm-fp32
MODEL_FP16       := $(CACHE_DIR)/models/domain-minilm-fp16
MODEL_CKPT       := $(CACHE_DIR)/models/domain-minilm3-ckpt
MODEL_GPU        := $(CACHE_DIR)/models/gpu/domain-minilm
MODEL_GPU_CKPT   := $(CACHE_DIR)/models/gpu-ckpt/domain-minilm
GPUGRAPH_VENV    := $(CACHE_DIR)/gpugraph-venv
GPUGRAPH_PY      := $(GPUGRAPH_VENV)/bin/python
# The shipped GPU graph's form. fp16 with float activations is the fast one;
# --precision fp32 --activations int8 (the exact form) reproduces the CPU
# default's labels but needs TF32 off and is 4x slower. The fast graph's
# ensemble refines with the exact one the texts whose top two probabilities
# are less than GPU_REFINE_MARGIN apart (docs/results/gpu-default/).
GPU_GRAPH_ARGS   ?= --precision fp16 --activations float
MODEL_GPU_EXACT  := $(CACHE_DIR)/models/gpu/domain-minilm-exact
GPU_REFINE_MARGIN ?= 0.1
MODEL_TEACHER    := $(CACHE_DIR)/models/domain-minilm-ckpt
MODEL_TEACHER_FP32 := $(CACHE_DIR)/models/domain-minilm6-fp32
MODEL_TEACHER_INT8 := $(CACHE_DIR)/models/domain-minilm6-int8
MODEL_TEACHER_LOGITS := $(CACHE_DIR)/models/domain-minilm6-train-logits.npy
MODEL_ENCODER    := $(CACHE_DIR)/encoders/all-MiniLM-L6-v2
MODEL_TEST_TORCH ?= 1
# The shipped recipe (docs/model-card.md); seeds are fixed. The teacher is the
# 6-layer model; the student keeps its layers 0, 2 and 5 and learns both the
# labels and the teacher's int8 logits on train.jsonl.
MODEL_TRAIN_ARGS ?= --epochs 6 --lr 1e-4 --max-len 128 --pooling mean --seed 2
MODEL_STUDENT_ARGS ?= --layer-map 0,2,5 --epochs 6 --lr 1e-4 --max-len 128 --pooling mean --seed 2 \
                      --distill-alpha 0.5 --distill-temp 2
# The shipped default combines the student with the linear model (ensemble.json).
MODEL_ENSEMBLE_ARGS ?= --ensemble-weight 0.5 --ensemble-member ../domain-linear=0.5
MODEL_ENV        := cd training && HF_HUB_OFFLINE=1 DOMAIN_DATA_DIR=$(DATA_DIR)/domain

TEST_TARGETS += model-test

.PHONY: model model-embedding model-gpu model-gpu-export model-compare model-test model-encoder model-data-check vsr-test-models

$(MODEL_VENV)/.light: training/requirements-light.txt | deps-build
	@test -x $(MODEL_PY) || $(MODEL_PYTHON) -m venv $(MODEL_VENV)
	$(MODEL_PY) -m pip install -q --disable-pip-version-check -r training/requirements-light.txt
	@touch $@

$(MODEL_VENV)/.full: training/requirements.txt $(MODEL_VENV)/.light
	$(MODEL_PY) -m pip install -q --disable-pip-version-check -r training/requirements.txt
	@touch $@

model-data-check:
	@test -f $(DATA_DIR)/domain/train.jsonl -a -f $(DATA_DIR)/domain/dev.jsonl || { \
	  echo "missing $(DATA_DIR)/domain/{train,dev}.jsonl: the shared data folder must sit beside the repo (or set DATA_DIR)" >&2; exit 1; }

model-encoder: $(MODEL_VENV)/.light
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.encoder --dest $(MODEL_ENCODER) --cache $(CACHE_DIR)/encoders

model: model-data-check $(MODEL_VENV)/.full model-encoder ## Retrain and export the embedded ONNX model (FORCE=1 to replace it)
	@if [ -f $(MODEL_SHIPPED)/model.onnx ] && [ -z "$(FORCE)" ]; then \
	  echo "$(MODEL_SHIPPED) already holds a model; run 'make model FORCE=1' to rebuild and replace it" >&2; exit 1; fi
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.train --encoder $(MODEL_ENCODER) --out $(MODEL_TEACHER) $(MODEL_TRAIN_ARGS)
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.export --ckpt $(MODEL_TEACHER) --encoder $(MODEL_ENCODER) \
	  --out $(MODEL_TEACHER_FP32) --int8-out $(MODEL_TEACHER_INT8) --force
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.logits $(MODEL_TEACHER_INT8) --split train --out $(MODEL_TEACHER_LOGITS)
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.train --encoder $(MODEL_TEACHER_INT8) --init $(MODEL_TEACHER) \
	  --teacher-logits $(MODEL_TEACHER_LOGITS) --out $(MODEL_CKPT) $(MODEL_STUDENT_ARGS)
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.export --ckpt $(MODEL_CKPT) --encoder $(MODEL_TEACHER_INT8) \
	  --out $(MODEL_FP32) --fp16-out $(MODEL_FP16) --int8-out $(CURDIR)/$(MODEL_SHIPPED) $(MODEL_ENSEMBLE_ARGS) \
	  $(if $(FORCE),--force)
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.embedout --model $(CURDIR)/$(MODEL_SHIPPED)
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.evaluate $(MODEL_FP32) $(CURDIR)/$(MODEL_SHIPPED) --record

model-embedding: $(MODEL_VENV)/.light ## Add the sentence embedding output to the shipped ONNX graph (logits unchanged)
	cd training && $(MODEL_PY) -m domainclf.embedout --model $(CURDIR)/$(MODEL_SHIPPED)

# The image's build stage (golang:bookworm) may lack the venv module: install it there.
$(GPUGRAPH_VENV)/.ok: training/requirements-gpugraph.txt | deps-build
	@test -x $(GPUGRAPH_PY) || $(MODEL_PYTHON) -m venv $(GPUGRAPH_VENV)
	$(GPUGRAPH_PY) -m pip install -q --disable-pip-version-check -r training/requirements-gpugraph.txt
	@touch $@

model-gpu: $(GPUGRAPH_VENV)/.ok ## Derive the default's GPU graphs (fp16, with its ensemble, and the exact fp32 refinement) from the shipped int8 model
	cd training && $(GPUGRAPH_PY) -m domainclf.gpugraph --src $(CURDIR)/$(MODEL_SHIPPED) --out $(MODEL_GPU) $(GPU_GRAPH_ARGS) \
	  --refine ../$(notdir $(MODEL_GPU_EXACT)):$(GPU_REFINE_MARGIN)
	cd training && $(GPUGRAPH_PY) -m domainclf.gpugraph --src $(CURDIR)/$(MODEL_SHIPPED) --out $(MODEL_GPU_EXACT) \
	  --precision fp32 --activations int8 --ensemble off
	rm -rf $(dir $(MODEL_GPU))domain-linear && cp -r models/domain-linear $(dir $(MODEL_GPU))domain-linear
	@echo "GPU model directory: $(MODEL_GPU) (device: cuda with modelDir: embedded finds it)"

model-gpu-export: model-data-check $(MODEL_VENV)/.full ## Export an fp32 GPU graph (with its ensemble) from the checkpoint make model left
	@test -f $(MODEL_CKPT)/classifier.pt || { echo "$(MODEL_CKPT) is missing: run 'make model' first (it trains the student)" >&2; exit 1; }
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.export --ckpt $(MODEL_CKPT) --encoder $(CURDIR)/$(MODEL_SHIPPED) \
	  --out $(MODEL_GPU_CKPT) --force
	cp $(MODEL_SHIPPED)/ensemble.json $(MODEL_GPU_CKPT)/
	rm -rf $(dir $(MODEL_GPU_CKPT))domain-linear && cp -r models/domain-linear $(dir $(MODEL_GPU_CKPT))domain-linear
	@echo "GPU model directory: $(MODEL_GPU_CKPT) (modelDir, with device: cuda)"

model-compare: model-data-check $(MODEL_VENV)/.light ## Compare TF-IDF, linear (Go), fp32 and int8 on dev.jsonl in one run
	CGO_ENABLED=1 $(GO) build -o $(BIN)/classify ./cmd/classify
	$(MODEL_ENV) $(MODEL_PY) -m domainclf.compare --shipped $(CURDIR)/$(MODEL_SHIPPED) --fp32 $(MODEL_FP32) \
	  $(if $(wildcard $(MODEL_TEACHER_INT8)/model.onnx),--teacher $(MODEL_TEACHER_INT8)) \
	  --classify $(BIN)/classify --out $(CACHE_DIR)/model-compare.json

# The mmBERT model copies pkg/classifier/tokenizer/testdata/bytefallback/tokenizer.json
# (make onnx-testdata trains it): regenerate that first when it changes.
vsr-test-models: model-data-check $(MODEL_VENV)/.full ## Rebuild the ModernBERT/mmBERT test classifiers in vLLM Semantic Router's layout
	HF_HUB_OFFLINE=1 $(MODEL_PY) pkg/classifier/loader/testdata/gen_vsr_models.py

model-test: model-data-check $(MODEL_VENV)/.light $(if $(filter 1,$(MODEL_TEST_TORCH)),$(MODEL_VENV)/.full) ## Python pipeline tests
	$(MODEL_ENV) DOMAINCLF_REQUIRE_TORCH=$(MODEL_TEST_TORCH) $(MODEL_PY) -m pytest -q -rs -p no:cacheprovider tests
