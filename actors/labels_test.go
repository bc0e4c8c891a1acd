package actors

import (
	"fmt"
	"testing"
)

func TestLabelSet_AdmitsUpToItsBoundThenSharesOther(t *testing.T) {
	s := newLabelSet(2, "blockless/b7s/general")
	for _, c := range []struct{ in, want string }{
		{"blockless/b7s/general", "blockless/b7s/general"},
		{"a", "a"},
		{"b", "b"},
		{"c", labelOther},
		{"a", "a"},
	} {
		if got := s.value(c.in); got != c.want {
			t.Errorf("value(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// A thousand made-up function IDs give a worker no new series.
func TestWork_FunctionLabelsOfUninstalledFunctionsAreShared(t *testing.T) {
	w := &work{}
	seen := map[string]bool{}
	for i := range 1000 {
		seen[w.functionLabel(fmt.Sprintf("bafy%d", i), false)] = true
	}
	if len(seen) != 1 || !seen[labelNotInstalled] {
		t.Fatalf("labels %v", seen)
	}
	if got := w.functionLabel("bafyreal", true); got != "bafyreal" {
		t.Fatalf("installed function labelled %q", got)
	}
}
