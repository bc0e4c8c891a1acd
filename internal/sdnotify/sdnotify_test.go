package sdnotify

import (
	"net"
	"path/filepath"
	"testing"
	"time"
)

func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func receive(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	if err := conn.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("read the notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotify_SendsOneDatagram(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify")
	conn := listen(t, path)
	state := Ready + "\n" + Status("peer 12D3KooW… ready\nworker")
	if err := Notify(path, state); err != nil {
		t.Fatal(err)
	}
	if got, want := receive(t, conn), "READY=1\nSTATUS=peer 12D3KooW… ready worker"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestNotify_AbstractSocket(t *testing.T) {
	name := "b7s-sdnotify-test-" + filepath.Base(t.TempDir())
	conn := listen(t, "\x00"+name)
	if err := Notify("@"+name, Stopping); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, conn); got != Stopping {
		t.Errorf("got %q, want %q", got, Stopping)
	}
}

func TestNotify_WithoutAServiceManager(t *testing.T) {
	if err := Notify("", Ready); err != nil {
		t.Errorf("no socket: %v, want nil", err)
	}
	if err := Notify(filepath.Join(t.TempDir(), "missing"), Ready); err == nil {
		t.Error("a socket that does not exist: nil error")
	}
}
