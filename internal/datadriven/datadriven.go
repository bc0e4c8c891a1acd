// Package datadriven runs script-file tests in the style of etcd's datadriven package: the
// request supervisor's (actors/request) and the PBFT replica's (consensus/pbft).
package datadriven

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// A tiny datadriven runner in the style of etcd's: a file is a list of cases
//
//	command arg=value key="quoted value"
//	----
//	expected output
//	<blank line>
//
// Lines outside cases (comments, blank lines) are kept as they are. Run with -rewrite to write the
// actual output back into the files.

// Rewrite, set with -rewrite on `go test`, writes the actual output back into the files.
var Rewrite = flag.Bool("rewrite", false, "rewrite testdata files with the actual output")

type Case struct {
	Line int // line of the command, for messages
	Cmd  string
	Args map[string]string
	Keys []string // arg names in order, so the harness can reject unknown ones
	Want string
}

type item struct {
	verbatim string // a comment or blank line; empty when c is set
	c        *Case
}

// Run runs the cases of the file at path through run, comparing (or with -rewrite, writing)
// each case's output.
func Run(t *testing.T, path string, run func(t *testing.T, c *Case) string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	items, err := parseDD(string(raw))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var b strings.Builder
	for _, it := range items {
		if it.c == nil {
			b.WriteString(it.verbatim + "\n")
			continue
		}
		c := it.c
		got := strings.TrimRight(run(t, c), "\n")
		if got == "" {
			got = "ok"
		}
		if !*Rewrite && got != c.Want {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, c.Line, c.Cmd, got, c.Want)
		}
		b.WriteString(c.raw() + "\n----\n" + got + "\n")
	}
	if *Rewrite {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *Case) raw() string {
	parts := []string{c.Cmd}
	for _, k := range c.Keys {
		v := c.Args[k]
		if v == "" || strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

func parseDD(s string) ([]item, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var items []item
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			items = append(items, item{verbatim: l})
			continue
		}
		c, err := parseCommand(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		c.Line = i + 1
		if i+1 >= len(lines) || lines[i+1] != "----" {
			return nil, fmt.Errorf("line %d: command without ---- separator", i+1)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		c.Want = strings.Join(want, "\n")
		items = append(items, item{c: c})
		if i < len(lines) {
			items = append(items, item{verbatim: ""})
		}
	}
	return items, nil
}

// parseCommand splits `cmd k=v k="v w"` into its parts.
func parseCommand(l string) (*Case, error) {
	c := &Case{Args: map[string]string{}}
	l = strings.TrimSpace(l)
	cmd, rest, _ := strings.Cut(l, " ")
	c.Cmd = cmd
	for rest = strings.TrimSpace(rest); rest != ""; rest = strings.TrimSpace(rest) {
		k, after, ok := strings.Cut(rest, "=")
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("bad argument %q", rest)
		}
		var v string
		if strings.HasPrefix(after, `"`) {
			q, err := strconv.QuotedPrefix(after)
			if err != nil {
				return nil, fmt.Errorf("argument %s: %w", k, err)
			}
			v, _ = strconv.Unquote(q)
			rest = after[len(q):]
		} else {
			v, rest, _ = strings.Cut(after, " ")
		}
		if _, dup := c.Args[k]; dup {
			return nil, fmt.Errorf("argument %s given twice", k)
		}
		c.Args[k] = v
		c.Keys = append(c.Keys, k)
	}
	return c, nil
}
