package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/b7s-actor/b7s/api"
)

func TestPlanDevnet_WorkersBootFromHeadWithGatewayAndOwnPorts(t *testing.T) {
	cfg := defaultDevnetConfig()
	cfg.Dir = t.TempDir()
	cfg.Workers = 2
	const gateway = "http://127.0.0.1:1234/{cid}/manifest.json"
	nodes, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes) != 3 || nodes[0].Name != "head" || nodes[2].Name != "worker2" {
		t.Fatalf("nodes = %+v, want head, worker1, worker2", nodes)
	}
	head := nodes[0]
	if !slices.Contains(head.args(), "--rest-api") || slices.Contains(head.args(), "--boot-nodes") {
		t.Errorf("head args %q: want --rest-api and no --boot-nodes", head.args())
	}
	for k, w := range nodes[1:] {
		args := strings.Join(w.args(), " ")
		for _, want := range []string{
			"--role worker", "--address 127.0.0.1", "--boot-nodes " + head.Multiaddr(), "--gateway " + gateway,
			"--enable-metrics", "--prometheus-address " + w.HTTP, "--private-key " + w.KeyPath, "--recent-messages 64",
		} {
			if !strings.Contains(args, want) {
				t.Errorf("%s args %q lack %q", w.Name, args, want)
			}
		}
		if w.Port != cfg.BasePort+k+1 || w.HTTP != "127.0.0.1:"+strconv.Itoa(cfg.MetricsBasePort+k) {
			t.Errorf("%s: port %d http %s; want %d and 127.0.0.1:%d", w.Name, w.Port, w.HTTP, cfg.BasePort+k+1, cfg.MetricsBasePort+k)
		}
	}
	for i, n := range nodes {
		if want := "127.0.0.1:" + strconv.Itoa(cfg.DebugBasePort+i); n.Debug != want || !strings.Contains(strings.Join(n.args(), " "), "--debug-address "+want) {
			t.Errorf("%s: debug address %s, args %q; want %s", n.Name, n.Debug, n.args(), want)
		}
	}
	cfg.NodeArgs = []string{"--drain-timeout=1s", "--log-format=json"}
	withArgs, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range withArgs {
		if a := n.args(); !slices.Equal(a[len(a)-2:], cfg.NodeArgs) {
			t.Errorf("%s args %q do not end with the --node-arg flags", n.Name, a)
		}
	}
	// --worker-env reaches its worker alone.
	cfg.WorkerEnv = []string{"2:B7S_PBFT_BYZANTINE=1", "2:A=b=c"}
	withEnv, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range withEnv {
		if want := []string{"B7S_PBFT_BYZANTINE=1", "A=b=c"}; i == 2 && !slices.Equal(n.Env, want) || i != 2 && len(n.Env) > 0 {
			t.Errorf("%s env %q", n.Name, n.Env)
		}
	}
	for _, bad := range []string{"0:A=1", "3:A=1", "x:A=1", "2:A", "2:=1", "A=1"} {
		c := cfg
		c.WorkerEnv = []string{bad}
		if err := c.validate(); err == nil {
			t.Errorf("--worker-env %q accepted", bad)
		}
	}
	cfg.WorkerEnv = nil
	// Keys stay in the directory: planning again gives the same peer IDs.
	again, err := planDevnet(cfg, gateway)
	if err != nil {
		t.Fatal(err)
	}
	for i := range nodes {
		if nodes[i].PeerID != again[i].PeerID {
			t.Errorf("%s: peer ID changed from %s to %s", nodes[i].Name, nodes[i].PeerID, again[i].PeerID)
		}
	}
}

func TestPrepareDevnetDir_WipesItsOwnButRefusesAForeignDirectory(t *testing.T) {
	foreign := t.TempDir()
	if err := os.WriteFile(filepath.Join(foreign, "precious.txt"), []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDevnetDir(foreign); err == nil {
		t.Fatal("prepareDevnetDir wiped a directory it did not make")
	}
	if _, err := os.Stat(filepath.Join(foreign, "precious.txt")); err != nil {
		t.Fatalf("foreign file gone: %v", err)
	}

	ours := filepath.Join(t.TempDir(), "devnet")
	if err := prepareDevnetDir(ours); err != nil {
		t.Fatal(err)
	}
	stale := filepath.Join(ours, "worker1.log")
	if err := os.WriteFile(stale, []byte("old run"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareDevnetDir(ours); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale file survived the wipe: %v", err)
	}
}

func TestDevnetConfig_RejectsNonLoopbackRESTAndBadCounts(t *testing.T) {
	for name, mutate := range map[string]func(*devnetConfig){
		"public rest api": func(c *devnetConfig) { c.RestAPI = "0.0.0.0:8080" },
		"no workers":      func(c *devnetConfig) { c.Workers = 0 },
		"ports overflow":  func(c *devnetConfig) { c.BasePort = 65535 },
	} {
		cfg := defaultDevnetConfig()
		mutate(&cfg)
		if err := cfg.validate(); err == nil {
			t.Errorf("%s: validate accepted %+v", name, cfg)
		}
	}
	if err := defaultDevnetConfig().validate(); err != nil {
		t.Errorf("default config: %v", err)
	}
}

func TestWaitReady_AsksEveryNodesHealth(t *testing.T) {
	const health = `{"type":"MsgHealthCheck","code":200}`
	head := newFakeHeadAPI(t, api.PathHealth, http.StatusOK, health)
	worker := newFakeHeadAPI(t, api.PathHealth, http.StatusOK, health)
	nodes := []devnetNode{
		{Name: "head", Role: "head", HTTP: head.Listener.Addr().String()},
		{Name: "worker1", Role: "worker", HTTP: worker.Listener.Addr().String()},
	}
	if err := waitReady(context.Background(), 10*time.Second, nodes); err != nil {
		t.Fatal(err)
	}
	for _, n := range []*fakeHeadAPI{head, worker} {
		if got := n.only(t); got.method != http.MethodGet || got.path != api.PathHealth {
			t.Errorf("probe %+v, want GET /api/v1/health", got)
		}
	}
}

func TestWaitReady_NamesTheNodeThatDoesNotAnswer(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathHealth, http.StatusOK, `{"code":200}`)
	sick := newFakeHeadAPI(t, api.PathHealth, http.StatusServiceUnavailable, `{"message":"starting"}`)
	nodes := []devnetNode{
		{Name: "head", HTTP: head.Listener.Addr().String()},
		{Name: "worker1", HTTP: sick.Listener.Addr().String(), LogPath: "worker1.log"},
	}
	err := waitReady(context.Background(), 500*time.Millisecond, nodes)
	if err == nil {
		t.Fatal("a node answering 503 counted as ready")
	}
	for _, want := range []string{"worker1 did not answer", "503 Service Unavailable: starting", "worker1.log"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("err %q lacks %q", err, want)
		}
	}
}

func TestInstallFunction_SaysWhetherTheHeadPublished(t *testing.T) {
	head := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"200"}`)
	note := installFunction(context.Background(), head.Listener.Addr().String(), "bafk", "http://127.0.0.1:1/m.json")
	if !strings.Contains(note, "install published") {
		t.Errorf("note %q", note)
	}
	if got := head.only(t).body; got != `{"cid":"bafk","uri":"http://127.0.0.1:1/m.json","topic":""}` {
		t.Errorf("sent %s", got)
	}

	slow := newFakeHeadAPI(t, api.PathInstall, http.StatusOK, `{"code":"408"}`)
	if note := installFunction(context.Background(), slow.Listener.Addr().String(), "bafk", "u"); !strings.Contains(note, "not confirmed") || !strings.Contains(note, "code 408") {
		t.Errorf("408 note %q", note)
	}
}
