# System packages (Debian), installed in one step; every other target that
# needs one depends on these instead of installing it itself.
#   make deps-build  what building the binaries and image files needs: gcc (cgo), npm (ONNX
#                    Runtime packages), python3-venv (GPU graph and tool venvs)
#   make deps        deps-build plus what the tests need: iproute2 (sandbox network
#                    namespaces), prometheus (the dashboard test)

DEPS_BUILD := gcc=gcc,libc6-dev npm=npm py:ensurepip=python3,python3-venv
DEPS_TEST  := ip=iproute2 prometheus=prometheus

.PHONY: deps deps-build

deps-build: ## Install the Debian packages the build needs (one apt-get call)
	@bash mk/deps.sh $(DEPS_BUILD)

deps: ## Install every Debian package the build and the tests need (one apt-get call)
	@bash mk/deps.sh $(DEPS_BUILD) $(DEPS_TEST)
