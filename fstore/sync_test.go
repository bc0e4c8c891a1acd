package fstore

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"go.etcd.io/bbolt"
)

func installHello(t *testing.T) (*origin, *testEnv) {
	t.Helper()
	o := newOrigin(t)
	manifestURL := o.function("hello", helloTarGz)
	e := newEnv(t, nil)
	if _, err := e.store.Install(ctxT(t), manifestURL, testCID); err != nil {
		t.Fatalf("Install: %v", err)
	}
	return o, e
}

func TestSync_HealthyStoreNeedsNothing(t *testing.T) {
	o, e := installHello(t)
	rep, err := e.store.Sync(ctxT(t))
	if err != nil || rep.Checked != 1 || rep.Repaired != 0 || len(rep.Failed) != 0 {
		t.Fatalf("Sync = %+v, %v", rep, err)
	}
	if n := o.count("/hello/archive.tar.gz"); n != 1 {
		t.Fatalf("archive fetched %d times", n)
	}
	// Spec §11: installed counts attempts plus the records synced once, at the first sync.
	if _, err := e.store.Sync(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(e.store.metrics.installed); got != 2 {
		t.Fatalf("b7s_fstore_functions_installed = %v, want 2", got)
	}
}

func TestSync_ReunpacksDeletedFiles(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(dir string) error
	}{
		{"whole folder", os.RemoveAll},
		{"one file", func(dir string) error { return os.Remove(filepath.Join(dir, "hello.wasm")) }},
		{"truncated file", func(dir string) error { return os.Truncate(filepath.Join(dir, "hello.wasm"), 10) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, e := installHello(t)
			if err := tc.damage(filepath.Join(e.workspace, testCID)); err != nil {
				t.Fatal(err)
			}
			rep, err := e.store.Sync(ctxT(t))
			if err != nil || rep.Checked != 1 || rep.Repaired != 1 || len(rep.Failed) != 0 {
				t.Fatalf("Sync = %+v, %v", rep, err)
			}
			if got := fileSHA(t, filepath.Join(e.workspace, testCID, "hello.wasm")); got != helloWasmSHA {
				t.Fatalf("hello.wasm sha256 after repair = %s", got)
			}
			if !e.store.IsInstalled(testCID) {
				t.Fatal("not installed after repair")
			}
			// Files alone were gone: the kept archive was enough, no download.
			if n := o.count("/hello/archive.tar.gz"); n != 1 {
				t.Fatalf("archive fetched %d times, want 1", n)
			}
		})
	}
}

func TestSync_RedownloadsMissingOrDamagedArchive(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(archive string) error
	}{
		{"missing", os.Remove},
		{"damaged", func(p string) error { return os.WriteFile(p, []byte("garbage"), 0o644) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, e := installHello(t)
			if err := tc.damage(e.store.archivePath(testCID)); err != nil {
				t.Fatal(err)
			}
			os.RemoveAll(filepath.Join(e.workspace, testCID))
			rep, err := e.store.Sync(ctxT(t))
			if err != nil || rep.Repaired != 1 || len(rep.Failed) != 0 {
				t.Fatalf("Sync = %+v, %v", rep, err)
			}
			if n := o.count("/hello/archive.tar.gz"); n != 2 {
				t.Fatalf("archive fetched %d times, want 2", n)
			}
			if got := fileSHA(t, e.store.archivePath(testCID)); got != helloArchiveSHA {
				t.Fatalf("archive sha256 after repair = %s", got)
			}
			if got := fileSHA(t, filepath.Join(e.workspace, testCID, "hello.wasm")); got != helloWasmSHA {
				t.Fatalf("hello.wasm sha256 after repair = %s", got)
			}
		})
	}
}

func TestSync_FailedRepairIsReported(t *testing.T) {
	o, e := installHello(t)
	o.handle("/hello/archive.tar.gz", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	os.Remove(e.store.archivePath(testCID))
	rep, err := e.store.Sync(ctxT(t))
	if err != nil || rep.Repaired != 0 || len(rep.Failed) != 1 {
		t.Fatalf("Sync = %+v, %v", rep, err)
	}
	if !IsTransient(rep.Failed[0]) {
		t.Fatalf("503 during repair should be transient: %v", rep.Failed[0])
	}
}

// One broken record never stops the node: New opens, Sync reports it, the rest works.
func TestSync_BrokenRecordsAreReportedAndSkipped(t *testing.T) {
	_, e := installHello(t)
	err := e.db.Update(func(tx *bbolt.Tx) error {
		b := tx.Bucket([]byte("functions"))
		if err := b.Put([]byte("bafybroken"), []byte{0xff, 0x00, '{', 'x'}); err != nil {
			return err
		}
		// Decodes, but lacks what a record must have.
		if err := b.Put([]byte("bafyhollow"), []byte(`{"cid":"bafyhollow"}`)); err != nil {
			return err
		}
		// Claims a path outside its own folder: never trusted.
		return b.Put([]byte("bafyescape"), []byte(`{"cid":"bafyescape","files":"/../../etc","archive":"/.archives/bafyescape.tar.gz","sha256":"`+helloArchiveSHA+`"}`))
	})
	if err != nil {
		t.Fatal(err)
	}

	e.reopen(t, nil)
	rep, err := e.store.Sync(ctxT(t))
	if err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if rep.Checked != 4 || rep.Repaired != 0 || len(rep.Failed) != 3 {
		t.Fatalf("Sync = %+v", rep)
	}
	for _, f := range rep.Failed {
		if !errors.Is(f, ErrBadRecord) || IsTransient(f) {
			t.Fatalf("failure %v should be a permanent ErrBadRecord", f)
		}
	}
	if !e.store.IsInstalled(testCID) {
		t.Fatal("the good function is no longer installed")
	}
	p, err := e.store.FunctionPath(testCID, "hello.wasm")
	if err != nil || fileSHA(t, p) != helloWasmSHA {
		t.Fatalf("good function unusable: %q, %v", p, err)
	}
	for _, cid := range []string{"bafybroken", "bafyhollow", "bafyescape"} {
		if e.store.IsInstalled(cid) {
			t.Fatalf("broken record %s counts as installed", cid)
		}
	}
	if l := e.store.List(); len(l) != 1 {
		t.Fatalf("List = %d records, want 1", len(l))
	}
}
