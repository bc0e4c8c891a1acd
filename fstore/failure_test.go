package fstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// assertNotInstalled checks a failed install left no trace: no function folder, no kept
// archive, no temporary work, no record.
func assertNotInstalled(t *testing.T, e *testEnv, cid string) {
	t.Helper()
	if e.store.IsInstalled(cid) {
		t.Fatal("IsInstalled = true after a failed install")
	}
	if _, err := e.store.Get(cid); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after failed install: %v", err)
	}
	for _, p := range []string{filepath.Join(e.workspace, cid), e.store.archivePath(cid)} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Fatalf("%s exists after a failed install (%v)", p, err)
		}
	}
	if left, _ := os.ReadDir(filepath.Join(e.workspace, tmpDir)); len(left) != 0 {
		t.Fatalf("temporary work left behind: %v", left)
	}
}

func TestInstall_Failures(t *testing.T) {
	hello := helloTarGz
	cases := []struct {
		name      string
		setup     func(o *origin) string // returns the manifest URL
		mutate    func(*Config)
		want      error // matched with errors.Is when set
		transient bool
		contains  string
	}{
		{
			name: "checksum mismatch",
			setup: func(o *origin) string {
				u := o.bytes("/a.tar.gz", hello)
				return o.bytes("/m.json", manifestJSON(u, strings.Repeat("ab", 32)))
			},
			want: ErrChecksumMismatch, contains: helloArchiveSHA,
		},
		{
			name: "missing checksum",
			setup: func(o *origin) string {
				u := o.bytes("/a.tar.gz", hello)
				return o.bytes("/m.json", manifestJSON(u, ""))
			},
			want: ErrMissingChecksum, contains: "checksum",
		},
		{
			name: "checksum not hex",
			setup: func(o *origin) string {
				u := o.bytes("/a.tar.gz", hello)
				return o.bytes("/m.json", manifestJSON(u, "not-a-sha"))
			},
			want: ErrBadManifest,
		},
		{
			name:     "manifest 404",
			setup:    func(o *origin) string { return o.srv.URL + "/nothing-here.json" },
			contains: "404",
		},
		{
			name: "manifest 500",
			setup: func(o *origin) string {
				return o.handle("/m.json", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
			},
			transient: true, contains: "500",
		},
		{
			name: "manifest 429",
			setup: func(o *origin) string {
				return o.handle("/m.json", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "slow down", 429) })
			},
			transient: true,
		},
		{
			name: "archive 404",
			setup: func(o *origin) string {
				return o.bytes("/m.json", manifestJSON(o.srv.URL+"/gone.tar.gz", helloArchiveSHA))
			},
			contains: "404",
		},
		{
			name: "archive stalls mid-body",
			setup: func(o *origin) string {
				u := o.stall("/a.tar.gz", hello[:1000])
				return o.bytes("/m.json", manifestJSON(u, helloArchiveSHA))
			},
			mutate: func(c *Config) { c.IdleTimeout = 300 * time.Millisecond },
			want:   ErrIdleTimeout, transient: true,
		},
		{
			name:   "manifest stalls before its body",
			setup:  func(o *origin) string { return o.stall("/m.json", nil) },
			mutate: func(c *Config) { c.IdleTimeout = 300 * time.Millisecond },
			want:   ErrIdleTimeout, transient: true,
		},
		{
			name: "archive stalls before its headers",
			setup: func(o *origin) string {
				u := o.handle("/a.tar.gz", func(w http.ResponseWriter, r *http.Request) {
					select {
					case <-o.stop:
					case <-r.Context().Done():
					}
				})
				return o.bytes("/m.json", manifestJSON(u, helloArchiveSHA))
			},
			mutate: func(c *Config) { c.IdleTimeout = 300 * time.Millisecond },
			want:   ErrIdleTimeout, transient: true,
		},
		{
			name: "manifest over the limit (chunked)",
			setup: func(o *origin) string {
				return o.handle("/m.json", func(w http.ResponseWriter, r *http.Request) {
					w.Write([]byte(`{"name":"`))
					for range 8 {
						w.Write(bytes.Repeat([]byte("x"), 1024))
						w.(http.Flusher).Flush()
					}
					w.Write([]byte(`"}`))
				})
			},
			mutate: func(c *Config) { c.MaxManifestBytes = 4096 },
			want:   ErrTooLarge,
		},
		{
			name: "manifest over the limit (content length)",
			setup: func(o *origin) string {
				return o.bytes("/m.json", append(manifestJSON("http://x/a", helloArchiveSHA), bytes.Repeat([]byte(" "), 8192)...))
			},
			mutate: func(c *Config) { c.MaxManifestBytes = 4096 },
			want:   ErrTooLarge,
		},
		{
			name: "archive over the limit",
			setup: func(o *origin) string {
				u := o.bytes("/a.tar.gz", hello)
				return o.bytes("/m.json", manifestJSON(u, helloArchiveSHA))
			},
			mutate: func(c *Config) { c.MaxArchiveBytes = 8 << 10 },
			want:   ErrTooLarge,
		},
		{
			name: "archive over the limit (chunked)",
			setup: func(o *origin) string {
				u := o.handle("/a.tar.gz", func(w http.ResponseWriter, r *http.Request) {
					for i := 0; i < len(hello); i += 4096 {
						w.Write(hello[i:min(i+4096, len(hello))])
						w.(http.Flusher).Flush()
					}
				})
				return o.bytes("/m.json", manifestJSON(u, helloArchiveSHA))
			},
			mutate: func(c *Config) { c.MaxArchiveBytes = 8 << 10 },
			want:   ErrTooLarge,
		},
		{
			name: "not a gzip archive",
			setup: func(o *origin) string {
				body := []byte("this is not an archive")
				u := o.bytes("/a.tar.gz", body)
				return o.bytes("/m.json", manifestJSON(u, sha256Hex(body)))
			},
			want: ErrBadArchive,
		},
		{
			name: "manifest without uri",
			setup: func(o *origin) string {
				return o.bytes("/m.json", []byte(`{"deployment":{"checksum":"`+helloArchiveSHA+`"}}`))
			},
			want: ErrBadManifest,
		},
		{
			name: "connection refused",
			setup: func(o *origin) string {
				l, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				addr := l.Addr().String()
				l.Close()
				return "http://" + addr + "/m.json"
			},
			transient: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			o := newOrigin(t)
			manifestURL := tc.setup(o)
			e := newEnv(t, tc.mutate)
			_, err := e.store.Install(ctxT(t), manifestURL, testCID)
			if err == nil {
				t.Fatal("Install succeeded")
			}
			t.Logf("error: %v", err)
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("error %v does not match %v", err, tc.want)
			}
			if got := IsTransient(err); got != tc.transient {
				t.Fatalf("IsTransient = %v, want %v", got, tc.transient)
			}
			if tc.contains != "" && !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %q does not mention %q", err, tc.contains)
			}
			if !strings.Contains(err.Error(), testCID) {
				t.Fatalf("error %q does not name the cid", err)
			}
			assertNotInstalled(t, e, testCID)
			if got := testutil.ToFloat64(e.store.metrics.failed); got != 1 {
				t.Fatalf("installed_err = %v, want 1", got)
			}
		})
	}
}

func TestInstall_MissingChecksumNeverDownloads(t *testing.T) {
	o := newOrigin(t)
	u := o.bytes("/a.tar.gz", helloTarGz)
	manifestURL := o.bytes("/m.json", manifestJSON(u, ""))
	e := newEnv(t, nil)
	if _, err := e.store.Install(ctxT(t), manifestURL, testCID); !errors.Is(err, ErrMissingChecksum) {
		t.Fatalf("err = %v", err)
	}
	if n := o.count("/a.tar.gz"); n != 0 {
		t.Fatalf("archive fetched %d times without a checksum to check it against", n)
	}
}

func TestInstall_CancelledContextIsNotTransient(t *testing.T) {
	o := newOrigin(t)
	e := newEnv(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	u := o.handle("/a.tar.gz", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("x"))
		w.(http.Flusher).Flush()
		cancel() // the caller gives up while the body is flowing
		<-r.Context().Done()
	})
	manifestURL := o.bytes("/m.json", manifestJSON(u, helloArchiveSHA))
	_, err := e.store.Install(ctx, manifestURL, testCID)
	if !errors.Is(err, context.Canceled) || IsTransient(err) {
		t.Fatalf("err = %v (transient %v), want a non-transient context.Canceled", err, IsTransient(err))
	}
	assertNotInstalled(t, e, testCID)
}

// pacedBody yields one byte per step, pausing between steps (virtual time under synctest).
type pacedBody struct {
	data  []byte
	pause time.Duration
}

func (p *pacedBody) Read(b []byte) (int, error) {
	if len(p.data) == 0 {
		return 0, io.EOF
	}
	time.Sleep(p.pause)
	n := copy(b, p.data[:min(len(p.data), 512)])
	p.data = p.data[n:]
	return n, nil
}

func (p *pacedBody) Close() error { return nil }

// roundTripFunc serves requests in-process, so the test can run in a synctest bubble.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// A slow but live download is never cut off: the idle timeout resets on progress, even when
// the whole transfer takes many idle timeouts.
func TestInstall_IdleTimeoutResetsOnProgress(t *testing.T) {
	hello := helloTarGz
	synctest.Test(t, func(t *testing.T) {
		const idle = time.Second
		transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			body := &pacedBody{data: hello, pause: idle / 2}
			if strings.HasSuffix(r.URL.Path, "manifest.json") {
				body = &pacedBody{data: manifestJSON("http://origin.test/a.tar.gz", helloArchiveSHA)}
			}
			return &http.Response{StatusCode: 200, Body: body, ContentLength: -1, Request: r, Header: http.Header{}}, nil
		})
		e := newEnv(t, func(c *Config) {
			c.IdleTimeout = idle
			c.Transport = transport
		})
		start := time.Now()
		if _, err := e.store.Install(t.Context(), "http://origin.test/manifest.json", testCID); err != nil {
			t.Fatalf("Install: %v", err)
		}
		if took := time.Since(start); took < 10*idle {
			t.Fatalf("transfer took %s of virtual time; the test needs it to outlast the idle timeout many times", took)
		}
		if !e.store.IsInstalled(testCID) {
			t.Fatal("not installed")
		}
	})
}

func TestInstall_NothingLeftInWorkspaceParent(t *testing.T) {
	o := newOrigin(t)
	u := o.bytes("/a.tar.gz", helloTarGz)
	manifestURL := o.bytes("/m.json", manifestJSON(u, strings.Repeat("00", 32)))
	e := newEnv(t, nil)
	before := snapshot(t, e.parent)
	if _, err := e.store.Install(ctxT(t), manifestURL, testCID); !errors.Is(err, ErrChecksumMismatch) {
		t.Fatalf("err = %v", err)
	}
	if after := snapshot(t, e.parent); !slices.Equal(before, after) {
		t.Fatalf("workspace parent changed:\nbefore %v\nafter  %v", before, after)
	}
}
