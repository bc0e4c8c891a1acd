#!/usr/bin/env bash
# End-to-end numbers: devnets of our own on 127.0.0.1 (head and workers as processes, on this
# machine's cores), loaded by `b7s bench` through the head's REST API, every request with
# number_of_nodes 1 unless said otherwise:
#
#   1 worker:   (a) BENCH_REQUESTS sequential requests   (b) BENCH_CONCURRENCY clients for BENCH_DURATION
#   2 workers:  (c) as (b)                                (d) as (b) with number_of_nodes not set
#   3 workers:  (e) as (a)
#               Raft clusters of the 3 (number_of_nodes 3, consensus_algorithm raft):
#               (f) RAFT_REQUESTS sequential   (g) RAFT_SOAK sequential, for a worker's RSS
#               before and after them          (h) RAFT_CONCURRENCY clients for BENCH_DURATION
#   4 workers:  PBFT clusters of the 4 (number_of_nodes 4, consensus_algorithm pbft):
#               (i) RAFT_REQUESTS sequential   (j) RAFT_CONCURRENCY clients for BENCH_DURATION
#               (k) PBFT_FAULT_REQUESTS sequential with worker 2 silent (B7S_PBFT_BYZANTINE): a
#               silent backup costs nothing, a silent primary a view change after the request
#               timer (2 s), so the slow tail is the requests whose primary it was
#
# The bench samples every node's VmRSS every 250 ms (average and peak over the run) and its CPU
# time (per request); idle RSS is printed before each devnet's load. The end is one table of all
# runs (`b7s bench --table`).
# Knobs (environment): BENCH_REQUESTS (1000), BENCH_CONCURRENCY (32), BENCH_DURATION (20s),
# RAFT_REQUESTS (200), RAFT_CONCURRENCY (8), RAFT_SOAK (1000), PBFT_FAULT_REQUESTS (60),
# BENCH_REST (127.0.0.1:18080), BENCH_BASE_PORT (19527), BENCH_METRICS_PORT (19100),
# BENCH_DEBUG_PORT (16060).
# The function under load is this repository's light example, bin/examples/tiny.wasm (assembled
# here by examples/tiny, as `make examples` does): it has no language runtime to start, so the
# numbers are the node's. WASM=/path/to/module.wasm measures another module instead; BENCH_EXPECT
# then says what its stdout must contain (empty: not checked). The report names the module
# measured, with its sha256, so that numbers are compared only with numbers of the same module.
# The devnet is stopped on exit, whatever happens.
set -euo pipefail

# A WASM given relative to where the script was started stays that file after the cd below.
if [ -n "${WASM:-}" ]; then
	case $WASM in
	/*) ;;
	*) WASM=$PWD/$WASM ;;
	esac
fi
cd "$(dirname "$0")/.."

GO=${GO:-go}
REQUESTS=${BENCH_REQUESTS:-1000}
CONCURRENCY=${BENCH_CONCURRENCY:-32}
DURATION=${BENCH_DURATION:-20s}
RAFT_REQUESTS=${RAFT_REQUESTS:-200}
RAFT_CONCURRENCY=${RAFT_CONCURRENCY:-8}
RAFT_SOAK=${RAFT_SOAK:-1000}
PBFT_FAULT_REQUESTS=${PBFT_FAULT_REQUESTS:-60}
REST=${BENCH_REST:-127.0.0.1:18080}
BASE_PORT=${BENCH_BASE_PORT:-19527}
METRICS_PORT=${BENCH_METRICS_PORT:-19100}
DEBUG_PORT=${BENCH_DEBUG_PORT:-16060}
DIR=.devnet-bench
OUT=.devnet-bench.out # the devnet's own output; outside $DIR, which the devnet wipes
READY_POLLS=600       # x 0.2 s: two minutes for the nodes to start on a busy machine
BIN=bin/b7s
EXAMPLE=bin/examples/tiny.wasm
WASM=${WASM:-$EXAMPLE}
SUMMARY=.devnet-bench.runs # one JSON line per run, for the final table

DEVNET_PID=""
FAILED=0

stop_devnet() {
	[ -n "$DEVNET_PID" ] || return 0
	if kill -0 "$DEVNET_PID" 2>/dev/null; then
		kill -TERM "$DEVNET_PID" 2>/dev/null || true
		# The devnet gives its nodes 5 s each before killing them; give it 15 s in all.
		for _ in $(seq 1 75); do
			kill -0 "$DEVNET_PID" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$DEVNET_PID" 2>/dev/null; then
			echo "devnet did not stop within 15 s; killing it" >&2
			kill -KILL "$DEVNET_PID" 2>/dev/null || true
		fi
	fi
	wait "$DEVNET_PID" 2>/dev/null || true
	DEVNET_PID=""
}
trap stop_devnet EXIT
trap 'exit 130' INT TERM

# start_devnet WORKERS [devnet flags...]
start_devnet() {
	local workers=$1
	shift
	echo
	echo "=== devnet: 1 head + $workers workers (dir $DIR, REST $REST) $* ==="
	# --recent-messages 0: nodes as deployed, without the devnet's debugging rings.
	"$BIN" devnet --workers "$workers" --wasm "$WASM" --dir "$DIR" --rest-api "$REST" \
		--base-port "$BASE_PORT" --metrics-base-port "$METRICS_PORT" --debug-base-port "$DEBUG_PORT" --log-level warn --recent-messages 0 "$@" >"$OUT" 2>&1 &
	DEVNET_PID=$!
	for _ in $(seq 1 "$READY_POLLS"); do
		if ! kill -0 "$DEVNET_PID" 2>/dev/null; then
			echo "devnet exited before it was ready:" >&2
			cat "$OUT" >&2
			exit 1
		fi
		# Health first; devnet.env appears once every node answers and the install was sent.
		if curl -sf -m 2 "http://$REST/api/v1/health" >/dev/null 2>&1 && [ -f "$DIR/devnet.env" ]; then
			# shellcheck disable=SC1091
			. "$DIR/devnet.env"
			echo "ready: function $DEVNET_FUNCTION method $DEVNET_METHOD"
			grep -i 'install' "$OUT" | sed 's/^/  /' || true
			return 0
		fi
		sleep 0.2
	done
	echo "devnet not ready after $((READY_POLLS / 5)) s:" >&2
	cat "$OUT" >&2
	exit 1
}

idle_rss() {
	echo "idle RSS (VmRSS) before load:"
	while read -r name pid; do
		[ -n "$name" ] || continue
		printf '  %-8s pid %-7s %s\n' "$name" "$pid" "$(awk '/^VmRSS:/ {printf "%.1f MiB", $2 / 1024}' "/proc/$pid/status" 2>/dev/null || echo '?')"
	done <"$DIR/pids"
}

bench() {
	local title=$1
	shift
	echo
	echo "--- $title ---"
	if ! "$BIN" bench --api "$DEVNET_API" --function "$DEVNET_FUNCTION" --method "$DEVNET_METHOD" \
		--arg world --stdin hi --expect-stdout "$EXPECT" \
		--devnet "$DIR" --summary "$SUMMARY" --label "$title" "$@"; then
		FAILED=$((FAILED + 1))
	fi
}

# What every result's stdout must contain; --expect-stdout "" checks nothing.
if [ "$WASM" = "$EXAMPLE" ]; then
	EXPECT=${BENCH_EXPECT-'Hello from b7s-actor! world stdin: hi'}
else
	EXPECT=${BENCH_EXPECT:-}
fi

echo "=== build ==="
"$GO" build -o "$BIN" ./cmd/b7s
mkdir -p "$(dirname "$EXAMPLE")"
"$GO" run ./examples/tiny -o "$EXAMPLE"
rm -f "$SUMMARY"
if [ ! -f "$WASM" ]; then
	echo "WASM=$WASM: no such file" >&2
	exit 1
fi
MODULE="$WASM (sha256 $(sha256sum "$WASM" | cut -d' ' -f1))"
echo "machine: $(nproc) CPU(s), $(uname -sr)"
echo "module:  $MODULE"
echo "expect:  ${EXPECT:-(stdout not checked)}"

start_devnet 1
idle_rss
# The warm-up (several requests at once) installs and compiles the module on the workers it
# reaches; it is left out of the numbers.
bench "(a) 1 worker, $REQUESTS sequential" --nodes 1 --requests "$REQUESTS" --warmup 32
bench "(b) 1 worker, $CONCURRENCY clients" --nodes 1 --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 32
stop_devnet

start_devnet 2
idle_rss
bench "(c) 2 workers, $CONCURRENCY clients" --nodes 1 --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 64
bench "(d) 2 workers, $CONCURRENCY clients, nodes unset" --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup 32
stop_devnet

start_devnet 3
idle_rss
bench "(e) 3 workers, $REQUESTS sequential" --nodes 1 --requests "$REQUESTS" --warmup 64
stop_devnet

start_devnet 3
idle_rss
bench "(f) raft of 3, $RAFT_REQUESTS sequential" --nodes 3 --consensus raft --requests "$RAFT_REQUESTS" --warmup 16
bench "(g) raft of 3, $RAFT_SOAK sequential (RSS before and after)" --nodes 3 --consensus raft --requests "$RAFT_SOAK" --warmup 0
bench "(h) raft of 3, $RAFT_CONCURRENCY clients" --nodes 3 --consensus raft --concurrency "$RAFT_CONCURRENCY" --duration "$DURATION"
stop_devnet

start_devnet 4
idle_rss
bench "(i) pbft of 4, $RAFT_REQUESTS sequential" --nodes 4 --consensus pbft --requests "$RAFT_REQUESTS" --warmup 16
bench "(j) pbft of 4, $RAFT_CONCURRENCY clients" --nodes 4 --consensus pbft --concurrency "$RAFT_CONCURRENCY" --duration "$DURATION"
stop_devnet

start_devnet 4 --worker-env=2:B7S_PBFT_BYZANTINE=1
bench "(k) pbft of 4, worker 2 silent, $PBFT_FAULT_REQUESTS sequential" --nodes 4 --consensus pbft --requests "$PBFT_FAULT_REQUESTS" --warmup 4
stop_devnet

echo
echo "=== all runs (latency of successful requests; RSS sampled every 250 ms; CPU per request) ==="
"$BIN" bench --table "$SUMMARY"
echo
echo "module measured: $MODULE"
if [ "$FAILED" -gt 0 ]; then
	echo "bench-e2e: $FAILED run(s) reported failed requests (see the errors above)"
	exit 1
fi
echo "bench-e2e: all runs completed without errors"
