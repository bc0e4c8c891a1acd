package fstore

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Each hostile archive is served with a correct checksum, so only the unpacker stands between
// it and the disk. It must be refused, permanently, leaving the workspace's parent as it was.
func TestInstall_RefusesHostileArchives(t *testing.T) {
	manyFiles := make([]tarEntry, 100_000)
	for i := range manyFiles {
		manyFiles[i] = tarEntry{Name: fmt.Sprintf("f%06d", i)} // empty: the count is what matters
	}
	cases := []struct {
		name     string
		entries  []tarEntry
		want     error
		contains string
	}{
		{name: "dot-dot path", entries: []tarEntry{{Name: "ok.txt", Body: []byte("ok")}, {Name: "../../etc/x", Body: []byte("pwn")}}, want: ErrUnsafeArchive, contains: "../../etc/x"},
		{name: "dot-dot after cleaning", entries: []tarEntry{{Name: "a/../../x", Body: []byte("pwn")}}, want: ErrUnsafeArchive},
		{name: "absolute path", entries: []tarEntry{{Name: "/abs", Body: []byte("pwn")}}, want: ErrUnsafeArchive, contains: "absolute"},
		{name: "symlink to root", entries: []tarEntry{{Name: "root", Type: tar.TypeSymlink, Linkname: "/"}}, want: ErrUnsafeArchive, contains: "symlink"},
		{name: "symlink up", entries: []tarEntry{{Name: "d/up", Type: tar.TypeSymlink, Linkname: "../../.."}}, want: ErrUnsafeArchive},
		{
			// Each link alone stays inside; together b resolves to the folder's parent.
			name: "symlink chain out",
			entries: []tarEntry{
				{Name: "a", Type: tar.TypeSymlink, Linkname: "."},
				{Name: "b", Type: tar.TypeSymlink, Linkname: "a/.."},
			},
			want: ErrUnsafeArchive,
		},
		{
			name: "write through an escaping symlink",
			entries: []tarEntry{
				{Name: "a", Type: tar.TypeSymlink, Linkname: "."},
				{Name: "b", Type: tar.TypeSymlink, Linkname: "a/.."},
				{Name: "b/planted", Body: []byte("pwn")},
			},
			want: ErrUnsafeArchive,
		},
		{name: "hardlink out", entries: []tarEntry{{Name: "passwd", Type: tar.TypeLink, Linkname: "../../../../etc/passwd"}}, want: ErrUnsafeArchive, contains: "hardlink"},
		{name: "hardlink absolute", entries: []tarEntry{{Name: "passwd", Type: tar.TypeLink, Linkname: "/etc/passwd"}}, want: ErrUnsafeArchive},
		{name: "char device", entries: []tarEntry{{Name: "null", Type: tar.TypeChar}}, want: ErrUnsafeArchive, contains: "device"},
		{name: "block device", entries: []tarEntry{{Name: "sda", Type: tar.TypeBlock}}, want: ErrUnsafeArchive},
		{name: "fifo", entries: []tarEntry{{Name: "pipe", Type: tar.TypeFifo}}, want: ErrUnsafeArchive, contains: "fifo"},
		{name: "100k tiny files", entries: manyFiles, want: ErrTooLarge, contains: "more than 1000 entries"},
		{name: "gzip bomb", entries: bombEntries, want: ErrTooLarge, contains: "unpacked size"},
		{name: "duplicate entry", entries: []tarEntry{{Name: "x", Body: []byte("1")}, {Name: "./x", Body: []byte("2")}}, want: ErrBadArchive, contains: "duplicate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			archive := buildTarGzCached(t, tc.name, tc.entries...)
			o := newOrigin(t)
			manifestURL := o.function("hostile", archive)
			e := newEnv(t, func(c *Config) {
				c.MaxFiles = 1000
				c.MaxUnpackedBytes = 1 << 20
			})
			before := snapshot(t, e.parent)

			_, err := e.store.Install(ctxT(t), manifestURL, testCID)
			if err == nil {
				t.Fatal("hostile archive installed")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v does not match %v", err, tc.want)
			}
			if IsTransient(err) {
				t.Fatal("hostile archive reported as transient")
			}
			if tc.contains != "" && !strings.Contains(err.Error(), tc.contains) {
				t.Fatalf("error %q does not mention %q", err, tc.contains)
			}
			if after := snapshot(t, e.parent); !slices.Equal(before, after) {
				t.Fatalf("workspace parent changed:\nbefore %v\nafter  %v", before, after)
			}
			assertNotInstalled(t, e, testCID)
		})
	}
}

// countingReader counts the compressed bytes the unpacker pulled.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n += int64(n)
	return n, err
}

// The unpacker stops while reading: a bomb is refused at its header, and many files that are
// each fine stop at the one that crosses the limit, long before the end of the stream.
func TestUnpack_StopsEarlyOnLimits(t *testing.T) {
	const limit = 1 << 20
	cases := []struct {
		name    string
		entries []tarEntry
	}{
		{name: "gzip bomb", entries: bombEntries},
		{name: "many fair-sized files", entries: func() []tarEntry {
			var es []tarEntry
			for i := range 64 {
				es = append(es, tarEntry{Name: fmt.Sprintf("part%02d", i), Zero: true, Size: 256 << 10})
			}
			return es
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			archive := buildTarGzCached(t, tc.name, tc.entries...)
			dir := t.TempDir()
			src := &countingReader{r: bytes.NewReader(archive)}
			st, err := unpack(context.Background(), src, dir, unpackLimits{maxBytes: limit, maxFiles: 100})
			if !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unpack err = %v, want ErrTooLarge", err)
			}
			if st.bytes > limit {
				t.Fatalf("wrote %d bytes, over the %d limit", st.bytes, limit)
			}
			if src.n > int64(len(archive))/4 {
				t.Fatalf("read %d of %d compressed bytes before stopping", src.n, len(archive))
			}
			var written int64
			filepath.Walk(dir, func(_ string, fi os.FileInfo, _ error) error {
				if fi != nil && fi.Mode().IsRegular() {
					written += fi.Size()
				}
				return nil
			})
			if written > limit {
				t.Fatalf("%d bytes on disk, over the limit", written)
			}
		})
	}
}

// The directories made for an entry's name count against the entry limit: one deep name must not
// create a directory per path segment on one entry's share.
func TestUnpack_DirectoriesMadeForNamesCountAsEntries(t *testing.T) {
	deep := strings.Repeat("d/", 200) + "f"
	for name, tc := range map[string]struct {
		entries []tarEntry
		ok      bool
	}{
		"deep name":                 {[]tarEntry{{Name: deep, Body: []byte("x")}}, false},
		"within the limit":          {[]tarEntry{{Name: "a/b/c/f", Body: []byte("x")}, {Name: "a/b/g", Body: []byte("y")}}, true},
		"shared parents count once": {[]tarEntry{{Name: "a/b/f1"}, {Name: "a/b/f2"}, {Name: "a/b/f3"}}, true},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			const maxFiles = 5
			_, err := unpack(context.Background(), bytes.NewReader(buildTarGz(t, tc.entries...)), dir, unpackLimits{maxBytes: 1 << 20, maxFiles: maxFiles})
			if tc.ok != (err == nil) || (err != nil && !errors.Is(err, ErrTooLarge)) {
				t.Fatalf("unpack: %v, want ok=%v or ErrTooLarge", err, tc.ok)
			}
			var onDisk int
			filepath.Walk(dir, func(p string, _ os.FileInfo, _ error) error {
				if p != dir {
					onDisk++
				}
				return nil
			})
			if onDisk > maxFiles {
				t.Fatalf("%d entries on disk, over the limit of %d", onDisk, maxFiles)
			}
		})
	}
}

// A directory entry where an earlier entry put something else is a bad archive, even when that
// is a link to a directory: the tree would not be what the archive says (found by FuzzUnpack).
func TestUnpack_DirectoryOverAnotherKindIsBad(t *testing.T) {
	for name, first := range map[string]tarEntry{
		"link to the folder": {Name: "a", Type: tar.TypeSymlink, Linkname: "."},
		"link to a dir":      {Name: "a", Type: tar.TypeSymlink, Linkname: "d"},
		"file":               {Name: "a", Body: []byte("x")},
	} {
		t.Run(name, func(t *testing.T) {
			archive := buildTarGz(t, tarEntry{Name: "d/", Type: tar.TypeDir}, first, tarEntry{Name: "a/", Type: tar.TypeDir})
			_, err := unpack(context.Background(), bytes.NewReader(archive), t.TempDir(), unpackLimits{maxBytes: 1 << 20, maxFiles: 10})
			if !errors.Is(err, ErrBadArchive) {
				t.Fatalf("unpack: %v, want ErrBadArchive", err)
			}
		})
	}
	// A directory listed twice, or after a file in it, is fine.
	archive := buildTarGz(t, tarEntry{Name: "d/f", Body: []byte("x")}, tarEntry{Name: "d/", Type: tar.TypeDir}, tarEntry{Name: "d/", Type: tar.TypeDir})
	if _, err := unpack(context.Background(), bytes.NewReader(archive), t.TempDir(), unpackLimits{maxBytes: 1 << 20, maxFiles: 10}); err != nil {
		t.Fatalf("unpack: %v", err)
	}
}

// Links that stay inside are fine, and so are directories and executable bits.
func TestUnpack_AcceptsInnocentLinksAndDirs(t *testing.T) {
	archive := buildTarGz(t,
		tarEntry{Name: "./", Type: tar.TypeDir, Mode: 0o755},
		tarEntry{Name: "bin/", Type: tar.TypeDir, Mode: 0o755},
		tarEntry{Name: "bin/run.wasm", Body: []byte("wasm"), Mode: 0o755},
		tarEntry{Name: "lib/data.txt", Body: []byte("data"), Mode: 0o4777},
		tarEntry{Name: "bin/data", Type: tar.TypeSymlink, Linkname: "../lib/data.txt"},
		tarEntry{Name: "copy.wasm", Type: tar.TypeLink, Linkname: "bin/run.wasm"},
	)
	dir := t.TempDir()
	st, err := unpack(context.Background(), bytes.NewReader(archive), dir, unpackLimits{maxBytes: 1 << 20, maxFiles: 10})
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	// Five entries ("./" is the folder itself) and lib/, made for lib/data.txt.
	if st.entries != 6 || st.bytes != 8 {
		t.Fatalf("stats = %+v", st)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bin", "data")); err != nil || string(b) != "data" {
		t.Fatalf("read through symlink = %q, %v", b, err)
	}
	fi, err := os.Stat(filepath.Join(dir, "lib", "data.txt"))
	if err != nil || fi.Mode().Perm() != 0o755 || fi.Mode()&(os.ModeSetuid) != 0 {
		t.Fatalf("mode of lib/data.txt = %v, %v (want 0755, no setuid)", fi.Mode(), err)
	}
	if err := verifyTree(context.Background(), writeTemp(t, archive), dir, unpackLimits{maxBytes: 1 << 20, maxFiles: 10}); err != nil {
		t.Fatalf("verifyTree on a fresh tree: %v", err)
	}
}

func writeTemp(t *testing.T, b []byte) string {
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// bombEntries is a single 64 MiB file of zeros: about 64 KiB once compressed.
var bombEntries = []tarEntry{{Name: "zeros", Zero: true, Size: 64 << 20}}

var archiveCache sync.Map // name -> func() []byte (sync.OnceValue)

// buildTarGzCached builds an archive once per name; big hostile archives are slow to make
// under the race detector and two tests use the same bomb.
func buildTarGzCached(t testing.TB, name string, entries ...tarEntry) []byte {
	f, _ := archiveCache.LoadOrStore(name, sync.OnceValue(func() []byte { return buildTarGz(t, entries...) }))
	return f.(func() []byte)()
}
