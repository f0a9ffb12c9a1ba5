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
	@command -v npm >/dev/null || { apt-get update -qq && apt-get install -y -qq npm; }
	@mkdir -p $(1)/dl
	@rm -f $(1)/dl/*.tgz
	cd $(1)/dl && npm pack --ignore-scripts --silent --cache $(CACHE_DIR)/npm $(2)@$(3) >/dev/null
	@mv $(1)/dl/*.tgz $(1)/dl/pkg.tgz
	@echo "$(4)  $(1)/dl/pkg.tgz" | sha256sum --check --quiet - || \
		{ echo "sha256 mismatch for $(2)@$(3); refusing to use it" >&2; rm -f $(1)/dl/pkg.tgz; exit 1; }
endef

$(ORT_LIB):
	$(call ort_npm_pack,$(ORT_DIR),onnxruntime-node,$(ORT_VERSION),$(ORT_SHA256))
	tar -xzf $(ORT_DIR)/dl/pkg.tgz -C $(ORT_DIR)/dl $(ORT_NPM_BIN_PATH)
	mv $(ORT_DIR)/dl/$(ORT_NPM_BIN_PATH) $@.tmp && mv $@.tmp $@
	rm -rf $(ORT_DIR)/dl
	@echo "ONNX Runtime $(ORT_VERSION) CPU library: $@"

$(ORT_CUDA_STAMP):
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
