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
// Only the goroutine running the guest uses it.
type fsRoot struct {
	dir     string
	fs      experimentalsys.FS
	created bool
	err     experimentalsys.Errno
}

func newFSRoot(workDir string) *fsRoot {
	dir := filepath.Join(workDir, "fs")
	return &fsRoot{dir: dir, fs: sysfs.DirFS(dir)}
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
	return r.fs.OpenFile(path, flag, perm)
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

// Mkdir implements experimentalsys.FS.
func (r *fsRoot) Mkdir(path string, perm fs.FileMode) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Mkdir(path, perm)
}

// Chmod implements experimentalsys.FS.
func (r *fsRoot) Chmod(path string, perm fs.FileMode) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Chmod(path, perm)
}

// Rename implements experimentalsys.FS.
func (r *fsRoot) Rename(from, to string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Rename(from, to)
}

// Rmdir implements experimentalsys.FS.
func (r *fsRoot) Rmdir(path string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Rmdir(path)
}

// Unlink implements experimentalsys.FS.
func (r *fsRoot) Unlink(path string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Unlink(path)
}

// Link implements experimentalsys.FS.
func (r *fsRoot) Link(oldPath, newPath string) experimentalsys.Errno {
	if errno := r.ensure(); errno != 0 {
		return errno
	}
	return r.fs.Link(oldPath, newPath)
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
