//go:build !unix

package executor

import "errors"

// mapMemory is not available: large guest memories stay on the Go heap.
func mapMemory(uint64) ([]byte, error) { return nil, errors.New("no mmap on this platform") }

func unmapMemory([]byte) {}
