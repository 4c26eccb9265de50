# The two habits: `make run` and `make test`. Tools the tests need (the
# stock age command, staticcheck) are installed into .bin from the Go module
# proxy, pinned, so a fresh machine needs only Go and a C compiler.

GO        ?= go
BIN       := $(CURDIR)/.bin
AGE_VERSION         := v1.3.2
STATICCHECK_VERSION := v0.8.2

export PATH := $(BIN):$(PATH)

.PHONY: run test test-short lint bench build tools clean

## run: start the service on http://127.0.0.1:8080 (demo keys if none are configured)
run:
	$(GO) run ./cmd/candour serve

## test: every test, with the race detector
test: tools
	$(GO) test -race -count=1 ./...

## test-short: the quick tests only (skips the 200 MB upload)
test-short: tools
	$(GO) test -short -count=1 ./...

## lint: gofmt, go vet, staticcheck
lint: $(BIN)/staticcheck
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

## bench: benchmarks (results belong in docs/benchmarks.md)
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## build: the candour binary
build:
	$(GO) build -trimpath -o candour ./cmd/candour

tools: $(BIN)/age

$(BIN)/age:
	GOBIN=$(BIN) $(GO) install filippo.io/age/cmd/age@$(AGE_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf $(BIN) candour
