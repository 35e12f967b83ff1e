# The two commands a new user needs: `make run` and `make test`. Both install what they need.
SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
OCB := $(BIN)/builder
TELEMETRYGEN := $(BIN)/telemetrygen
COLLECTOR := $(CURDIR)/build/otelcol-plumelog/otelcol-plumelog
FUZZTIME ?= 15s
PACKAGES := redis-server=redis-server redis-cli=redis-tools

.PHONY: run test unit fuzz build bench generate lint packages clean

run: build packages
	scripts/run.sh $(COLLECTOR) testdata/collector-config.yaml

test: build packages $(TELEMETRYGEN)
	PLUMELOG_COLLECTOR=$(COLLECTOR) TELEMETRYGEN=$(TELEMETRYGEN) $(GO) test -race -count=1 -timeout 30m ./...
	$(MAKE) fuzz

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzEncodeRecord$$' -fuzztime $(FUZZTIME) ./exporter/plumelogexporter/internal/encoder/

build: $(OCB)
	mkdir -p build
	$(OCB) --config builder-config.yaml

bench: packages
	$(GO) test -run '^$$' -bench . -benchmem -count 5 ./exporter/plumelogexporter/...

generate:
	$(GO) generate ./...

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) vet ./...

packages:
	scripts/ensure-packages.sh $(PACKAGES)

$(OCB):
	GOBIN=$(BIN) $(GO) install go.opentelemetry.io/collector/cmd/builder@v0.165.0

$(TELEMETRYGEN):
	GOBIN=$(BIN) $(GO) install github.com/open-telemetry/opentelemetry-collector-contrib/cmd/telemetrygen@v0.161.0

clean:
	rm -rf build .tmp
