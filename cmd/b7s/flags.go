package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
)

// commandFlags returns the flag set of `b7s <name>`. Its -h/--help writes the synopsis, what the
// command does and the flags to stdout: help that was asked for is output, not a diagnostic, and
// `b7s exec --help | less` should work. Parse errors are returned, never printed by pflag.
func commandFlags(name, synopsis, summary string, stdout io.Writer) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	fs.SortFlags = false
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fmt.Fprintf(stdout, "Usage: b7s %s %s\n\n%s\n\nFlags:\n%s", name, synopsis, summary, fs.FlagUsages())
	}
	return fs
}

// parseFlags parses args. Help comes back as pflag.ErrHelp, which main turns into exit code 0;
// other errors say where the flags are described.
func parseFlags(fs *pflag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, pflag.ErrHelp):
		return err
	default:
		return fmt.Errorf("%w (b7s %s --help lists the flags)", err, fs.Name())
	}
}
