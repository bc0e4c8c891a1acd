package pbft

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

var rewrite = flag.Bool("rewrite", false, "rewrite testdata files with the actual output")

type ddCase struct {
	line int // line of the command, for messages
	cmd  string
	args map[string]string
	keys []string // arg names in order, so the harness can reject unknown ones
	want string
}

type ddItem struct {
	verbatim string // a comment or blank line; empty when c is set
	c        *ddCase
}

func runDataDriven(t *testing.T, path string, run func(t *testing.T, c *ddCase) string) {
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
		if !*rewrite && got != c.want {
			t.Errorf("%s:%d: %s\ngot:\n%s\nwant:\n%s", path, c.line, c.cmd, got, c.want)
		}
		b.WriteString(c.raw() + "\n----\n" + got + "\n")
	}
	if *rewrite {
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func (c *ddCase) raw() string {
	parts := []string{c.cmd}
	for _, k := range c.keys {
		v := c.args[k]
		if v == "" || strings.ContainsAny(v, " \t\"") {
			v = strconv.Quote(v)
		}
		parts = append(parts, k+"="+v)
	}
	return strings.Join(parts, " ")
}

func parseDD(s string) ([]ddItem, error) {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	var items []ddItem
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
			items = append(items, ddItem{verbatim: l})
			continue
		}
		c, err := parseCommand(l)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		c.line = i + 1
		if i+1 >= len(lines) || lines[i+1] != "----" {
			return nil, fmt.Errorf("line %d: command without ---- separator", i+1)
		}
		i += 2
		var want []string
		for ; i < len(lines) && lines[i] != ""; i++ {
			want = append(want, lines[i])
		}
		c.want = strings.Join(want, "\n")
		items = append(items, ddItem{c: c})
		if i < len(lines) {
			items = append(items, ddItem{verbatim: ""})
		}
	}
	return items, nil
}

// parseCommand splits `cmd k=v k="v w"` into its parts.
func parseCommand(l string) (*ddCase, error) {
	c := &ddCase{args: map[string]string{}}
	l = strings.TrimSpace(l)
	cmd, rest, _ := strings.Cut(l, " ")
	c.cmd = cmd
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
		if _, dup := c.args[k]; dup {
			return nil, fmt.Errorf("argument %s given twice", k)
		}
		c.args[k] = v
		c.keys = append(c.keys, k)
	}
	return c, nil
}
