# Latchkey. The two commands a newcomer needs:
#   make dev    run the server locally (embedded SQLite, --dev)
#   make test   run every test (PostgreSQL half: set LATCHKEY_TEST_POSTGRES)

GO ?= go
STATICCHECK_VERSION := v0.8.2

.PHONY: dev test check bench build fuzz

dev:
	$(GO) run ./cmd/latchkey serve --dev

test: check
	$(GO) test -count=1 ./...
	$(GO) test -count=1 -run '^$$' -bench . -benchtime 1x ./...

check:
	@fmt="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	  if [ -n "$$fmt" ]; then echo "gofmt: not formatted:"; echo "$$fmt"; exit 1; fi
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

build:
	CGO_ENABLED=0 $(GO) build -o bin/latchkey ./cmd/latchkey
	CGO_ENABLED=0 $(GO) build -o bin/latchkey-load ./cmd/latchkey-load
