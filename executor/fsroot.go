package executor

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// workDir is <Workspace>/t/<RequestID>; the guest's root is its fs sub-directory.
func (e *Executor) workDir(requestID string) (string, error) {
	if requestID == "" || requestID == "." || requestID == ".." ||
		strings.ContainsAny(requestID, `/\`+"\x00") {
		return "", fmt.Errorf("invalid request id %q", requestID)
	}
	return filepath.Join(e.cfg.Workspace, "t", requestID), nil
}

// prepareFSRoot creates the execution's fs root (keeping whatever a caller
// put there beforehand) and returns its path.
func prepareFSRoot(workDir string) (string, error) {
	root := filepath.Join(workDir, "fs")
	if err := os.MkdirAll(root, 0o700); err != nil {
		return "", fmt.Errorf("create fs root: %w", err)
	}
	return root, nil
}

// guestFS mounts root at / for the guest.
func guestFS(root string) wazero.FSConfig {
	return wazero.NewFSConfig().(sysfs.FSConfig).
		WithSysFSMount(confinedFS{sysfs.DirFS(root)}, "/")
}

// confinedFS is the fs root as the guest sees it. wazero already rejects paths
// that escape the mount ("..", absolute host paths), but it lets a guest create
// a symlink with a relative target such as ../../../etc/passwd and then follows
// it on the host. Refusing symlink creation closes that door: the root starts
// empty (or holds only what the node put there), so no link can lead out.
type confinedFS struct {
	experimentalsys.FS
}

// Symlink implements experimentalsys.FS.
func (confinedFS) Symlink(_, _ string) experimentalsys.Errno {
	return experimentalsys.EPERM
}
