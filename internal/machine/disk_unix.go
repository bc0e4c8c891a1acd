//go:build unix

package machine

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// FreeDisk is the space in bytes an unprivileged process may still write on the filesystem
// that holds path (or, when path does not exist yet, its nearest existing parent).
func FreeDisk(path string) (int64, error) {
	dir := existingParent(path)
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("free disk of %s: %w", dir, err)
	}
	// The field types differ between systems.
	return int64(st.Bavail) * int64(st.Bsize), nil
}

// existingParent is path, or its nearest parent that exists.
func existingParent(path string) string {
	for {
		if _, err := os.Stat(path); err == nil {
			return path
		}
		parent := filepath.Dir(path)
		if parent == path {
			return path
		}
		path = parent
	}
}
