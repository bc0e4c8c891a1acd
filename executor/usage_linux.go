//go:build linux

package executor

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU returns the calling OS thread's user and system CPU time. The
// caller must hold runtime.LockOSThread for two readings to be comparable.
func threadCPU() (user, sys time.Duration) {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0, 0
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
