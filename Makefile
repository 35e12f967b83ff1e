# The two commands a new user needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
OCB := $(BIN)/builder
TELEMETRYGEN := $(BIN)/telemetrygen
GOLANGCI_LINT := $(BIN)/golangci-lint
COLLECTOR := $(CURDIR)/build/otelcol-plumelog/otelcol-plumelog
NFPM := $(BIN)/nfpm
VERSION := $(shell sed -n 's/^  version: //p' builder-config.yaml)
ARCH := $(shell $(GO) env GOARCH)
PACKAGE_DIR := $(CURDIR)/build/packages
FUZZTIME ?= 15s
DURATION ?= 5m
# Go fetches modules over HTTPS, which a minimal Debian cannot verify without its CA certificates.
CERTS := /etc/ssl/certs/ca-certificates.crt=ca-certificates
PACKAGES := $(CERTS) redis-server=redis-server redis-cli=redis-tools redis-sentinel=redis-sentinel python3:lz4.block=python3-lz4 node=nodejs npm=npm
# The OTel JavaScript SDK client of the end-to-end tests, installed from its lockfile.
JSCLIENT := $(CURDIR)/e2e/jsclient

.PHONY: run test fuzz soak build package bench bench-pipeline generate lint check-generated packages fresh-check clean

run: build packages
	scripts/run.sh $(COLLECTOR) examples/quick-start/config.yaml

# -race once gcc and the C headers are there (race-flag.sh installs them), else a notice (an error with CI=true).
test: lint build package packages $(TELEMETRYGEN) $(JSCLIENT)/node_modules
	scripts/ensure-packages.sh dpkg-deb=dpkg rpm=rpm systemd-analyze=systemd promtool=prometheus
	race=$$(GO=$(GO) scripts/race-flag.sh) && \
	  PLUMELOG_COLLECTOR=$(COLLECTOR) TELEMETRYGEN=$(TELEMETRYGEN) PLUMELOG_JSCLIENT=$(JSCLIENT)/client.js \
	  PLUMELOG_PACKAGES=$(PACKAGE_DIR) $(GO) test $$race -count=1 -timeout 30m ./... && \
	  { [ -n "$$race" ] || echo "NOTICE: the tests above ran without -race" >&2; }
	$(MAKE) fuzz

# Each target gets FUZZTIME: single records, whole plog.Logs payloads, the extension keys of many
# payloads under fuzzed field policies, whole ptrace.Traces payloads. (FuzzBlock, which
# checks the LZ4 library's blocks against the end rules of the server's decompressor, runs its
# seeds with the unit tests; `go test -fuzz FuzzBlock` fuzzes it further.)
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeRecord$$' -fuzztime $(FUZZTIME) ./exporter/plumelogexporter/internal/encoder/
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeLogs$$' -fuzztime $(FUZZTIME) ./exporter/plumelogexporter/internal/encoder/
	$(GO) test -run '^$$' -fuzz '^FuzzFieldPolicy$$' -fuzztime $(FUZZTIME) ./exporter/plumelogexporter/internal/encoder/
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeTraces$$' -fuzztime $(FUZZTIME) ./exporter/plumelogexporter/internal/encoder/

# The built collector under a steady load against a local Redis that is drained as a Plumelog
# server would: sent, delivered, dropped, memory and goroutines over time.
soak: build packages
	$(GO) run ./internal/soak -collector $(COLLECTOR) -duration $(DURATION)

build: $(OCB)
	mkdir -p build
	$(OCB) --config builder-config.yaml

# The .deb and .rpm of the binary, with its systemd unit and default config (packaging/).
package: build $(NFPM)
	rm -rf $(PACKAGE_DIR) && mkdir -p $(PACKAGE_DIR)
	for p in deb rpm; do \
	  VERSION=$(VERSION) ARCH=$(ARCH) $(NFPM) package --config packaging/nfpm.yaml --packager $$p --target $(PACKAGE_DIR)/ || exit 1; \
	done

# Micro-benchmarks, then the exporter against a real redis-server: latency at paced loads per
# batching mode and saturation throughput next to redis-benchmark (results.md), memory under
# overload in a process of its own (overload.md), the latency plot in docs/, and last the
# pipeline benchmark.
LOADBENCH := $(CURDIR)/.tmp/loadbench
bench: packages
	scripts/ensure-packages.sh redis-benchmark=redis-tools /usr/bin/time=time
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./exporter/plumelogexporter/...
	$(GO) test -run '^TestLoadBench$$' -count=1 -timeout 30m -v ./exporter/plumelogexporter/internal/loadbench -args -loadbench.out=$(LOADBENCH)
	$(GO) test -c -o $(LOADBENCH)/loadbench.test ./exporter/plumelogexporter/internal/loadbench
	/usr/bin/time -v -o $(LOADBENCH)/overload-time.txt $(LOADBENCH)/loadbench.test -test.run '^TestOverloadMemory$$' -test.v -loadbench.out=$(LOADBENCH)
	cd internal/tools && $(GO) run ./batcherplot -in $(LOADBENCH)/results.json -out $(CURDIR)/docs/batcher-latency.png
	@cat $(LOADBENCH)/results.md $(LOADBENCH)/overload.md
	@grep 'Maximum resident set size' $(LOADBENCH)/overload-time.txt
	$(MAKE) bench-pipeline

# The built collector with the plumelog exporter and with the debug exporter under the same
# OTLP load: CPU per record, throughput, Redis CPU per record (.tmp/pipelinebench/results.md).
# BASELINE=<git ref> builds that ref too and measures both binaries side by side. 15 rounds,
# because on a machine shared with other work 5 rounds could not tell a binary from itself
# (docs/benchmarks.md#noise).
BASELINE ?=
ROUNDS ?= 15
bench-pipeline: packages
	$(GO) run ./internal/pipelinebench -rounds $(ROUNDS) -out $(CURDIR)/.tmp/pipelinebench $(if $(BASELINE),-baseline $(BASELINE))

generate:
	$(GO) generate ./...

# golangci-lint with .golangci.yml (gofmt, goimports, go vet and the linters it lists) over
# the project and its tools module, once go mod tidy and go generate have nothing to change.
lint: check-generated $(GOLANGCI_LINT)
	$(GOLANGCI_LINT) run ./...
	cd internal/tools && $(GOLANGCI_LINT) run ./...

check-generated:
	scripts/check-generated.sh

packages:
	scripts/ensure-packages.sh $(PACKAGES)

$(OCB):
	scripts/ensure-packages.sh $(CERTS)
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@v0.165.0

$(JSCLIENT)/node_modules: $(JSCLIENT)/package-lock.json | packages
	cd $(JSCLIENT) && npm ci --no-audit --no-fund
	touch $@

# The version is pinned in its own module file, apart from the tools module's dependencies.
$(GOLANGCI_LINT): internal/tools/golangci-lint.mod
	scripts/ensure-packages.sh $(CERTS)
	cd internal/tools && $(GO) build -modfile=golangci-lint.mod -o $(GOLANGCI_LINT) github.com/golangci/golangci-lint/v2/cmd/golangci-lint

$(NFPM): internal/tools/go.mod
	scripts/ensure-packages.sh $(CERTS)
	cd internal/tools && GOBIN=$(BIN) $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm

$(TELEMETRYGEN):
	scripts/ensure-packages.sh $(CERTS)
	GOBIN=$(BIN) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0

# The two commands on a fresh Debian 12 root with only Go, make and git (as root; see the README).
fresh-check:
	scripts/fresh-check.sh

clean:
	rm -rf build .tmp
