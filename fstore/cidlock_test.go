package fstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
)

func (l *cidLocks) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

func (l *cidLocks) refs(cid string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if e, ok := l.m[cid]; ok {
		return e.refs
	}
	return 0
}

func TestCIDLocks_WaiterThatGivesUpLeavesNothingBehind(t *testing.T) {
	var l cidLocks
	unlock, err := l.lock(ctxT(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	// Another CID is not held up by a.
	unlockB, err := l.lock(ctxT(t), "b")
	if err != nil {
		t.Fatalf("lock b while a is held: %v", err)
	}
	unlockB()

	gaveUp, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := l.lock(gaveUp, "a"); !errors.Is(err, context.Canceled) {
		t.Fatalf("lock of a held CID with a cancelled context: err = %v, want context.Canceled", err)
	}
	if n := l.refs("a"); n != 1 {
		t.Fatalf("a has %d holders and waiters after the waiter gave up, want 1", n)
	}
	unlock()
	if n := l.len(); n != 0 {
		t.Fatalf("%d per-CID locks left after every writer is done", n)
	}
}

// heldOrigin serves hello in-process, so that a test can run in a synctest bubble, and holds
// archive downloads while its gate is set.
type heldOrigin struct {
	mu        sync.Mutex
	manifests int
	archives  int
	gate      chan struct{}
}

const heldManifestURL = "http://origin.test/manifest.json"

func (o *heldOrigin) RoundTrip(r *http.Request) (*http.Response, error) {
	body := manifestJSON("http://origin.test/a.tar.gz", helloArchiveSHA)
	o.mu.Lock()
	gate := o.gate
	if r.URL.Path == "/a.tar.gz" {
		o.archives++
		body = helloTarGz
	} else {
		o.manifests++
		gate = nil
	}
	o.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return &http.Response{
		StatusCode: http.StatusOK, Body: io.NopCloser(bytes.NewReader(body)),
		ContentLength: int64(len(body)), Request: r, Header: http.Header{},
	}, nil
}

func (o *heldOrigin) counts() (manifests, archives int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.manifests, o.archives
}

func (o *heldOrigin) hold() chan struct{} {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.gate = make(chan struct{})
	return o.gate
}

// An install and a sync repair of one CID never work on it at the same time, whichever starts
// first, and the one that waited does not redo what the other did.
func TestWriters_InstallAndSyncRepairTakeTurns(t *testing.T) {
	// t is the bubble's: waiting on a context from outside it would never count as blocked.
	install := func(t *testing.T, e *testEnv) error {
		_, err := e.store.Install(t.Context(), heldManifestURL, testCID)
		return err
	}
	cases := []struct {
		name          string
		damage        func(e *testEnv) error
		first, second string
		wantRepaired  int
		// requests of the whole test: the first install, then the first writer's
		wantManifests, wantArchives int
	}{
		{
			// The repair downloads the archive again; the install then finds the function back.
			name: "repair first",
			damage: func(e *testEnv) error {
				return errors.Join(os.Remove(e.store.archivePath(testCID)), os.RemoveAll(filepath.Join(e.workspace, testCID)))
			},
			first: "sync", second: "install",
			wantRepaired: 1, wantManifests: 1, wantArchives: 2,
		},
		{
			// The install replaces the missing files; the sync then finds nothing to repair.
			name:   "install first",
			damage: func(e *testEnv) error { return os.RemoveAll(filepath.Join(e.workspace, testCID)) },
			first:  "install", second: "sync",
			wantRepaired: 0, wantManifests: 2, wantArchives: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				o := &heldOrigin{}
				e := newEnv(t, func(c *Config) { c.Transport = o })
				if err := install(t, e); err != nil {
					t.Fatalf("Install: %v", err)
				}
				if err := tc.damage(e); err != nil {
					t.Fatal(err)
				}
				var rep SyncReport
				run := func(writer string) chan error {
					done := make(chan error, 1)
					go func() {
						if writer == "install" {
							done <- install(t, e)
							return
						}
						var err error
						rep, err = e.store.Sync(t.Context())
						done <- err
					}()
					return done
				}

				gate := o.hold()
				first := run(tc.first)
				synctest.Wait()
				if _, a := o.counts(); a != 2 {
					t.Fatalf("%s made %d archive requests in all, want it to be downloading the second", tc.first, a)
				}
				second := run(tc.second)
				synctest.Wait()
				if n := e.store.writers.refs(testCID); n != 2 {
					t.Fatalf("%d writers hold or wait for the CID, want 2: the %s must wait for the %s", n, tc.second, tc.first)
				}
				if _, a := o.counts(); a != 2 {
					t.Fatalf("%d archive requests while the %s was downloading, want no other", a, tc.first)
				}
				close(gate)
				for _, done := range []chan error{first, second} {
					if err := <-done; err != nil {
						t.Fatal(err)
					}
				}

				if rep.Repaired != tc.wantRepaired || len(rep.Failed) != 0 {
					t.Fatalf("Sync = %+v, want %d repaired", rep, tc.wantRepaired)
				}
				if m, a := o.counts(); m != tc.wantManifests || a != tc.wantArchives {
					t.Fatalf("%d manifest and %d archive requests, want %d and %d: the %s redid the %s's work",
						m, a, tc.wantManifests, tc.wantArchives, tc.second, tc.first)
				}
				if got := fileSHA(t, filepath.Join(e.workspace, testCID, "hello.wasm")); got != helloWasmSHA {
					t.Fatalf("hello.wasm sha256 = %s, want %s", got, helloWasmSHA)
				}
				if n := e.store.writers.len(); n != 0 {
					t.Fatalf("%d per-CID locks left after every writer is done", n)
				}
			})
		})
	}
}
