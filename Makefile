# membergate — make targets are the way in. `make help` lists them.

GO ?= go
# The memberwait library is its own Go module (pkg/memberwait) so that CAPO
# forks can require it without moving their dependencies; every target
# covers both modules.
MODULES := . pkg/memberwait

.PHONY: help
help: ## List the targets.
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
demo: ## Run the main job on the embedded default: an emulated amphorav2 load balancer, watched live.
	$(GO) run ./cmd/membergate demo

.PHONY: test
test: ## Vet and test both modules, with the race detector.
	@set -e; for m in $(MODULES); do \
		echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 ./...); \
	done

.PHONY: compat
compat: ## Prove memberwait builds into CAPO v0.11.0, v0.12.1 and v0.13.0 modules without moving any version.
	hack/compat.sh

.PHONY: bench
bench: ## Print the benchmark figures.
	@set -e; for m in $(MODULES); do \
		(cd $$m && $(GO) test -run '^$$' -bench . -benchmem ./...); \
	done

.PHONY: lint
lint: ## gofmt and go vet on both modules; fails on any finding.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done

.PHONY: build
build: ## Build the binaries into bin/.
	$(GO) build -o bin/ ./cmd/...
