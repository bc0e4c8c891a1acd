package main

import (
	"errors"
	"io"
)

// runInstall and runExec arrive with the execution issue.
func runInstall(args []string, stdout io.Writer) error { return errors.New("not implemented yet") }
func runExec(args []string, stdout io.Writer) error    { return errors.New("not implemented yet") }
