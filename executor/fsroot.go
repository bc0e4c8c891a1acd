package executor

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// workDir is <Workspace>/t/<RequestID>; the guest's root is its fs sub-directory.
func (e *Executor) workDir(requestID string) (string, error) {
	if requestID == "" || requestID == "." || requestID == ".." ||
		strings.ContainsAny(requestID, `/\`+"\x00") {
		return "", fmt.Errorf("invalid request id %q", requestID)
	}
	return filepath.Join(e.cfg.Workspace, "t", requestID), nil
}

// guestFS mounts the execution's fs root at / for the guest.
func guestFS(root *fsRoot) wazero.FSConfig {
	return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(root, "/")
}

// fsRoot is the execution's filesystem root, <workDir>/fs, as the guest sees it.
//
// It is created on the guest's first filesystem call, not before the run:
// wazero opens a preopen lazily too, so the guest cannot tell the difference,
// and most functions never touch the filesystem (creating and removing two
// directories per execution costs more than the whole execution on some
// disks). Whatever a caller put there beforehand is kept.
//
// wazero already rejects paths that leave the mount ("..", absolute host
// paths), but it lets a guest create a symlink with a relative target such as
// ../../../etc/passwd and then follows it on the host. Symlink creation is
// refused: the root starts empty (or holds only what the node put there), so
// no link can lead out.
//
// What the guest adds to it is held to a quota (fsQuota), enforced as it writes.
//
// Only the goroutine running the guest uses it.
type fsRoot struct {
	dir     string
	fs      experimentalsys.FS
	quota   *fsQuota
	created bool
	err     experimentalsys.Errno
}

func newFSRoot(workDir string, quota int64) *fsRoot {
	dir := filepath.Join(workDir, "fs")
	return &fsRoot{dir: dir, fs: sysfs.DirFS(dir), quota: newFSQuota(quota)}
}

// ensure creates the directory once.
func (r *fsRoot) ensure() experimentalsys.Errno {
	if !r.created {
		r.created = true
		if err := os.MkdirAll(r.dir, 0o700); err != nil {
			r.err = experimentalsys.EIO
		}
	}
	return r.err
}

// OpenFile implements experimentalsys.FS.
func (r *fsRoot) OpenFile(path string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if errno := r.ensure(); errno != 0 {
		return nil, errno
	}
	return r.quota.openFile(r.fs, path, flag, perm)
}

// Lstat implements experimentalsys.FS.
func (r *fsRoot) Lstat(path string) (sys.Stat_t, experimentalsys.Errno) {
	if errno := r.ensure(); errno != 0 {
		return sys.Stat_t{}, errno
	}
	return r.fs.Lstat(path)
}

// Stat implements experimentalsys.FS.
func (r *fsRoot) Stat(path string) (sys.Stat_t, experimentalsys.Errno) {
	if errno := r.ensure(); errno != 0 {
		return sys.Stat_t{}, errno
	}
	return r.fs.Stat(path)
}

// Mkdir implements experimentalsys.FS. The new directory is charged one entry.
func (r *fsRoot) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.createEntry(path, func() experimentalsys.Errno { return r.fs.Mkdir(path, perm) })
}

// createEntry runs create, which makes the entry path, and charges one entry for it.
func (r *fsRoot) createEntry(path string, create func() experimentalsys.Errno) experimentalsys.Errno {
	if errno := r.quota.chargeEntry(); errno != 0 {
		return errno
	}
	if errno := create(); errno != 0 {
		r.quota.refundEntry()
		return errno
	}
	st, errno := r.fs.Lstat(path)
	if errno != 0 {
		return 0 // made, but gone already: keep the charge
	}
	r.quota.record(st, st.Size).entries++
	return 0
}

// removeEntry runs remove, which removes the entry path, and gives back what the entry held.
func (r *fsRoot) removeEntry(path string, remove func() experimentalsys.Errno) experimentalsys.Errno {
	st, statErr := r.fs.Lstat(path)
	if errno := remove(); errno != 0 {
		return errno
	}
	if statErr == 0 {
		r.quota.removed(st)
	}
	return 0
}

// Chmod implements experimentalsys.FS.
func (r *fsRoot) Chmod(path string, perm fs.FileMode) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Chmod(path, perm)
}

// Rename implements experimentalsys.FS. An entry it replaces is removed.
func (r *fsRoot) Rename(from, to string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	src, srcErr := r.fs.Lstat(from)
	dst, dstErr := r.fs.Lstat(to)
	if errno := r.fs.Rename(from, to); errno != 0 {
		return errno
	}
	if srcErr == 0 && dstErr == 0 && keyOf(src) != keyOf(dst) {
		r.quota.removed(dst)
	}
	return 0
}

// Rmdir implements experimentalsys.FS.
func (r *fsRoot) Rmdir(path string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.removeEntry(path, func() experimentalsys.Errno { return r.fs.Rmdir(path) })
}

// Unlink implements experimentalsys.FS.
func (r *fsRoot) Unlink(path string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.removeEntry(path, func() experimentalsys.Errno { return r.fs.Unlink(path) })
}

// Link implements experimentalsys.FS. The new name is charged one entry.
func (r *fsRoot) Link(oldPath, newPath string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.createEntry(newPath, func() experimentalsys.Errno { return r.fs.Link(oldPath, newPath) })
}

// Symlink implements experimentalsys.FS: refused, see fsRoot.
func (r *fsRoot) Symlink(_, _ string) experimentalsys.Errno {
	return experimentalsys.EPERM
}

// Readlink implements experimentalsys.FS.
func (r *fsRoot) Readlink(path string) (string, experimentalsys.Errno) {
	if errno := r.ensure(); errno != 0 {
		return "", errno
	}
	return r.fs.Readlink(path)
}

// Utimens implements experimentalsys.FS.
func (r *fsRoot) Utimens(path string, atim, mtim int64) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Utimens(path, atim, mtim)
}
