//go:build unix

package executor

import "syscall"

// mapMemory reserves size bytes outside the Go heap for a guest's linear memory. Pages are
// committed when the guest first touches them, and given back to the OS at unmapMemory.
func mapMemory(size uint64) ([]byte, error) {
	b, err := syscall.Mmap(-1, 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE,
		syscall.MAP_PRIVATE|syscall.MAP_ANON|syscall.MAP_NORESERVE)
	if err == nil {
		adviseHugePages(b)
	}
	return b, err
}

func unmapMemory(b []byte) { _ = syscall.Munmap(b) }
