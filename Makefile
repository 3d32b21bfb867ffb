# membergate — make targets are the way in. `make help` lists them.

GO ?= go
# Three Go modules: the product (.), the memberwait library (pkg/memberwait,
# its own so that CAPO forks can require it without moving their
# dependencies) and the tests that need e2e-only dependencies (test: CAPI's
# test framework, kustomize, the demos), so that those never reach the
# product's go.mod. Every target covers all three.
MODULES := . pkg/memberwait test

.PHONY: help
help: ## List the targets.
	@awk -F':.*## ' '/^[a-z-]+:.*## /{printf "  %-14s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: demo
# The demos compile while envtest's binaries build (hack/envtest/run.sh).
demo: ## The main job on the embedded default: a CAPI control-plane rollout behind an emulated amphorav2 load balancer, gated by membergate, watched live.
	@hack/envtest/run.sh rollout-demo $(DEMO_ARGS)

.PHONY: demo-plots
demo-plots: ## Run the demo gated, then ungated, and draw each timeline: docs/img/rollout-gated.svg and rollout-ungated.svg.
	@hack/envtest/run.sh rollout-demo -plot ../docs/img/rollout-gated.svg && \
		hack/envtest/run.sh rollout-demo -gate=false -plot ../docs/img/rollout-ungated.svg

.PHONY: demo-wait
demo-wait: ## memberwait alone on an emulated amphorav2 load balancer (seconds).
	cd test && $(GO) run ./cmd/memberwait-demo $(DEMO_ARGS)

.PHONY: envtest
envtest: ## Build (once, then cached under .cache/envtest) the kube-apiserver and etcd that envtest runs.
	@hack/envtest/build.sh

.PHONY: test
test: envtest ## Vet and test every module, with the race detector; envtest suites run a real kube-apiserver.
	@set -e; export KUBEBUILDER_ASSETS=$$(hack/envtest/build.sh); for m in $(MODULES); do \
		echo "== $$m"; (cd $$m && $(GO) vet ./... && $(GO) test -race -count=1 -timeout 20m ./...); \
	done
	@hack/promtool.sh test

CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.22.0
KUSTOMIZE_VERSION ?= v5.8.1
KUSTOMIZE ?= $(GO) run sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
# The release's version, from git: the tag on a tagged commit, else the
# nearest tag with the commits since and the commit, -dirty with changes.
# It tags the image, the release manifests and the binaries (-X main.version).
VERSION ?= $(shell git describe --tags --always --dirty)
IMG ?= ghcr.io/membergate/membergate-manager:$(VERSION)

.PHONY: manifests
manifests: ## Regenerate deepcopy code, the CRD and the RBAC role from the Go markers.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...
	$(CONTROLLER_GEN) crd:crdVersions=v1 rbac:roleName=membergate-manager webhook paths=./api/... paths=./controllers/... paths=./webhooks/... paths=./extension/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac output:webhook:artifacts:config=config/webhook

.PHONY: compat
compat: ## Test the CAPO fork patches on CAPO v0.11.0, v0.12.1 and v0.13.0's own source (unpatched, then patched), that no module version moves, and CAPO's member code on the emulator.
	hack/compat.sh
	test/capo/run.sh --emulator

.PHONY: bench
bench: ## Run every waiting strategy through the same emulated scenarios; print the tables and write docs/benchmarks.md.
	hack/bench.sh

.PHONY: bench-hung-cloud
bench-hung-cloud: envtest ## 50 clusters on 5 clouds, the real controller: what one hung cloud adds to the others' first decision.
	KUBEBUILDER_ASSETS=$$(hack/envtest/build.sh) $(GO) test ./controllers -run '^$$' -bench HungCloud -benchtime 1x -count 3

.PHONY: bench-manager
bench-manager: envtest ## The manager's own wiring with SCALE_N (default 100 and 1000) clusters on 5 emulated clouds: idle and rolling cost, release latency, memory.
	@set -e; export KUBEBUILDER_ASSETS=$$(hack/envtest/build.sh); for n in $(SCALE_N); do \
		MEMBERGATE_SCALE_N=$$n $(GO) test ./cmd/manager -run '^$$' -bench ManagerScale -benchtime 1x -timeout 60m; done

SCALE_N ?= 100 1000

.PHONY: openstack-up
openstack-up: ## Install (apt) and start real Octavia and Neutron on 127.0.0.1, data under test/openstack/.data.
	test/openstack/up.sh

.PHONY: openstack-down
openstack-down: ## Stop what openstack-up started.
	test/openstack/down.sh

.PHONY: test-openstack
test-openstack: openstack-up envtest ## Conformance: the same scenarios against real Octavia/Neutron and the emulator, and the gate's failure drills.
	test/openstack/run-tests.sh

.PHONY: sim
sim: ## Deterministic simulation of 10,000 seeded rollouts under faults, with and without the gate.
	hack/sim.sh

.PHONY: fuzz
fuzz: ## Run every Go fuzz target for FUZZTIME each (default 30s), corpus under testdata/fuzz.
	hack/fuzz.sh

.PHONY: lint
lint: ## gofmt, go vet and golangci-lint (.golangci.yml, pinned, built once from the module proxy) on every module; fails on any finding.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@cd test && $(GO) vet -tags e2e ./e2e/kind/... && $(GO) vet -tags openstack ./conformance/...
	@hack/golangci-lint.sh

.PHONY: release-manifests
release-manifests: ## Write release VERSION's out/membergate-components.yaml (image tagged VERSION), its clusterctl copy and out/metadata.yaml.
	mkdir -p out
	cd test && $(GO) run ./manifests/cmd/release-manifests -version '$(VERSION)' -out ../out/membergate-components.yaml
	cp out/membergate-components.yaml out/runtime-extension-components.yaml
	cp metadata.yaml out/

.PHONY: docker-build
docker-build: ## Build the manager image $(IMG) (needs Docker).
	docker build --build-arg VERSION=$(VERSION) --build-arg REVISION=$$(git rev-parse HEAD) -t $(IMG) .

.PHONY: test-e2e-kind
test-e2e-kind: ## kind + clusterctl + CAPO on a real OpenStack cloud (needs Docker and a cloud; see test/e2e/kind/README.md).
	GOBIN=$(CURDIR)/bin $(GO) install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	cd test/e2e/kind && CAPI_KUSTOMIZE_PATH=$(CURDIR)/bin/kustomize $(GO) test -tags e2e -timeout 3h -v . -args -e2e.config=config/membergate.yaml -e2e.artifacts-folder=$(CURDIR)/_artifacts

.PHONY: build
build: ## Build the binaries into bin/.
	$(GO) build -ldflags '-X main.version=$(VERSION)' -o bin/ ./cmd/...
