# Container images and Kubernetes manifests (deploy/, docs/deployment.md).
#
#   make image-files        what the CPU image copies: bin/epp + .cache/onnxruntime/libonnxruntime.so.1
#   make image-files-cuda   what the CUDA image copies: bin/epp, the .cache/onnxruntime-cuda/ set and
#                           the default's GPU graph (make model-gpu)
#   make image              docker build -t $(IMAGE) .                     (needs a Docker engine)
#   make image-cuda         docker build -f Dockerfile.cuda -t $(IMAGE_CUDA) .
#   make manifests          render every kustomization under deploy/ into $(MANIFESTS_OUT)/
#   make manifests-test     validate deploy/ against a real kube-apiserver (envtest) and check
#                           that the Dockerfiles copy only files these make targets produce
#   make helm               helm (built from its Go module) for rendering deploy/helm/values.yaml
#
# The Dockerfiles run `make image-files` / `make image-files-cuda` in their build stage, so
# an image holds exactly what these targets build here; test/manifests checks that.

IMAGE         ?= semantic-epp:dev
IMAGE_CUDA    ?= semantic-epp:dev-cuda
COMMIT_SHA    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
BUILD_REF     ?=
MANIFESTS_OUT ?= $(CACHE_DIR)/manifests
GIE_VERSION_PKG := sigs.k8s.io/gateway-api-inference-extension/version
EPP_LDFLAGS   := -X $(GIE_VERSION_PKG).CommitSHA=$(COMMIT_SHA) -X $(GIE_VERSION_PKG).BuildRef=$(BUILD_REF)

# The manifest test needs the envtest binaries (mk/tools.mk), downloads the
# Gateway API and Istio modules whose CRDs it installs (Go module cache only)
# and renders the upstream inferencepool chart with helm (deploy/helm).
TEST_DEPS += tools manifests-crds helm

HELM_VERSION := v3.19.0
HELM         := $(CACHE_DIR)/bin/helm-$(HELM_VERSION)
export HELM_BIN := $(HELM)

.PHONY: epp-image-bin image-files image-files-cuda image image-cuda manifests manifests-crds manifests-test helm

epp-image-bin: cgo-toolchain ## Build bin/epp as the image ships it (cgo, trimmed paths, version stamped)
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -trimpath -ldflags "$(EPP_LDFLAGS)" -o $(BIN)/epp ./cmd/epp

image-files: epp-image-bin onnxruntime ## Files the CPU image copies (bin/epp, libonnxruntime)

image-files-cuda: epp-image-bin onnxruntime-cuda model-gpu ## Files the CUDA image copies (bin/epp, ONNX Runtime + CUDA providers, GPU graph)

image: ## docker build the CPU image (IMAGE=semantic-epp:dev); needs a Docker engine
	docker build --build-arg COMMIT_SHA=$(COMMIT_SHA) -t $(IMAGE) .

image-cuda: ## docker build the CUDA image (IMAGE_CUDA=semantic-epp:dev-cuda); needs a Docker engine
	docker build --build-arg COMMIT_SHA=$(COMMIT_SHA) -f Dockerfile.cuda -t $(IMAGE_CUDA) .

# CRD sources, read from the Go module cache at test time (never copied into
# the repository). GIE v1.5.0's own checks install Gateway API v1.3.0.
GATEWAY_API_MODULE := sigs.k8s.io/gateway-api@v1.3.0
ISTIO_API_MODULE   := istio.io/api@v1.28.0
export MANIFESTS_GATEWAY_API_MODULE := $(GATEWAY_API_MODULE)
export MANIFESTS_ISTIO_API_MODULE   := $(ISTIO_API_MODULE)

manifests-crds: ## Download the modules holding the Gateway API and Istio CRDs into the Go module cache
	$(GO) mod download $(GATEWAY_API_MODULE) $(ISTIO_API_MODULE)

manifests: ## Render every kustomization under deploy/ (kubectl kustomize equivalent) into .cache/manifests
	$(GO) run ./test/manifests/cmd/render -out $(MANIFESTS_OUT) deploy

helm: $(HELM) ## Build helm (v3.19.0) into .cache/bin (renders the upstream chart in manifests-test)

$(HELM):
	@mkdir -p $(CACHE_DIR)/bin $(CACHE_DIR)/helm-build
	GOBIN=$(CACHE_DIR)/helm-build $(GO) install helm.sh/helm/v3/cmd/helm@$(HELM_VERSION)
	mv $(CACHE_DIR)/helm-build/helm $@

manifests-test: tools manifests-crds helm cgo-toolchain ## Validate deploy/ and the Dockerfiles (envtest kube-apiserver)
	CGO_ENABLED=1 $(GO) test -count=1 -v ./test/manifests/
