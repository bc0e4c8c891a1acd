package actors

import (
	"testing"

	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

func TestWork_LimitedFuelReachesTheExecutorAndFuelConsumedTheResult(t *testing.T) {
	req := toExecutorRequest(messages.MsgExecute{Request: messages.Request{
		Config: messages.Config{Runtime: messages.RuntimeConfig{Fuel: 1234}},
	}}, "/f.wasm")
	if req.Fuel != 1234 {
		t.Fatalf("fuel %d, want 1234", req.Fuel)
	}
	res := fromExecutorResult(executor.Result{Code: messages.CodeError, ExitCode: 1, Usage: executor.Usage{FuelConsumed: 1200}})
	if res.Usage.FuelConsumed != 1200 || res.Result.ExitCode != 1 {
		t.Fatalf("result %+v", res)
	}
}
