package messages

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
)

// A worker's result with the largest output its limit allows, of the bytes JSON escapes worst,
// fits the direct-message limit derived from that output limit.
func TestDirectMessageLimit_FitsTheWorstResult(t *testing.T) {
	worker, err := peer.Decode("12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq")
	if err != nil {
		t.Fatal(err)
	}
	worst := map[string][]byte{
		"control": {0x01},
		"invalid": {0xff},
		"html":    []byte("<"),
		"u2028":   []byte("\u2028"), // three bytes that become six
		"mixed":   []byte("\x00<\xff&\x1f\u2029"),
	}
	for _, maxOutput := range []int{1, 1000, 64 << 10, 1 << 20} {
		for name, unit := range worst {
			out := string(bytes.Repeat(unit, maxOutput/len(unit)+1)[:maxOutput])
			resp := MsgExecuteResponse{
				RequestID: "b6fbbc5e-1d16-4ea9-b557-51f4a6ab565c",
				Code:      CodeOK,
				Message:   strings.Repeat("m", 200),
				Results: ResultMap{worker: {ExecutionResult: ExecutionResult{
					Code:   CodeOK,
					Result: RuntimeOutput{Stdout: out, Stderr: out, ExitCode: -2147483648},
					Usage: Usage{WallClockTime: time.Duration(1<<63 - 1), CPUUserTime: time.Duration(1<<63 - 1),
						CPUSysTime: time.Duration(1<<63 - 1), MemoryMaxKB: 1<<63 - 1, FuelConsumed: 1<<64 - 1},
				}}},
			}
			data, err := Encode(resp)
			if err != nil {
				t.Fatal(err)
			}
			if limit := DirectMessageLimit(maxOutput); len(data) > limit {
				t.Errorf("%s output of %d bytes: result is %d bytes, over the limit %d", name, maxOutput, len(data), limit)
			}
		}
	}
}

func TestDefaultDirectMessageLimit_IsTheLimitOfTheDefaultOutputCap(t *testing.T) {
	if got, want := DefaultDirectMessageLimit, DirectMessageLimit(DefaultMaxOutputBytes); got != want {
		t.Fatalf("DefaultDirectMessageLimit = %d, DirectMessageLimit(DefaultMaxOutputBytes) = %d", got, want)
	}
}
