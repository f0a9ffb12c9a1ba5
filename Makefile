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

.PHONY: build test lint help
build: $(BUILD_TARGETS) ## Build every binary into bin/

test: $(TEST_DEPS) $(TEST_TARGETS) ## Run every test (unit, integration, e2e)

help: ## List targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort | awk -F':.*## ' '{printf "%-22s %s\n", $$1, $$2}'
