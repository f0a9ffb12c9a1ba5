# Test tools built from exact Go module versions through the wrapper modules
# under tools/ (each has its own go.mod so the main module stays clean):
#   kube-apiserver v1.37.2, etcd v3.6.16 -> envtest's KUBEBUILDER_ASSETS
#   llm-d-inference-sim v0.10.2           -> the simulated model servers
# Binaries land in $(TOOLS_BIN) (under .cache/, git-ignored); Go's build cache
# makes a rebuild after a clean checkout cheap once it has run.

TOOLS_BIN        := $(CACHE_DIR)/tools/bin
KUBE_APISERVER   := $(TOOLS_BIN)/kube-apiserver
ETCD             := $(TOOLS_BIN)/etcd
INFERENCE_SIM    := $(TOOLS_BIN)/llm-d-inference-sim
TOOLS_GOFLAGS    := -trimpath -ldflags=-s\ -w

# envtest reads KUBEBUILDER_ASSETS; the e2e harness reads INFERENCE_SIM_BIN.
export KUBEBUILDER_ASSETS := $(TOOLS_BIN)
export INFERENCE_SIM_BIN  := $(INFERENCE_SIM)

.PHONY: tools
tools: $(KUBE_APISERVER) $(ETCD) $(INFERENCE_SIM) ## Build kube-apiserver, etcd and llm-d-inference-sim into .cache/tools/bin

$(KUBE_APISERVER): tools/kube-apiserver/go.mod tools/kube-apiserver/go.sum
	@mkdir -p $(TOOLS_BIN)
	@echo ">> building kube-apiserver v1.37.2 (first build on a fresh machine: several minutes)"
	cd tools/kube-apiserver && CGO_ENABLED=0 $(GO) build $(TOOLS_GOFLAGS) -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(ETCD): tools/etcd/go.mod tools/etcd/go.sum
	@mkdir -p $(TOOLS_BIN)
	@echo ">> building etcd v3.6.16"
	cd tools/etcd && CGO_ENABLED=0 $(GO) build $(TOOLS_GOFLAGS) -o $@ go.etcd.io/etcd/server/v3

$(INFERENCE_SIM): tools/inference-sim/go.mod tools/inference-sim/go.sum
	@mkdir -p $(TOOLS_BIN)
	@echo ">> building llm-d-inference-sim v0.10.2"
	cd tools/inference-sim && CGO_ENABLED=0 $(GO) build $(TOOLS_GOFLAGS) -o $@ github.com/llm-d/llm-d-inference-sim/cmd/llm-d-inference-sim
