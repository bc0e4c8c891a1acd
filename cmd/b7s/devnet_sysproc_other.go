//go:build !linux

package main

import "syscall"

// childSysProcAttr: outside Linux the children stay in our process group and have no
// parent-death signal; the devnet still stops them on exit.
func childSysProcAttr() *syscall.SysProcAttr { return nil }
