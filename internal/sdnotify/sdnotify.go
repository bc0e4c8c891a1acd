package sdnotify

import (
	"fmt"
	"net"
	"strings"
)

// States the node sends.
const (
	Ready    = "READY=1"
	Stopping = "STOPPING=1"
)

// Notify sends state (assignments separated by newlines) to the notify socket at socket, the
// value of $NOTIFY_SOCKET. An empty socket means no service manager listens: it sends nothing
// and returns nil. A socket starting with "@" is in the abstract namespace.
func Notify(socket, state string) error {
	if socket == "" {
		return nil
	}
	if strings.HasPrefix(socket, "@") {
		socket = "\x00" + socket[1:]
	}
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: socket, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("notify %s: %w", socket, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(state)); err != nil {
		return fmt.Errorf("notify %s: %w", socket, err)
	}
	return nil
}

// Status is the STATUS= assignment systemctl status shows, on one line.
func Status(text string) string {
	return "STATUS=" + strings.ReplaceAll(text, "\n", " ")
}
