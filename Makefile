# b7s-actor: see README.md.
GO      ?= go
BIN     := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# CI sets RACE=-race (see .ci/run); locally `make test RACE=` skips it for speed.
RACE    ?= -race

.PHONY: all build examples run bench-e2e soak test fuzz bench lint clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/b7s ./cmd/b7s

# The example functions: hello, a Go program built to WASI (excluded from the host build by its
# build tag), and tiny, a module assembled by examples/tiny that the benchmarks use.
examples:
	GOOS=wasip1 GOARCH=wasm $(GO) build -o $(BIN)/examples/hello.wasm ./examples/hello
	$(GO) run ./examples/tiny -o $(BIN)/examples/tiny.wasm

# A local network on 127.0.0.1: one head, two workers and the example function.
run: build examples
	$(BIN)/b7s devnet --workers 2

# The soak: a devnet under load while nodes are killed, paused and restarted; exits non-zero when
# a promise fails (b7s soak --help).
soak: build examples
	$(BIN)/b7s soak

# End-to-end load numbers against a devnet of its own (.devnet-bench, ports apart from `run`).
bench-e2e: build examples
	./scripts/bench-e2e.sh

# Every fuzz target, <package>:<FuzzName>: each decoder and parser a peer or a client can reach.
# `make test` runs each for a few seconds, `make fuzz` for a minute; both print the executions.
FUZZ_TARGETS := messages:FuzzDecode attest:FuzzDecode api:FuzzDecodeBody api:FuzzHandlers \
	fstore:FuzzParseManifest fstore:FuzzUnpack config:FuzzDecodeYAML executor/fuel:FuzzInstrument \
	consensus/raft:FuzzFSMApply consensus/pbft:FuzzDecode consensus/pbft:FuzzStep

test:
	$(GO) vet ./...
	$(GO) test $(RACE) -count=1 -timeout 10m ./...
	GO=$(GO) ./scripts/fuzz.sh -fresh 3s 2s $(FUZZ_TARGETS)

fuzz:
	GO=$(GO) ./scripts/fuzz.sh 60s 10s $(FUZZ_TARGETS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./actors/ ./actors/inspect/ ./attest/ ./p2p/ ./executor/ ./executor/fuel/ ./fstore/ ./e2e/

lint:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); \
	if [ -n "$$unformatted" ]; then echo "not gofmt-formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...

clean:
	rm -rf $(BIN) .devnet .devnet-bench .devnet-bench.out .devnet-bench.runs
