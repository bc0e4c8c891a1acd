package inspect

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// WriteText renders the tree as indented text, one actor per line, for people at a terminal.
func WriteText(w io.Writer, roots []*ActorInfo, now time.Time) error {
	var b strings.Builder
	for _, r := range roots {
		writeNode(&b, r, "", now)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeNode(b *strings.Builder, a *ActorInfo, indent string, now time.Time) {
	fmt.Fprintf(b, "%s%s [%s] %s", indent, a.Name, a.Kind, a.State)
	if a.Behaviour != "" {
		fmt.Fprintf(b, "/%s", a.Behaviour)
	}
	if !a.Started.IsZero() {
		fmt.Fprintf(b, " up=%s", now.Sub(a.Started).Round(time.Millisecond))
	}
	fmt.Fprintf(b, " msgs=%d mailbox=%d restarts=%d", a.Messages, a.Mailbox, a.Restarts)
	if a.LastError != "" {
		fmt.Fprintf(b, " last_error=%q", a.LastError)
	}
	b.WriteByte('\n')
	for _, c := range a.Children {
		writeNode(b, c, indent+"  ", now)
	}
}
