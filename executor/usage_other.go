//go:build !linux

package executor

import "time"

// threadCPU is not available off Linux: CPU usage is reported as zero.
func threadCPU() (user, sys time.Duration) { return 0, 0 }
