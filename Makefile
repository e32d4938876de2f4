# kubectl-openmcp and kubectl-mcks.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo v0.0.0-dev)
COMMIT    ?= $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
PKG       := github.com/openmcp-plugins/kubectl-openmcp
LDFLAGS   := -s -w -X $(PKG)/pkg/version.Version=$(VERSION) -X $(PKG)/pkg/version.GitCommit=$(COMMIT) -X $(PKG)/pkg/version.BuildDate=$(DATE)
PLUGINS   := kubectl-openmcp kubectl-mcks
# Packages whose code runs goroutines side by side get the race detector.
RACE_PKGS ?= ./pkg/... ./plugins/...

.PHONY: all build tools test unit e2e fuzz lint fmt clean sandbox sandbox-down demo bench

all: build

build: ## Both plugin binaries into bin/
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./cmd/,$(PLUGINS))

tools: ## Real Kubernetes components for the sandbox and the tests, cached in .cache/
	./test/tools/build.sh

lint: ## gofmt and go vet
	@out=$$(gofmt -l cmd pkg plugins test); if [[ -n "$$out" ]]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

unit: ## Fast tests: pure logic and command wiring, no clusters
	$(GO) test -count=1 ./cmd/... ./pkg/... ./plugins/... ./hack/...

# One test package at a time: the e2e tests hold real clusters to timeouts,
# and the krew test cross-builds every platform; side by side on a 2-core
# machine the second starves the first.
e2e: tools build ## Tests against a real local federation, and the krew install
	$(GO) test -count=1 -p 1 -timeout 40m ./test/...

test: lint tools build ## Everything CI runs
	$(MAKE) --no-print-directory unit
	$(MAKE) --no-print-directory e2e
	$(GO) test -count=1 -race $(RACE_PKGS)
	$(MAKE) --no-print-directory fuzz FUZZTIME=3s

# Each parser that reads user or server input, fuzzed for FUZZTIME; the seed
# corpus and any failing input found are kept in the package's testdata/fuzz/.
FUZZTIME ?= 10s
FUZZ_TARGETS := FuzzParseRange:./pkg/metallb FuzzParseRegionZone:./pkg/topology FuzzConvert:./pkg/manifest FuzzDecode:./pkg/mcks/api FuzzStripUnprinted:./pkg/printing FuzzReadTable:./pkg/printing

fuzz: ## Fuzz the range, region/zone, manifest, MCKS-answer, Table-stripping and Table-reading parsers (FUZZTIME each, default 10s)
	@for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t%%:*} ($(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t%%:*}\$$" -fuzztime $(FUZZTIME) "$${t#*:}" || exit 1; \
	done

bench: build ## get --all-clusters at N=1..64 clusters and 0/50 ms RTT vs kubectl loops, start-up, sizes, join (needs make tools; ~15 min, BENCH_QUICK=1 ~3 min, BENCH_ARGS=-h lists options)
	BENCH_QUICK=$(BENCH_QUICK) $(GO) run ./test/bench $(BENCH_ARGS)

demo: ## The main job: the OpenMCP guide end to end on a local sandbox federation
	./test/demo/demo.sh

sandbox: tools build ## Start a host and two members, leave them running
	$(GO) run ./test/sandbox/cmd/sandbox up --dir .sandbox --members 2 --demo-nodes

sandbox-down: ## Stop the sandbox
	$(GO) run ./test/sandbox/cmd/sandbox down --dir .sandbox

clean:
	rm -rf bin dist

# Release packaging (hack/dist, hack/krew-manifest). The binaries of `dist` are
# stamped with VERSION and COMMIT as above but with the commit time as build
# date, so the same commit gives the same archives and checksums.
DIST_DIR ?= dist
.PHONY: dist krew-manifests

dist: ## Archives of both plugins for every release platform, and checksums.txt, in $(DIST_DIR)/
	$(GO) run ./hack/dist -go '$(GO)' -out '$(DIST_DIR)' -version '$(VERSION)' -commit '$(COMMIT)'

krew-manifests: dist ## krew-manifests/*.yaml (uri and sha256 from $(DIST_DIR)/) and the krew-release-bot templates
	$(GO) run ./hack/krew-manifest -dist '$(DIST_DIR)' -version '$(VERSION)' -out krew-manifests
