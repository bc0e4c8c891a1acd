package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/fstore/funcpack"
	"github.com/b7s-actor/b7s/messages"
)

// greeting is what the guest prints when given no arguments.
const greeting = "This is the start of my program\nThe answer is  42\nThis is the end of my program\n"

// The test function, built once per test binary, the gateway that serves it to workers, and
// the compilation cache every worker shares: compiling a Go-built module takes seconds under the
// race detector, so it is done once, here, and not by each test's fresh worker.
var (
	guest        funcpack.Function
	gateway      *funcpack.Server
	compileCache string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "b7s-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testDir = dir
	wasm := filepath.Join(dir, "guest.wasm")
	build := exec.Command("go", "build", "-o", wasm, "./testdata/guest")
	build.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build the test function: %v\n%s", err, out)
		return 1
	}
	if guest, err = funcpack.PackFile(wasm); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	compileCache = filepath.Join(dir, "wazero")
	if err := warmCompileCache(dir, wasm); err != nil {
		fmt.Fprintf(os.Stderr, "compile the test function: %v\n", err)
		return 1
	}
	if gateway, err = funcpack.Serve(guest); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer gateway.Close()
	return m.Run()
}

// warmCompileCache runs the test function once through an executor on the shared cache.
func warmCompileCache(dir, wasm string) error {
	cfg := executor.DefaultConfig()
	cfg.Workspace = filepath.Join(dir, "warm")
	cfg.CompilationCacheDir = compileCache
	e, err := executor.New(cfg)
	if err != nil {
		return err
	}
	defer e.Close(context.Background())
	res, err := e.Execute(context.Background(), executor.Request{RequestID: "warm", FunctionID: "guest", ModulePath: wasm})
	if err != nil {
		return err
	}
	if res.Stdout != greeting {
		return fmt.Errorf("the test function printed %q, want the greeting", res.Stdout)
	}
	return nil
}

// withGuest makes a node's gateway serve the test function and its executor use the warm cache.
func withGuest(c *config.Config) {
	c.FStore.Gateway = gateway.GatewayTemplate()
	c.Worker.CompilationCache = compileCache
}

// guestNetwork starts a head and workers that can run the test function.
func guestNetwork(t testing.TB, workers int, configure func(int, *config.Config)) *daemontest.Network {
	t.Helper()
	return daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: workers, Configure: func(i int, c *config.Config) {
		withGuest(c)
		if configure != nil {
			configure(i, c)
		}
	}})
}

// guestRequest runs the test function on nodes workers (0: as many as answer) with args.
func guestRequest(nodes int, args ...string) messages.ExecutionRequest {
	req := messages.ExecutionRequest{FunctionID: guest.CID.String(), Method: guest.Name,
		Config: messages.Config{NumberOfNodes: nodes}}
	for _, a := range args {
		req.Parameters = append(req.Parameters, messages.Parameter{Value: a})
	}
	return req
}

// rest is a REST client of a node's HTTP address.
func rest(n *daemontest.Node) *client.Client { return client.New(n.HTTPAddress()) }

// debugAPI is a client of a node's debug address (/debug/*, /metrics).
func debugAPI(n *daemontest.Node) *client.Client { return client.New(n.DebugAddress()) }

// execute runs req through the head's REST API and fails the test on anything but an answer.
func execute(t testing.TB, head *daemontest.Node, req messages.ExecutionRequest) messages.ExecutionResponse {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	resp, err := rest(head).Execute(ctx, req)
	if err != nil {
		t.Fatalf("execute: %v", err)
	}
	return resp
}
