# Native Go fuzzing of the request path.
#   make fuzz   runs every target below for its number of executions (10.2 million in all),
#               then prints the executions and time of each. Any crash fails the run and
#               leaves the input under the package's testdata/fuzz/<target>/ (commit it as a seed).
# Plain `go test` (so `make test`) already runs each target once over its seeds (f.Add and
# testdata/fuzz). Executions of one target are spread over GOMAXPROCS workers.
# go test's default 10-minute -timeout would end a long target on a 2-core machine: 2h here.
#   FUZZ_SCALE=10 make fuzz   runs each target 10 times as long.

FUZZ_SCALE ?= 1
# package:target:executions
FUZZ_TARGETS := \
	./pkg/plugins/semanticselector:FuzzParseRequest:1500000 \
	./pkg/plugins/semanticselector:FuzzParseRequestText:1000000 \
	./pkg/classifier/tokenizer:FuzzTokenize:2000000 \
	./pkg/classifier/tokenizer:FuzzHeadTail:200000 \
	./pkg/classifier/window:FuzzWindow:3800000 \
	./pkg/classifier/linear:FuzzClassify:1500000 \
	./pkg/plugins/signal/keyword:FuzzMatch:200000

.PHONY: fuzz

fuzz: ## Fuzz the request path: every target for its executions (10.2 M in all); prints execs per target
	@set -o pipefail; start=$$(date +%s); total=0; summary=""; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; n=$$(( $${rest#*:} * $(FUZZ_SCALE) )); \
		echo "== $$name ($$pkg): $$n executions"; t0=$$(date +%s); \
		log=$$(mktemp); \
		CGO_ENABLED=1 $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime "$${n}x" -timeout 2h "$$pkg" 2>&1 | tee "$$log" | grep -v '^fuzz: elapsed' ; \
		rc=$${PIPESTATUS[0]}; \
		execs=$$(grep -o 'execs: [0-9]*' "$$log" | tail -1 | grep -o '[0-9]*'); rm -f "$$log"; \
		if [ "$$rc" != 0 ]; then echo "fuzz: $$name FAILED (exit $$rc)" >&2; exit 1; fi; \
		total=$$(( total + $${execs:-0} )); \
		summary="$$summary$$(printf '%-22s %-32s %10s execs %5ss' $$name $$pkg $${execs:-?} $$(( $$(date +%s) - t0 )))\n"; \
	done; \
	printf "\nfuzz summary\n$$summary"; \
	echo "total: $$total executions in $$(( $$(date +%s) - start ))s"
