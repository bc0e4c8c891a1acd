// Package machine reads what the machine a node runs on can give its functions: the memory the
// process may use (the smallest of the physical memory and every cgroup memory limit that
// applies to the process) and the free space of the filesystem that holds a path. A worker
// derives its default budgets for guests from these (package executor).
//
// It reads files and asks the kernel; it decides nothing. The parsing is pure and tested on
// made-up file trees.
package machine
