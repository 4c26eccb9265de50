# The two habits: `make run` and `make test`. Tools the tests need are
# installed by these rules, pinned: the stock age and age-keygen commands and staticcheck
# into .bin from the Go module proxy; the staff console's bundle tools and
# playwright-core from npm (package-lock.json); Debian's chromium for the
# browser test, and the Debian tools the tests use to make test files (see
# TEST_DEBS). A fresh machine needs Go, a C compiler, Node.js and apt.

GO        ?= go
BIN       := $(CURDIR)/.bin
AGE_VERSION         := v1.3.2
STATICCHECK_VERSION := v0.8.2

export PATH := $(BIN):$(PATH)

.PHONY: run test test-short test-js test-browser test-container lint bench build bundle tools browser-deps pg-deps clean

## run: start the service on http://127.0.0.1:8080 (demo keys if none are configured)
run: bundle
	$(GO) run ./cmd/candour serve --public-url http://localhost:8080

## test: lint, every Go test (race detector on), storage's tests (race detector on), the server's and the CLI's whole suites (without it, but the server's several-instance tests with it) again on PostgreSQL, the JavaScript unit tests, the browser tests, then the container test (podman)
# -timeout: go test's default of 10 minutes a package is a clock the tests
# must not depend on; on a busy 2-core machine the server's package alone
# has taken 10 minutes. CI's own limit bounds the whole run.
test: tools pg-deps bundle browser-deps lint
	$(GO) test -race -count=1 -timeout 45m ./...
	CANDOUR_TEST_ENGINE=postgres $(GO) test -race -count=1 -timeout 45m ./storage/
	CANDOUR_TEST_ENGINE=postgres $(GO) test -count=1 -timeout 45m ./server/ ./cmd/candour/
	CANDOUR_TEST_ENGINE=postgres $(GO) test -race -count=1 -timeout 45m -run '^(TestInstances.*|TestReporterSessionsAndReceiptsCrossInstances|TestSessionStoresBehaveAlike|TestReceiptKeepers.*|TestReceiptClaimOfADeadInstanceIsTakenOver|TestKDFSet.*)$$' ./server/
	$(MAKE) --no-print-directory test-js
	$(MAKE) --no-print-directory test-browser
	$(MAKE) --no-print-directory test-container

## test-short: the quick Go tests only (skips the 200 MB upload and the browser)
test-short: tools
	$(GO) test -short -count=1 ./...

## test-js: the staff console's JavaScript unit tests (node:test), e.g. safeName against crypto's shared table of names
test-js:
	node --test tests/unit/

## test-browser: the end-to-end test in Chromium, driven by playwright-core
test-browser: bundle browser-deps
	$(GO) build -o $(BIN)/candour ./cmd/candour
	CANDOUR_BIN=$(BIN)/candour node --test tests/browser/

## test-container: builds the Dockerfile with podman (offline, local base images) and runs it (root)
test-container:
	bash tests/container/run.sh

## bundle: the staff console's in-browser decryption (age-encryption), built, not committed
bundle: node_modules/.package-lock.json
	npm run --silent build

node_modules/.package-lock.json: package.json package-lock.json
	@command -v npm >/dev/null || { apt-get update && apt-get install -y --no-install-recommends nodejs npm; }
	npm ci --no-audit --no-fund

# Debian packages the tests use: chromium (browser tests, with a Bengali font
# for the language switcher in screenshots), exiftool (to tag
# test files with metadata, and with Archive::Zip to read Office files),
# cjpeg/djpeg (progressive JPEGs with restart markers), cwebp and heif-enc/heif-convert (to make and
# decode WebP and HEIC test photos), tor (the onion-service test, run with
# DisableNetwork 1: it never contacts the Tor network), python3-aiosmtpd (the
# mail server the notification tests start on 127.0.0.1).
TEST_DEBS := chromium poppler-utils fonts-lohit-beng-bengali libimage-exiftool-perl libarchive-zip-perl libjpeg-turbo-progs webp libheif-examples tor python3-aiosmtpd

browser-deps:
	@for c in chromium pdftotext pdftoppm exiftool cjpeg djpeg cwebp heif-enc heif-convert tor; do command -v $$c >/dev/null || missing=1; done; \
		perl -MArchive::Zip -e1 2>/dev/null || missing=1; /usr/bin/python3 -c 'import aiosmtpd' 2>/dev/null || missing=1; [ -d /usr/share/fonts/truetype/lohit-bengali ] || missing=1; \
		[ -z "$$missing" ] || { apt-get update && apt-get install -y --no-install-recommends $(TEST_DEBS); }

# PostgreSQL, the second storage engine: the Go tests start their own
# throwaway server with initdb and pg_ctl (internal/pgtest), which Debian
# keeps in /usr/lib/postgresql/<version>/bin, off PATH. Debian's package
# may also make and start a "main" cluster on localhost:5432; the tests do
# not use it.
PG_DEBS := postgresql

pg-deps:
	@command -v pg_ctl >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || \
		{ apt-get update && apt-get install -y --no-install-recommends $(PG_DEBS); }

## lint: gofmt, go vet, staticcheck
lint: $(BIN)/staticcheck
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN)/staticcheck ./...

## bench: the Go benchmarks, then cmd/candour-bench against the real server on 127.0.0.1, on SQLite and then on a PostgreSQL cluster of its own (about 15 minutes; not part of test; results belong in docs/benchmarks.md)
bench: tools bundle
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 20x ./...
	$(GO) build -o $(BIN)/candour ./cmd/candour
	$(GO) run ./cmd/candour-bench --candour $(BIN)/candour --age $(BIN)/age

## build: the candour binary, with the staff console's bundle embedded (serve refuses a binary without it)
build: bundle
	$(GO) build -trimpath -o candour ./cmd/candour

tools: $(BIN)/age $(BIN)/age-keygen pg-deps

$(BIN)/age:
	GOBIN=$(BIN) $(GO) install filippo.io/age/cmd/age@$(AGE_VERSION)

# age-keygen, to check `candour keygen -y` against the stock tool.
$(BIN)/age-keygen:
	GOBIN=$(BIN) $(GO) install filippo.io/age/cmd/age-keygen@$(AGE_VERSION)

$(BIN)/staticcheck:
	GOBIN=$(BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

clean:
	rm -rf $(BIN) candour node_modules frontend/static/staff.js
