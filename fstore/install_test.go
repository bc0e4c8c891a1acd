package fstore

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.etcd.io/bbolt"
)

func TestInstall_ByURLUnpacksRecordsAndSurvivesRestart(t *testing.T) {
	o := newOrigin(t)
	manifestURL := o.function("hello", helloTarGz)
	e := newEnv(t, nil)

	rec, err := e.store.Install(ctxT(t), manifestURL, testCID)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	wasm := filepath.Join(e.workspace, testCID, "hello.wasm")
	if got := fileSHA(t, wasm); got != helloWasmSHA {
		t.Fatalf("hello.wasm sha256 = %s, want %s", got, helloWasmSHA)
	}
	if rec.CID != testCID || rec.URL != manifestURL || rec.SHA256 != helloArchiveSHA ||
		rec.Files != "/"+testCID || rec.Archive != "/.archives/"+testCID+".tar.gz" ||
		rec.Manifest.Deployment.File != rec.Archive || rec.InstalledAt.IsZero() || rec.UpdatedAt.IsZero() {
		t.Fatalf("unexpected record: %+v", rec)
	}
	if got := fileSHA(t, filepath.Join(e.workspace, filepath.FromSlash(rec.Archive))); got != helloArchiveSHA {
		t.Fatalf("kept archive sha256 = %s", got)
	}
	if !e.store.IsInstalled(testCID) {
		t.Fatal("IsInstalled = false after Install")
	}
	p, err := e.store.FunctionPath(testCID, "hello.wasm")
	if err != nil || p != wasm {
		t.Fatalf("FunctionPath = %q, %v; want %q", p, err, wasm)
	}

	// The stored value is the spec's FunctionRecord JSON plus sha256 and installed_at.
	var raw map[string]json.RawMessage
	if err := e.db.View(func(tx *bbolt.Tx) error {
		return json.Unmarshal(tx.Bucket([]byte("functions")).Get([]byte(testCID)), &raw)
	}); err != nil {
		t.Fatalf("read raw record: %v", err)
	}
	for _, k := range []string{"cid", "url", "manifest", "archive", "files", "updated_at", "last_retrieved", "sha256", "installed_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("stored record lacks %q: %v", k, raw)
		}
	}

	// Idempotent: no second download.
	if _, err := e.store.Install(ctxT(t), manifestURL, testCID); err != nil {
		t.Fatalf("second Install: %v", err)
	}
	if n := o.count("/hello/archive.tar.gz"); n != 1 {
		t.Fatalf("archive fetched %d times, want 1", n)
	}
	if got := testutil.ToFloat64(e.store.metrics.ok); got != 1 {
		t.Fatalf("installed_ok = %v, want 1", got)
	}
	if got := testutil.ToFloat64(e.store.metrics.sizeBytes); got != float64(len(helloTarGz)) {
		t.Fatalf("installed_size_bytes = %v", got)
	}
	if n, err := testutil.GatherAndCount(e.reg, "b7s_fstore_functions_installed", "b7s_fstore_functions_installed_ok",
		"b7s_fstore_functions_installed_err", "b7s_fstore_functions_installed_size_bytes",
		"b7s_fstore_functions_installation_milliseconds"); err != nil || n != 5 {
		t.Fatalf("registered fstore metrics = %d, %v; want 5", n, err)
	}

	e.reopen(t, nil)
	if !e.store.IsInstalled(testCID) {
		t.Fatal("not installed after reopening the database")
	}
	got, err := e.store.Get(testCID)
	if err != nil || got.SHA256 != helloArchiveSHA || got.URL != manifestURL {
		t.Fatalf("Get after reopen = %+v, %v", got, err)
	}
	if l := e.store.List(); len(l) != 1 || l[0].CID != testCID {
		t.Fatalf("List after reopen = %+v", l)
	}
}

func TestInstall_ByCIDUsesGatewayTemplate(t *testing.T) {
	o := newOrigin(t)
	archiveURL := o.bytes("/archives/hello.tar.gz", helloTarGz)
	o.bytes("/ipfs/"+testCID+"/manifest.json", manifestJSON(archiveURL, helloArchiveSHA))
	e := newEnv(t, func(c *Config) { c.GatewayTemplate = o.srv.URL + "/ipfs/{cid}/manifest.json" })

	if got, want := e.store.ManifestURL(testCID), o.srv.URL+"/ipfs/"+testCID+"/manifest.json"; got != want {
		t.Fatalf("ManifestURL = %q, want %q", got, want)
	}
	rec, err := e.store.Install(ctxT(t), e.store.ManifestURL(testCID), testCID)
	if err != nil {
		t.Fatalf("Install by CID: %v", err)
	}
	if rec.URL != e.store.ManifestURL(testCID) {
		t.Fatalf("record url = %q", rec.URL)
	}
	if _, err := os.Stat(filepath.Join(e.workspace, testCID, "hello.wasm")); err != nil {
		t.Fatalf("hello.wasm: %v", err)
	}
	if !e.store.IsInstalled(testCID) {
		t.Fatal("not installed")
	}
}

func TestInstall_LegacyRuntimeURLTakesHostFromManifestURL(t *testing.T) {
	o := newOrigin(t)
	o.bytes("/legacy/fn.tar.gz", helloTarGz)
	manifestURL := o.bytes("/legacy/manifest.json",
		[]byte(`{"name":"old","deployment":{"uri":"https://wrong.invalid/x"},"runtime":{"url":"/legacy/fn.tar.gz","checksum":"`+helloArchiveSHA+`"}}`))
	e := newEnv(t, nil)

	rec, err := e.store.Install(ctxT(t), manifestURL, testCID)
	if err != nil {
		t.Fatalf("Install: %v", err)
	}
	if want := o.srv.URL + "/legacy/fn.tar.gz"; rec.Manifest.Deployment.URI != want {
		t.Fatalf("deployment.uri = %q, want %q", rec.Manifest.Deployment.URI, want)
	}
}

func TestParseManifest_AllFields(t *testing.T) {
	data := `{"id":"i","name":"n","description":"d","function":{"id":"f","name":"fn","version":"1","runtime":"wasm","extensions":["x"]},
	"deployment":{"cid":"c","checksum":"ab","uri":"https://h/a.tar.gz","methods":[{"name":"m","entry":"_start","arguments":[{"name":"a","value":"b"}],"envvars":[{"name":"E","value":"v"}],"result_type":"string"}],"aggregation":"none","nodes":2,"file":"f"},
	"cached":true,"hooks":[{"k":1}],"fs_root_path":"/r","entry":"e","contentType":"json","permissions":["p"],"drivers_root_path":"/d","limited_fuel":5,"limited_memory":6,"version":2.0}`
	m, err := ParseManifest([]byte(data), "https://h/manifest.json")
	if err != nil {
		t.Fatal(err)
	}
	if m.Function.Extensions[0] != "x" || m.Deployment.Methods[0].EnvVars[0].Value != "v" || m.Deployment.Nodes != 2 ||
		!m.Cached || len(m.Hooks) != 1 || m.LimitedFuel != 5 || m.LimitedMemory != 6 || m.DriversRootPath != "/d" || m.ContentType != "json" {
		t.Fatalf("fields lost: %+v", m)
	}
	// Nested objects are always written, as Go does for struct values (spec §7.4 example).
	b, _ := json.Marshal(Manifest{Name: "hello"})
	if string(b) != `{"name":"hello","function":{},"deployment":{},"runtime":{}}` {
		t.Fatalf("marshal = %s", b)
	}
	if _, err := ParseManifest([]byte("not json"), "https://h/m"); !errors.Is(err, ErrBadManifest) {
		t.Fatalf("bad json: %v", err)
	}
}

// The installer runs one job per CID, but the store must not rely on it: concurrent calls take
// turns, and each after the first finds the function installed.
func TestInstall_ConcurrentCallsFetchOnce(t *testing.T) {
	o := newOrigin(t)
	manifestURL := o.function("hello", helloTarGz)
	e := newEnv(t, nil)

	var wg sync.WaitGroup
	errs := make([]error, 10)
	for i := range errs {
		wg.Go(func() { _, errs[i] = e.store.Install(ctxT(t), manifestURL, testCID) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("Install: %v", err)
		}
	}
	if m, a := o.count("/hello/manifest.json"), o.count("/hello/archive.tar.gz"); m != 1 || a != 1 {
		t.Fatalf("manifest fetched %d times and archive %d times, want 1 and 1", m, a)
	}
	if got := testutil.ToFloat64(e.store.metrics.installed); got != 1 {
		t.Fatalf("b7s_fstore_functions_installed = %v, want 1 attempt", got)
	}
	if n := e.store.writers.len(); n != 0 {
		t.Fatalf("%d per-CID locks left after every writer is done", n)
	}
}

// Which URL to use is the caller's decision; the store does not guess one.
func TestInstall_RequiresManifestURL(t *testing.T) {
	o := newOrigin(t)
	manifestURL := o.function(testCID, helloTarGz)
	e := newEnv(t, func(c *Config) { c.GatewayTemplate = o.srv.URL + "/{cid}/manifest.json" })
	if got := e.store.ManifestURL(testCID); got != manifestURL {
		t.Fatalf("ManifestURL = %q, want %q: the test needs the gateway to serve the function", got, manifestURL)
	}

	_, err := e.store.Install(ctxT(t), "", testCID)
	if err == nil || !strings.Contains(err.Error(), "manifest url is required") || !strings.Contains(err.Error(), testCID) {
		t.Fatalf("Install without a manifest url: err = %v, want one naming the cid and saying the url is required", err)
	}
	if n := o.count("/"+testCID+"/manifest.json") + o.count("/"+testCID+"/archive.tar.gz"); n != 0 {
		t.Fatalf("%d requests to the gateway, want none", n)
	}
	if got := testutil.ToFloat64(e.store.metrics.installed); got != 0 {
		t.Fatalf("b7s_fstore_functions_installed = %v, want no attempt", got)
	}
	assertNotInstalled(t, e, testCID)
}

func TestFunctionPath_RefusesEscapes(t *testing.T) {
	e := newEnv(t, nil)
	for _, m := range []string{"", ".", "..", "../x", "a/../../x", "/etc/passwd", `..\x`, "a\x00b"} {
		if _, err := e.store.FunctionPath(testCID, m); !errors.Is(err, ErrInvalidMethod) {
			t.Errorf("FunctionPath(%q) err = %v, want ErrInvalidMethod", m, err)
		}
	}
	for _, c := range []string{"", ".tmp", "../x", "a/b", ".archives", "t" /* the executor's folder */} {
		if _, err := e.store.FunctionPath(c, "hello.wasm"); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("FunctionPath(cid %q) err = %v, want ErrInvalidCID", c, err)
		}
		if _, err := e.store.Install(ctxT(t), "http://127.0.0.1:1/m", c); !errors.Is(err, ErrInvalidCID) {
			t.Errorf("Install(cid %q) err = %v, want ErrInvalidCID", c, err)
		}
	}
	p, err := e.store.FunctionPath(testCID, "sub/./x.wasm")
	if err != nil || p != filepath.Join(e.workspace, testCID, "sub", "x.wasm") {
		t.Fatalf("FunctionPath nested = %q, %v", p, err)
	}
	if _, err := e.store.Get(testCID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get unknown = %v, want ErrNotFound", err)
	}
}

func TestConfig_Validate(t *testing.T) {
	c := DefaultConfig()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "Workspace: must be set") {
		t.Fatalf("default without workspace: %v", err)
	}
	c.Workspace = t.TempDir()
	if err := c.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	bad := Config{Workspace: "w", GatewayTemplate: "https://gw/manifest.json"}
	err := bad.Validate()
	for _, want := range []string{"{cid}", "MaxManifestBytes: 0 is below the minimum 1", "MaxArchiveBytes: 0", "MaxUnpackedBytes: 0",
		"MaxFiles: 0", "ConnectTimeout: 0s is below the minimum 1ms", "IdleTimeout: 0s"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
	if _, err := New(bad, nil); err == nil {
		t.Fatal("New accepted a bad config")
	}
}

func TestNew_ReusesMetricsOnSameRegistry(t *testing.T) {
	e := newEnv(t, nil)
	cfg := e.store.cfg
	if _, err := New(cfg, e.db); err != nil {
		t.Fatalf("second New on the same registry: %v", err)
	}
}
