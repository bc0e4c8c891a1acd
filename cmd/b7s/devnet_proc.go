package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"
)

// stopGrace is how long a node has to stop on SIGTERM before it is killed.
const stopGrace = 5 * time.Second

// child is one node of the devnet, running as a child process of this binary.
type child struct {
	Name    string
	LogPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed once the process has been waited for
	waitErr error         // set before done is closed
}

// startChild starts exe with args and, besides this process's environment, env; its stdout
// and stderr go to logPath. exited receives the
// child once it ends, whatever the reason; it must have room for every child of the network.
func startChild(name, exe string, args, env []string, logPath string, exited chan<- *child) (*child, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	cmd := exec.Command(exe, args...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// Logs are files: no colour codes in them.
	cmd.Env = append(append(os.Environ(), "NO_COLOR=1"), env...)
	cmd.SysProcAttr = childSysProcAttr()
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{Name: name, LogPath: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.waitErr = cmd.Wait()
		logFile.Close()
		close(c.done)
		exited <- c
	}()
	return c, nil
}

// PID is the child's process ID.
func (c *child) PID() int { return c.cmd.Process.Pid }

// exitError describes how the child ended; call it only after done is closed.
func (c *child) exitError() error {
	if c.waitErr == nil {
		return errors.New("exited with status 0")
	}
	return c.waitErr
}

// stop asks the child to stop with SIGTERM and kills it if it is still there after grace.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.done:
		return
	default:
	}
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.done:
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// stopChildren stops every child at once and returns when all have ended.
func stopChildren(children []*child) {
	var wg sync.WaitGroup
	for _, c := range children {
		wg.Go(func() { c.stop(stopGrace) })
	}
	wg.Wait()
}

// logTail returns up to n last lines of the file at path, for error messages.
func logTail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(data, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	var b strings.Builder
	for _, l := range lines {
		b.WriteString("    ")
		b.Write(l)
		b.WriteByte('\n')
	}
	return b.String()
}
