# Go build, unit/integration tests and lint.
#   make build   -> bin/<name> for every cmd/<name> (cgo on: onnxruntime_go needs it)
#   make test    -> go-test: go test -count=1 ./... in the main module and in $(BENCH_MODULE)
#                   (the nested modules under tools/ only wrap tool builds and are not tested)
#   make lint    -> go vet, gofmt -l and golangci-lint (pinned, installed into .cache/bin) over both
#                   modules; part of make test

GO_CMDS               := $(notdir $(wildcard cmd/*))
GOLANGCI_LINT_VERSION := v2.15.0
GOLANGCI_LINT         := $(CACHE_DIR)/bin/golangci-lint-$(GOLANGCI_LINT_VERSION)
GO_TEST_FLAGS         ?=
# The benchmarks and the soak: a nested module (plotting libraries stay out of
# the main go.mod) that `./...` does not reach, so every target names it.
BENCH_MODULE          := test/bench

BUILD_TARGETS += go-build
TEST_TARGETS  += go-test lint

.PHONY: go-build go-test lint go-vet gofmt-check golangci-lint cgo-toolchain

# onnxruntime_go is cgo: a C compiler must be present (Debian: gcc).
cgo-toolchain: deps-build

go-build: cgo-toolchain ## Build every cmd/* into bin/ (CGO_ENABLED=1)
	@mkdir -p $(BIN)
	CGO_ENABLED=1 $(GO) build -o $(BIN)/ $(addprefix ./cmd/,$(GO_CMDS))
	@echo "built: $(addprefix bin/,$(GO_CMDS))"

go-test: cgo-toolchain ## Go unit and in-process integration tests (go test -count=1 ./...)
	CGO_ENABLED=1 $(GO) test -count=1 $(GO_TEST_FLAGS) ./...
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GO) test -count=1 $(GO_TEST_FLAGS) ./...

lint: go-vet gofmt-check golangci-lint ## go vet, gofmt and golangci-lint

go-vet: cgo-toolchain
	CGO_ENABLED=1 $(GO) vet ./...
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GO) vet ./...

gofmt-check:
	@out=$$(git ls-files -co --exclude-standard '*.go' | xargs gofmt -l); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

$(GOLANGCI_LINT):
	@mkdir -p $(CACHE_DIR)/bin $(CACHE_DIR)/golangci-build
	GOBIN=$(CACHE_DIR)/golangci-build $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)
	mv $(CACHE_DIR)/golangci-build/golangci-lint $@

golangci-lint: $(GOLANGCI_LINT) cgo-toolchain
	CGO_ENABLED=1 $(GOLANGCI_LINT) run --timeout 10m ./...
	cd $(BENCH_MODULE) && CGO_ENABLED=1 $(GOLANGCI_LINT) run --timeout 10m ./...
