package actors

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"go.etcd.io/bbolt"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/fstore/funcpack"
	"github.com/b7s-actor/b7s/messages"
)

// hello is a function packed from a stand-in module: the installer never runs it.
var hello = func() funcpack.Function {
	f, err := funcpack.Pack("hello.wasm", []byte("\x00asm\x01\x00\x00\x00 installer test module"))
	if err != nil {
		panic(err)
	}
	return f
}()

var helloCID = hello.CID.String()

// functionServer serves hello like a gateway, in memory (no sockets, so it runs in virtual
// time); failNext makes the next n requests answer 503, and release, when set, holds archive
// downloads until it is closed.
type functionServer struct {
	*funcpack.Handler
	requests    atomic.Int32 // every request, found or not
	failNext    atomic.Int32
	releaseOnce sync.Once
	release     chan struct{}
}

func newFunctionServer(t *testing.T) *functionServer {
	t.Helper()
	return &functionServer{Handler: funcpack.NewHandler(hello)}
}

func (s *functionServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.failNext.Load() > 0 {
		s.failNext.Add(-1)
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if s.release != nil && strings.HasSuffix(r.URL.Path, ".tar.gz") {
		<-s.release
	}
	s.Handler.ServeHTTP(w, r)
}

type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

func newStore(t *testing.T, srv http.Handler, workspace string) (*fstore.Store, *bbolt.DB) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(workspace, "..", filepath.Base(workspace)+".bolt"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := fstore.DefaultConfig()
	cfg.Workspace = workspace
	cfg.GatewayTemplate = "http://functions.test/{cid}/manifest.json"
	cfg.Transport = handlerTransport{srv}
	store, err := fstore.New(cfg, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close(); _ = db.Close() })
	return store, db
}

func testInstallerConfig(store FunctionStore) installerConfig {
	return installerConfig{InstallerConfig: DefaultInstallerConfig(), Store: store}
}

func TestInstaller_ConcurrentRequestsForOneCIDDownloadOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		srv.release = make(chan struct{})
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		installer := sys.Spawn(t, "installer", "installer", newInstaller(testInstallerConfig(store)))
		probe := sys.NewProbe(t, "asker")
		for range 10 {
			sys.Send(installer, &installRequest{CID: helloCID, ReplyTo: probe.PID})
		}
		synctest.Wait() // all ten are queued behind the one download
		close(srv.release)
		for range 10 {
			if r := actortest.Expect[*installResult](t, probe, time.Minute); r.Err != nil || r.CID != helloCID {
				t.Fatalf("result %+v", r)
			}
		}
		if m, a := srv.Manifests(), srv.Archives(); m != 1 || a != 1 {
			t.Fatalf("downloads: %d manifests, %d archives; want 1 and 1", m, a)
		}
		if !store.IsInstalled(helloCID) {
			t.Fatal("not installed")
		}
	})
}

func TestInstaller_RetriesTransientFailuresWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		srv.failNext.Store(2)
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		installer := sys.Spawn(t, "installer", "installer", newInstaller(testInstallerConfig(store)))
		probe := sys.NewProbe(t, "asker")
		start := time.Now()
		sys.Send(installer, &installRequest{CID: helloCID, ReplyTo: probe.PID})
		r := actortest.Expect[*installResult](t, probe, 10*time.Minute)
		if r.Err != nil {
			t.Fatalf("install failed after retries: %v", r.Err)
		}
		// Two failures: waits of 1 s and 2 s (virtual time), then success.
		if waited := time.Since(start); waited < 3*time.Second || waited > 4*time.Second {
			t.Fatalf("retries took %s of virtual time, want 3s", waited)
		}
	})
}

func TestInstaller_PermanentFailureIsNotRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		installer := sys.Spawn(t, "installer", "installer", newInstaller(testInstallerConfig(store)))
		probe := sys.NewProbe(t, "asker")
		sys.Send(installer, &installRequest{CID: helloCID, ManifestURL: "http://functions.test/nope.json", ReplyTo: probe.PID})
		r := actortest.Expect[*installResult](t, probe, time.Minute)
		if r.Err == nil || !errors.Is(r.Err, fstore.ErrNotFound) && !strings.Contains(r.Err.Error(), "404") {
			t.Fatalf("want a 404 error, got %v", r.Err)
		}
		if n := srv.Manifests(); n != 0 {
			t.Fatalf("manifest fetched %d times", n)
		}
	})
}

// A function whose install failed is answered with that failure for FailureTTL without a new
// attempt, then tried again.
func TestInstaller_RemembersAFailureForAWhile(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		cfg := testInstallerConfig(store)
		cfg.FailureTTL = time.Minute
		installer := sys.Spawn(t, "installer", "installer", newInstaller(cfg))
		probe := sys.NewProbe(t, "asker")
		const unknown = "bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		ask := func() error {
			sys.Send(installer, &installRequest{CID: unknown, ReplyTo: probe.PID})
			return actortest.Expect[*installResult](t, probe, time.Minute).Err
		}
		if err := ask(); err == nil {
			t.Fatal("an unknown function installed")
		}
		for range 5 {
			if err := ask(); err == nil {
				t.Fatal("the remembered failure answered success")
			}
		}
		if n := srv.requests.Load(); n != 1 {
			t.Fatalf("%d requests to the gateway for 6 asks within the minute, want 1", n)
		}
		time.Sleep(time.Minute)
		if err := ask(); err == nil {
			t.Fatal("an unknown function installed")
		}
		if n := srv.requests.Load(); n != 2 {
			t.Fatalf("%d requests to the gateway after the failure expired, want 2", n)
		}
	})
}

func TestInstaller_SyncAtStartReinstallsDeletedFiles(t *testing.T) {
	srv := newFunctionServer(t)
	workspace := t.TempDir()
	store, _ := newStore(t, srv, workspace)
	if _, err := store.Install(context.Background(), store.ManifestURL(helloCID), helloCID); err != nil {
		t.Fatal(err)
	}
	wasm := filepath.Join(workspace, helloCID, "hello.wasm")
	if err := os.RemoveAll(filepath.Dir(wasm)); err != nil {
		t.Fatal(err)
	}
	synctest.Test(t, func(t *testing.T) {
		sys := actortest.NewSystem(t)
		sys.Spawn(t, "installer", "installer", newInstaller(testInstallerConfig(store)))
		if !actortest.Eventually(time.Minute, func() bool { _, err := os.Stat(wasm); return err == nil }) {
			t.Fatal("sync did not restore the function's files")
		}
	})
}

func TestInstaller_AnswersThePublisherNotTheForwarder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		host := newFakeHost("worker")
		cfg := testInstallerConfig(store)
		cfg.Outbox = testOutbox(t, host, sys)
		installer := sys.Spawn(t, "installer", "installer", newInstaller(cfg))
		publisher, forwarder := peer.ID("publisher"), peer.ID("forwarder")
		sys.Send(installer, &delivery{
			Pipeline: pipeline{Topic: "blockless/b7s/general"}, From: forwarder, Author: publisher,
			Message: messages.MsgInstallFunction{CID: helloCID},
		})
		select {
		case m := <-host.sent:
			if m.to != publisher {
				t.Fatalf("answered %s, want the publisher", m.to)
			}
			want := `{"code":"202","message":"installed","cid":"` + helloCID + `","type":"MsgInstallFunctionResponse"}` + "\n"
			if string(m.data) != want {
				t.Fatalf("sent %s\nwant %s", m.data, want)
			}
		case <-time.After(time.Minute):
			t.Fatal("no install response")
		}
	})
}

// After a restart, the outcome of the previous incarnation's download must not settle a new
// job for the same CID.
func TestInstaller_RestartDoesNotMixUpJobs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newFunctionServer(t)
		srv.release = make(chan struct{})
		store, _ := newStore(t, srv, t.TempDir())
		sys := actortest.NewSystem(t)
		faults := actortest.NewFaults()
		sys.Spawn(t, "node", "node", func() actor.Actor {
			return actor.ReceiveFunc(func(ctx actor.Context) {
				if _, ok := ctx.Message().(*actor.Started); ok {
					_, _ = ctx.SpawnNamed(sys.Registry.Props("installer", newInstaller(testInstallerConfig(store)),
						actor.WithReceiverMiddleware(faults.Middleware)), "installer")
				}
			})
		}, actor.WithSupervisor(newOneForOneBackoff(DefaultBackoff())))
		installer := actor.NewPID(sys.Address(), "node/installer")
		probe := sys.NewProbe(t, "asker")
		sys.WaitActor(t, "node/installer", func(a inspect.ActorInfo) bool { return a.State == inspect.StateRunning }, time.Second)

		sys.Send(installer, &installRequest{CID: helloCID, ReplyTo: probe.PID})
		synctest.Wait() // the first download is stuck on the server
		if err := faults.Crash("node/installer", "injected"); err != nil {
			t.Fatal(err)
		}
		if r := actortest.Expect[*installResult](t, probe, time.Minute); r.Err == nil {
			t.Fatalf("the waiter of the crashed incarnation was told it succeeded: %+v", r)
		}
		sys.WaitActor(t, "node/installer", func(a inspect.ActorInfo) bool {
			return a.Restarts == 1 && a.State == inspect.StateRunning
		}, time.Minute)
		sys.Send(installer, &installRequest{CID: helloCID, ReplyTo: probe.PID})
		synctest.Wait()
		close(srv.release)
		if r := actortest.Expect[*installResult](t, probe, time.Minute); r.Err != nil {
			t.Fatalf("the new job failed: %v", r.Err)
		}
		if !store.IsInstalled(helloCID) {
			t.Fatal("not installed")
		}
	})
}
