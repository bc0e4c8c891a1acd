package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/messages"
)

// The worker's own result (code and exit code) for a request, from the head's result lookup.
func workerResult(t *testing.T, net *daemontest.Network, requestID string) messages.NodeResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	results, err := rest(net.Head).Result(ctx, requestID)
	if err != nil {
		t.Fatalf("result of %s: %v", requestID, err)
	}
	res, ok := results[net.Workers[0].Host.ID()]
	if !ok {
		t.Fatalf("result of %s has no entry of the worker: %+v", requestID, results)
	}
	return res
}

// A method that leaves the function's folder is refused by the worker: its result says "400"
// with exit code 101 (could not be loaded), never "200" with exit 0.
func TestOutcome_AMethodOutsideTheFunctionIsAFailedResult(t *testing.T) {
	net := guestNetwork(t, 1, nil)
	req := guestRequest(1)
	req.Method = "../../../../b7s"
	resp := execute(t, net.Head, req)
	if len(resp.Results) != 1 || resp.Results[0].Result.ExitCode != executor.ExitLoadFailure {
		t.Fatalf("response %+v, want one result with exit code %d", resp, executor.ExitLoadFailure)
	}
	if res := workerResult(t, net, resp.RequestID); res.Code != messages.CodeInvalid || res.Result.ExitCode != executor.ExitLoadFailure {
		t.Fatalf("worker result %+v, want code 400 and exit %d", res, executor.ExitLoadFailure)
	}
}

// startedRunner is the worker's executor, telling the test when an execution has started.
type startedRunner struct {
	actors.FunctionRunner
	started chan struct{}
}

func (s startedRunner) Execute(ctx context.Context, req executor.Request) (executor.Result, error) {
	select {
	case s.started <- struct{}{}:
	default:
	}
	return s.FunctionRunner.Execute(ctx, req)
}

// A worker stopped (SIGTERM) in the middle of a run answers for it as interrupted: exit code
// 12 and "500", never "200" with exit 0 and empty output.
func TestOutcome_AWorkerStoppedDuringARunReportsItInterrupted(t *testing.T) {
	started := make(chan struct{}, 1)
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1,
		Configure: func(i int, c *config.Config) { withGuest(c) },
		WrapRunner: func(i int, r actors.FunctionRunner) actors.FunctionRunner {
			return startedRunner{FunctionRunner: r, started: started}
		}})
	go func() {
		select {
		case <-started:
			net.Workers[0].Stop() // what b7s run does on SIGTERM
		case <-time.After(time.Minute):
		}
	}()
	req := guestRequest(1, "spin")
	req.Config.Timeout = 30
	resp := execute(t, net.Head, req)
	if len(resp.Results) != 1 || resp.Results[0].Result.ExitCode != executor.ExitInterrupted {
		t.Fatalf("response %+v, want one result with exit code %d", resp, executor.ExitInterrupted)
	}
	if res := workerResult(t, net, resp.RequestID); res.Code != messages.CodeError {
		t.Fatalf("worker result %+v, want code 500", res)
	}
}

// A guest that loops without run_time is stopped at its request's deadline, not at the
// worker's --max-run-time, and its slot is free for the next request at once.
func TestOutcome_WorkEndsWithItsRequest(t *testing.T) {
	net := guestNetwork(t, 1, func(i int, c *config.Config) {
		c.Head.ExecutionTimeout = time.Hour // only the request's own timeout may stop it
		c.Worker.MaxRunTime = time.Hour
		c.Concurrency, c.Worker.QueueSize = 1, 0
	})
	req := guestRequest(1, "spin")
	req.Config.Timeout = 2
	resp := execute(t, net.Head, req)
	if resp.Code == messages.CodeOK && len(resp.Results) == 1 && resp.Results[0].Result.ExitCode == 0 {
		t.Fatalf("an endless loop succeeded: %+v", resp)
	}
	// The worker stopped the guest: its executor counted a failed execution, within seconds of
	// the deadline rather than the hour its other limits allow.
	net.Workers[0].WaitMetric(t, "b7s_executor_function_executions_err", nil, 1)
	// The one slot is free again: the next request runs.
	if resp := execute(t, net.Head, guestRequest(1)); resp.Code != messages.CodeOK || len(resp.Results) != 1 ||
		resp.Results[0].Result.Stdout != greeting {
		t.Fatalf("next request: %+v", resp)
	}
}

// A guest that writes past --max-fs-bytes gets "no space left on device" and exits with its
// own code; the worker counts it.
func TestOutcome_AGuestThatFillsItsDiskQuotaFailsItsWrite(t *testing.T) {
	net := guestNetwork(t, 1, func(i int, c *config.Config) { c.Worker.MaxFSBytes = 1 << 20 })
	resp := execute(t, net.Head, guestRequest(1, "fill", "4194304"))
	if len(resp.Results) != 1 {
		t.Fatalf("response %+v", resp)
	}
	out := resp.Results[0].Result
	if out.ExitCode != 1 || !strings.Contains(strings.ToLower(out.Stderr), "no space left on device") {
		t.Fatalf("result %+v, want exit 1 on \"no space left on device\"", out)
	}
	if n := net.Workers[0].Metric(t, "b7s_executor_fs_quota_exceeded", nil); n != 1 {
		t.Fatalf("b7s_executor_fs_quota_exceeded = %v, want 1", n)
	}
	if resp := execute(t, net.Head, guestRequest(1, "fill", "65536")); len(resp.Results) != 1 || resp.Results[0].Result.Stdout != "filled" {
		t.Fatalf("a write within the quota: %+v", resp)
	}
}
