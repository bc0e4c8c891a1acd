package executor

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

const (
	rdwr   = experimentalsys.O_RDWR
	create = experimentalsys.O_RDWR | experimentalsys.O_CREAT
	trunc  = experimentalsys.O_RDWR | experimentalsys.O_CREAT | experimentalsys.O_TRUNC
	appnd  = experimentalsys.O_RDWR | experimentalsys.O_CREAT | experimentalsys.O_APPEND
)

// quotaRoot is an fsRoot on a fresh directory with a quota of limit bytes.
func quotaRoot(t *testing.T, limit int64) *fsRoot {
	t.Helper()
	return newFSRoot(t.TempDir(), limit)
}

func mustOpen(t *testing.T, r *fsRoot, path string, flag experimentalsys.Oflag) experimentalsys.File {
	t.Helper()
	f, errno := r.OpenFile(path, flag, 0o600)
	if errno != 0 {
		t.Fatalf("open %s: %v", path, errno)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// wantRefused checks that an operation failed for lack of room and marked the quota.
func wantRefused(t *testing.T, r *fsRoot, what string, errno experimentalsys.Errno) {
	t.Helper()
	if errno != experimentalsys.EIO || !r.quota.refused || !r.quota.exceeded {
		t.Fatalf("%s: errno %v, refused %v, exceeded %v; want the quota's refusal", what, errno, r.quota.refused, r.quota.exceeded)
	}
	r.quota.refused = false
}

func wantOK(t *testing.T, what string, errno experimentalsys.Errno) {
	t.Helper()
	if errno != 0 {
		t.Fatalf("%s: %v", what, errno)
	}
}

func onDisk(t *testing.T, r *fsRoot, name string) int64 {
	t.Helper()
	fi, err := os.Stat(filepath.Join(r.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func TestFSQuota_WritesFillTheQuotaThenFail(t *testing.T) {
	r := quotaRoot(t, entryCost+10_000)
	f := mustOpen(t, r, "data", create)
	if n, errno := f.Write(make([]byte, 6_000)); n != 6_000 || errno != 0 {
		t.Fatalf("first write: %d, %v", n, errno)
	}
	// Only 4,000 bytes are left: a short write, as on a disk that fills up, then a refusal.
	if n, errno := f.Write(make([]byte, 6_000)); n != 4_000 || errno != 0 {
		t.Fatalf("second write: %d, %v; want 4000 written", n, errno)
	}
	n, errno := f.Write([]byte{1})
	wantRefused(t, r, "write past the quota", errno)
	if n != 0 || onDisk(t, r, "data") != 10_000 {
		t.Fatalf("wrote %d, file holds %d bytes", n, onDisk(t, r, "data"))
	}
	// Rewriting bytes in place grows nothing.
	_, errno = f.Seek(0, io.SeekStart)
	wantOK(t, "seek", errno)
	if n, errno := f.Write(make([]byte, 10_000)); n != 10_000 || errno != 0 {
		t.Fatalf("rewrite in place: %d, %v", n, errno)
	}
	if n, errno := f.Pwrite(make([]byte, 100), 9_900); n != 100 || errno != 0 {
		t.Fatalf("pwrite in place: %d, %v", n, errno)
	}
	_, errno = f.Pwrite([]byte{1}, 10_000)
	wantRefused(t, r, "pwrite past the end", errno)
}

func TestFSQuota_ExtendingByOffsetTruncateOrAppendIsCharged(t *testing.T) {
	const limit = entryCost + 1<<20
	tests := map[string]func(t *testing.T, f experimentalsys.File) experimentalsys.Errno{
		"seek far, write one byte": func(t *testing.T, f experimentalsys.File) experimentalsys.Errno {
			_, errno := f.Seek(1<<30, io.SeekStart)
			wantOK(t, "seek", errno)
			_, errno = f.Write([]byte{1})
			return errno
		},
		"pwrite far": func(t *testing.T, f experimentalsys.File) experimentalsys.Errno {
			_, errno := f.Pwrite([]byte{1}, 1<<30)
			return errno
		},
		"truncate up (fd_filestat_set_size, fd_allocate)": func(t *testing.T, f experimentalsys.File) experimentalsys.Errno {
			return f.Truncate(1 << 30)
		},
	}
	for name, grow := range tests {
		t.Run(name, func(t *testing.T) {
			r := quotaRoot(t, limit)
			f := mustOpen(t, r, "sparse", create)
			wantRefused(t, r, name, grow(t, f))
			if size := onDisk(t, r, "sparse"); size != 0 {
				t.Fatalf("the file grew to %d bytes", size)
			}
			wantOK(t, "truncate within the quota", f.Truncate(1<<20))
			wantRefused(t, r, "one byte more", f.Truncate(1<<20+1))
			wantOK(t, "truncate down", f.Truncate(0))
			if r.quota.used != entryCost {
				t.Fatalf("used %d after truncating to 0, want one entry", r.quota.used)
			}
		})
	}
	t.Run("append mode writes at the end", func(t *testing.T) {
		r := quotaRoot(t, entryCost+100)
		f := mustOpen(t, r, "log", appnd)
		for range 10 {
			if n, errno := f.Write(make([]byte, 10)); n != 10 || errno != 0 {
				t.Fatalf("append: %d %v", n, errno)
			}
		}
		_, errno := f.Seek(0, io.SeekStart) // an append still lands at the end
		wantOK(t, "seek", errno)
		_, errno = f.Write([]byte{1})
		wantRefused(t, r, "append past the quota", errno)
	})
}

func TestFSQuota_EntriesAreChargedAndGivenBack(t *testing.T) {
	r := quotaRoot(t, 3*entryCost)
	mustOpen(t, r, "a", create)
	wantOK(t, "mkdir", r.Mkdir("d", 0o700))
	wantOK(t, "link", r.Link("a", "d/b"))
	_, errno := r.OpenFile("c", create, 0o600)
	wantRefused(t, r, "a fourth file", errno)
	wantRefused(t, r, "a fourth directory", r.Mkdir("e", 0o700))
	wantRefused(t, r, "a fourth name", r.Link("a", "f"))
	if _, err := os.Stat(filepath.Join(r.dir, "c")); !os.IsNotExist(err) {
		t.Fatalf("refused file exists: %v", err)
	}
	// Opening an existing file with O_CREAT makes no entry.
	mustOpen(t, r, "a", create)

	wantOK(t, "unlink", r.Unlink("d/b"))
	wantOK(t, "rmdir", r.Rmdir("d"))
	if r.quota.used != entryCost {
		t.Fatalf("used %d after removing two entries, want one", r.quota.used)
	}
	mustOpen(t, r, "c", create)
	mustOpen(t, r, "e", create)
	if r.quota.used != 3*entryCost {
		t.Fatalf("used %d, want three entries", r.quota.used)
	}
}

func TestFSQuota_DeletedBytesComeBackWhenNoHandleHoldsThem(t *testing.T) {
	const data = 50_000
	r := quotaRoot(t, entryCost+data)
	f := mustOpen(t, r, "tmp", create)
	if n, errno := f.Write(make([]byte, data)); n != data || errno != 0 {
		t.Fatalf("write: %d %v", n, errno)
	}
	reader := mustOpen(t, r, "tmp", rdwr)
	wantOK(t, "unlink", r.Unlink("tmp"))
	// Still open: the bytes still take disk, so nothing came back but the entry.
	if r.quota.used != data {
		t.Fatalf("used %d with the deleted file open, want %d", r.quota.used, data)
	}
	wantOK(t, "close", f.Close())
	if r.quota.used != data {
		t.Fatalf("used %d with one handle left, want %d", r.quota.used, data)
	}
	wantOK(t, "close", reader.Close())
	if r.quota.used != 0 {
		t.Fatalf("used %d after the last close, want 0", r.quota.used)
	}
	// A guest that writes, deletes and writes again stays within its quota.
	for i := range 5 {
		f := mustOpen(t, r, "tmp", create)
		if n, errno := f.Write(make([]byte, data)); n != data || errno != 0 {
			t.Fatalf("round %d: %d %v", i, n, errno)
		}
		wantOK(t, "close", f.Close())
		wantOK(t, "unlink", r.Unlink("tmp"))
	}
}

func TestFSQuota_RenameOverAFileGivesItBack(t *testing.T) {
	r := quotaRoot(t, 2*entryCost+20_000)
	for _, name := range []string{"old", "new"} {
		f := mustOpen(t, r, name, create)
		if _, errno := f.Write(make([]byte, 10_000)); errno != 0 {
			t.Fatal(errno)
		}
		wantOK(t, "close", f.Close())
	}
	wantOK(t, "rename over", r.Rename("new", "old"))
	if r.quota.used != entryCost+10_000 {
		t.Fatalf("used %d after renaming over a file, want one file", r.quota.used)
	}
	wantOK(t, "rename onto itself", r.Rename("old", "old"))
	if r.quota.used != entryCost+10_000 {
		t.Fatalf("used %d after renaming a file onto itself", r.quota.used)
	}
}

func TestFSQuota_FilesTheNodePutThereAreFree(t *testing.T) {
	r := quotaRoot(t, 1000)
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(r.dir, "input"), make([]byte, 100_000), 0o600); err != nil {
		t.Fatal(err)
	}
	f := mustOpen(t, r, "input", rdwr)
	if n, errno := f.Write(make([]byte, 100_000)); n != 100_000 || errno != 0 {
		t.Fatalf("rewrite of the node's file: %d %v", n, errno)
	}
	if n, errno := f.Write(make([]byte, 2000)); n != 1000 || errno != 0 {
		t.Fatalf("growth past it: %d %v, want 1000", n, errno)
	}
	// Truncating the node's file and writing it again gains nothing.
	g := mustOpen(t, r, "input", trunc)
	if n, errno := g.Write(make([]byte, 101_000)); n != 101_000 || errno != 0 {
		t.Fatalf("write back to the old size: %d %v", n, errno)
	}
	_, errno := g.Write([]byte{1})
	wantRefused(t, r, "past the node's size plus the quota", errno)
	// Deleting it gives back only what the guest added.
	wantOK(t, "close", f.Close())
	wantOK(t, "close", g.Close())
	wantOK(t, "unlink", r.Unlink("input"))
	if r.quota.used != 0 {
		t.Fatalf("used %d", r.quota.used)
	}
}

func TestFSQuota_ZeroAllowsReadingOnly(t *testing.T) {
	r := quotaRoot(t, 0)
	_, errno := r.OpenFile("x", create, 0o600)
	wantRefused(t, r, "create", errno)
	if _, errno := r.Stat("."); errno != 0 {
		t.Fatalf("stat of the root: %v", errno)
	}
}
