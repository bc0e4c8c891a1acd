package main

import "syscall"

// childSysProcAttr puts a node in its own process group, so that Ctrl-C in the terminal reaches
// only the devnet, which then stops the nodes in order; and has the kernel send it SIGTERM if
// the devnet dies without cleaning up (kill -9), so no node outlives it.
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
