package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/messages"
)

// The binary under test, built from this repository once per test binary, when a process
// test first needs it. testDir is the test binary's own temporary folder (TestMain's).
var (
	testDir string

	binOnce sync.Once
	binPath string
	binErr  error
)

func b7sBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp(testDir, "b7s-bin-") // removed with testDir when the tests end
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "b7s")
		out, err := exec.Command("go", "build", "-o", binPath, "../cmd/b7s").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("build b7s: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// readyLine is what `b7s run` prints on stdout once up, in JSON mode.
type readyLine struct {
	Event  string   `json:"event"`
	PeerID string   `json:"peer_id"`
	Role   string   `json:"role"`
	Listen []string `json:"listen"`
	HTTP   string   `json:"http"`
	Debug  string   `json:"debug"`
}

// nodeProcess is one `b7s run` process.
type nodeProcess struct {
	name   string
	cmd    *exec.Cmd
	ready  readyLine
	exited chan struct{} // closed once Wait returned; then err and at are set
	err    error
	at     time.Time
	log    string // its stderr
}

// startProcess runs `b7s run args…` with JSON logs on 127.0.0.1 and waits for its ready line.
func startProcess(t *testing.T, name string, args ...string) *nodeProcess {
	t.Helper()
	dir := t.TempDir()
	p := &nodeProcess{name: name, exited: make(chan struct{}), log: filepath.Join(dir, "stderr.log")}
	stderr, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	base := []string{"run", "--address", "127.0.0.1", "--port", "0", "--quic=false", "--discovery=false",
		"--debug-address", "127.0.0.1:0", "--log-format", "json", "--log-level", "warn",
		"--db", filepath.Join(dir, "db"), "--workspace", filepath.Join(dir, "workspace")}
	p.cmd = exec.Command(b7sBinary(t), append(base, args...)...)
	p.cmd.Stderr = stderr
	stdout, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		p.at = time.Now()
		stderr.Close()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			data, _ := os.ReadFile(p.log)
			t.Logf("%s stderr:\n%s", name, tail(string(data), 4000))
		}
	})
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default:
			}
		}
	}()
	select {
	case line := <-lines:
		if err := json.Unmarshal([]byte(line), &p.ready); err != nil || p.ready.Event != "ready" {
			t.Fatalf("%s: ready line %q: %v", name, line, err)
		}
	case <-p.exited:
		t.Fatalf("%s exited before it was ready: %v", name, p.err)
	case <-time.After(time.Minute):
		t.Fatalf("%s printed no ready line within a minute", name)
	}
	return p
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}

// exitCode waits up to d for the process to end and returns its exit code (-1: killed by a
// signal).
func (p *nodeProcess) exitCode(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(d):
		t.Fatalf("%s still runs %v later", p.name, d)
	}
	return p.cmd.ProcessState.ExitCode()
}

// processNetwork is a head and workers as processes, meshed: a request through all workers
// has succeeded.
func processNetwork(t *testing.T, workers int, workerArgs ...string) (*nodeProcess, []*nodeProcess) {
	t.Helper()
	head := startProcess(t, "head", "--role", "head", "--rest-api", "127.0.0.1:0", "--drain-timeout", "1m")
	var ws []*nodeProcess
	for i := range workers {
		args := append([]string{"--role", "worker", "--boot-nodes", head.ready.Listen[0],
			"--gateway", gateway.GatewayTemplate(), "--compilation-cache", compileCache, "--drain-timeout", "1m"}, workerArgs...)
		ws = append(ws, startProcess(t, fmt.Sprintf("worker%d", i+1), args...))
	}
	c := client.New(head.ready.HTTP)
	req := guestRequest(workers)
	req.Config.Timeout = 2
	ok := actortest.Eventually(time.Minute, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		resp, err := c.Execute(ctx, req)
		return err == nil && resp.Code == messages.CodeOK
	})
	if !ok {
		t.Fatal("the processes never ran a request on every worker")
	}
	return head, ws
}

// executions counts the execution actors a worker holds, from its debug address.
func executions(addr string) int {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tree, err := client.New(addr).Actors(ctx)
	if err != nil {
		return -1
	}
	var count func([]*inspect.ActorInfo) int
	count = func(as []*inspect.ActorInfo) int {
		n := 0
		for _, a := range as {
			if a.Kind == "execution" {
				n++
			}
			n += count(a.Children)
		}
		return n
	}
	return count(tree.Actors)
}

// SIGTERM to a whole network (head and workers at once, as a host's shutdown does) with 20
// requests in flight: every request is answered with its result, a new one is refused with 503
// and a Retry-After, and every process exits 0. The log says how long each took.
func TestProcess_SIGTERMWithRequestsInFlight(t *testing.T) {
	t.Parallel() // mostly waiting (timers, gates, processes): it overlaps the busy tests
	if testing.Short() {
		t.Skip("builds and runs b7s processes")
	}
	const inFlight, sleepMS = 20, 2000
	head, workers := processNetwork(t, 2, "--concurrency", "20")

	answers := make(chan messages.ExecutionResponse, inFlight)
	errs := make(chan error, inFlight)
	for range inFlight {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			resp, err := client.New(head.ready.HTTP).Execute(ctx, guestRequest(1, "sleep", fmt.Sprint(sleepMS)))
			if err != nil {
				errs <- err
				return
			}
			answers <- resp
		}()
	}
	if !actortest.Eventually(time.Minute, func() bool {
		n := 0
		for _, w := range workers {
			n += executions(w.ready.Debug)
		}
		return n == inFlight
	}) {
		t.Fatalf("the workers never held all %d executions", inFlight)
	}

	signalled := time.Now()
	for _, p := range append([]*nodeProcess{head}, workers...) {
		if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Fatal(err)
		}
	}
	// Once the head has begun to drain, new work is refused.
	hc := client.New(head.ready.HTTP)
	if !actortest.Eventually(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, code, err := hc.Ready(ctx)
		return err == nil && code == http.StatusServiceUnavailable
	}) {
		t.Fatal("the head's /readyz never said it drains")
	}
	resp, err := http.Post("http://"+head.ready.HTTP+api.PathExecute, "application/json", bytes.NewReader([]byte(`{"function_id":"f","method":"m"}`)))
	if err != nil {
		t.Fatalf("a new request while draining: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a new request while draining: %s, Retry-After %q; want 503 with Retry-After", resp.Status, resp.Header.Get("Retry-After"))
	}

	answered := 0
	for range inFlight {
		select {
		case r := <-answers:
			if r.Code == messages.CodeOK && len(r.Results) == 1 && strings.Contains(firstStdout(r), "slept") {
				answered++
			} else {
				t.Errorf("answer %+v", r)
			}
		case err := <-errs:
			t.Errorf("request cut: %v", err)
		}
	}
	var took []string
	for _, p := range append([]*nodeProcess{head}, workers...) {
		if code := p.exitCode(t, 2*time.Minute); code != 0 {
			t.Errorf("%s exited %d (%v), want 0", p.name, code, p.err)
		}
		took = append(took, fmt.Sprintf("%s %v", p.name, p.at.Sub(signalled).Round(time.Millisecond)))
	}
	t.Logf("SIGTERM with %d requests in flight (each sleeping %d ms, just started): %d answered with their result; SIGTERM to exit: %s",
		inFlight, sleepMS, answered, strings.Join(took, ", "))
	if answered != inFlight {
		t.Errorf("%d of %d in-flight requests answered", answered, inFlight)
	}
}

func firstStdout(r messages.ExecutionResponse) string {
	for _, res := range r.Results {
		return res.Result.Stdout
	}
	return ""
}

// A second signal does not wait for the drain: the process exits at once, with status 1.
func TestProcess_SecondSignalStopsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs b7s processes")
	}
	head, workers := processNetwork(t, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		_, _ = client.New(head.ready.HTTP).Execute(ctx, guestRequest(1, "sleep", "60000"))
	}()
	if !actortest.Eventually(time.Minute, func() bool { return executions(workers[0].ready.Debug) == 1 }) {
		t.Fatal("the execution never started")
	}
	if err := head.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	hc := client.New(head.ready.HTTP)
	if !actortest.Eventually(30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, code, err := hc.Ready(ctx)
		return err == nil && code == http.StatusServiceUnavailable
	}) {
		t.Fatal("the head never began to drain")
	}
	if err := head.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The request sleeps a minute and the drain would wait for it: ending well before proves
	// the second signal did not wait.
	if code := head.exitCode(t, 30*time.Second); code != 1 {
		t.Fatalf("exit %d after a second signal, want 1", code)
	}
}
