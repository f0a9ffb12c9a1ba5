# semantic-epp build. Each area keeps its targets in mk/<area>.mk; this file
# holds only the entry points a user or CI calls.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO        ?= go
BIN       := $(CURDIR)/bin
CACHE_DIR ?= $(CURDIR)/.cache
export GOFLAGS := -buildvcs=false

# Fragments append to these.
BUILD_TARGETS :=
TEST_DEPS     :=
TEST_TARGETS  :=

include $(sort $(wildcard mk/*.mk))

.PHONY: build test test-unit lint help
build: $(BUILD_TARGETS) ## Build every binary into bin/

test: deps $(TEST_DEPS) $(TEST_TARGETS) ## Run every test (unit, integration, e2e)

# The fast suite: unit and in-process tests (no sandbox, no lint, no training).
test-unit: deps-build onnxruntime ## Unit and in-process integration tests (about 2 minutes on a warm cache)
	CGO_ENABLED=1 $(GO) test -count=1 $(GO_TEST_FLAGS) ./pkg/... ./cmd/... ./test/integration/ ./test/gateway/ ./test/scrape/
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GO) test -count=1 $(GO_TEST_FLAGS) ./...

help: ## List targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "%-22s %s\n", $$1, $$2}'
