# The local system and its end-to-end tests (test/sandbox, test/e2e, docs/e2e.md).
#   make run   the whole system in the foreground: kube-apiserver + etcd, deploy/ applied,
#              4 simulated model-server pods in network namespaces, bin/epp, the gateway
#              on 127.0.0.1:8081 (RUN_LISTEN); Ctrl-C stops everything. RUN_CONFIG picks
#              the EndpointPickerConfig, RUN_SIM_ARGS adds simulator flags (e.g. latencies)
#   make e2e   the e2e suite (also part of make test)
# Both need root (network namespaces) and iproute2, which is installed when missing;
# e2e-deps also installs Debian's prometheus (TestDashboardQueries scrapes the EPP with it).
# Both fetch libonnxruntime: without it the EPP falls back to the linear backend, not the
# embedded default model the quick start promises.

SANDBOX_BIN := $(CACHE_DIR)/bin/sandbox
RUN_LISTEN  ?= 127.0.0.1:8081
RUN_CONFIG  ?= config/semantic-epp.yaml
RUN_SIM_ARGS ?=
E2E_FLAGS   ?=
# The official OpenAI Python SDK for the e2e client test (test/e2e/client_test.go).
OPENAI_VENV := $(CACHE_DIR)/openai-venv
export OPENAI_SDK_PYTHON := $(OPENAI_VENV)/bin/python

TEST_TARGETS += e2e

.PHONY: run e2e e2e-deps iproute2 prometheus sandbox-bin openai-sdk

iproute2: deps

# TestDashboardQueries scrapes the sandbox's EPP with a real Prometheus (Debian 2.42).
prometheus: deps

e2e-deps: go-build onnxruntime tools iproute2 prometheus openai-sdk

openai-sdk: $(OPENAI_VENV)/.installed ## Install the official OpenAI Python SDK (pinned) into .cache/openai-venv

$(OPENAI_VENV)/.installed: test/e2e/openai/requirements.txt | deps-build
	@test -x $(OPENAI_SDK_PYTHON) || $(MODEL_PYTHON) -m venv $(OPENAI_VENV)
	$(OPENAI_SDK_PYTHON) -m pip install -q --disable-pip-version-check -r test/e2e/openai/requirements.txt
	@touch $@

sandbox-bin:
	@mkdir -p $(dir $(SANDBOX_BIN))
	$(GO) build -o $(SANDBOX_BIN) ./test/sandbox/cmd/sandbox

run: e2e-deps sandbox-bin ## Run the whole system locally (gateway on $(RUN_LISTEN)); Ctrl-C stops it
	$(SANDBOX_BIN) -repo $(CURDIR) -listen $(RUN_LISTEN) -config $(RUN_CONFIG) -sim-args '$(RUN_SIM_ARGS)'

e2e: e2e-deps ## End-to-end tests against the local system (root, network namespaces)
	CGO_ENABLED=1 $(GO) test -tags e2e -count=1 -v -timeout 40m $(E2E_FLAGS) ./test/e2e/
