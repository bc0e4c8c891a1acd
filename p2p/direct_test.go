package p2p

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/peerstore"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type directEvent struct {
	from peer.ID
	data []byte
	err  error
}

// directInbox installs handlers on h that forward into a channel.
func directInbox(h *Host) <-chan directEvent {
	ch := make(chan directEvent, 16)
	h.SetDirectHandler(
		func(from peer.ID, data []byte) { ch <- directEvent{from: from, data: data} },
		func(from peer.ID, err error) { ch <- directEvent{from: from, err: err} },
	)
	return ch
}

func receive(t *testing.T, ch <-chan directEvent) directEvent {
	t.Helper()
	select {
	case ev := <-ch:
		return ev
	case <-time.After(testTimeout):
		t.Fatal("no direct message within the deadline")
		return directEvent{}
	}
}

func TestDirect(t *testing.T) {
	const limit = 1024
	cfgA := testConfig(t)
	cfgA.MaxDirectMessageBytes = limit
	a := newTestHost(t, nil, nil, cfgA)
	inbox := directInbox(a)

	cfgB := testConfig(t)
	reg := prometheus.NewRegistry()
	cfgB.Registerer = reg
	b := newTestHost(t, nil, nil, cfgB)
	b.AddAddrs(addrInfo(a), peerstore.TempAddrTTL) // Send dials
	ctx := testContext(t)

	send := func(t *testing.T, data []byte) {
		t.Helper()
		if err := b.Send(ctx, a.ID(), data); err != nil {
			t.Fatalf("send: %v", err)
		}
	}
	expectData := func(t *testing.T, want []byte) {
		t.Helper()
		ev := receive(t, inbox)
		if ev.err != nil || ev.from != b.ID() || !bytes.Equal(ev.data, want) {
			t.Fatalf("got {from %s, %d bytes %.40q, err %v}, want {from %s, %.40q}", ev.from, len(ev.data), ev.data, ev.err, b.ID(), want)
		}
	}

	t.Run("message reaches the handler with the sender", func(t *testing.T) {
		send(t, []byte(`{"type":"MsgExecute"}`))
		expectData(t, []byte(`{"type":"MsgExecute"}`))
	})

	t.Run("message of exactly the limit is delivered", func(t *testing.T) {
		msg := bytes.Repeat([]byte("x"), limit)
		send(t, msg)
		expectData(t, msg)
	})

	t.Run("oversized message is rejected and the host keeps working", func(t *testing.T) {
		// The sender may or may not see the reset, depending on timing.
		_ = b.Send(ctx, a.ID(), bytes.Repeat([]byte("y"), 4*limit))
		ev := receive(t, inbox)
		if !errors.Is(ev.err, ErrMessageTooLarge) || ev.from != b.ID() {
			t.Fatalf("got {from %s, err %v, %d bytes}, want ErrMessageTooLarge from %s", ev.from, ev.err, len(ev.data), b.ID())
		}
		send(t, []byte("after"))
		expectData(t, []byte("after"))
	})

	t.Run("only the first line counts", func(t *testing.T) {
		send(t, []byte("first\n\x00garbage\nmore"))
		expectData(t, []byte("first"))
	})

	t.Run("send to self fails", func(t *testing.T) {
		if err := b.Send(ctx, b.ID(), []byte("x")); err == nil {
			t.Fatal("Send to self succeeded")
		}
	})

	t.Run("send to an unknown peer fails within the deadline", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		if err := b.Send(short, testPeerID(t), []byte("x")); err == nil {
			t.Fatal("Send to an unknown peer succeeded")
		}
	})

	t.Run("metrics count sent messages and bytes", func(t *testing.T) {
		// Successful sends so far: 21 + limit + 5 + len("first\n\x00garbage\nmore") bytes; the
		// oversized one may have counted or not.
		sent := testutil.ToFloat64(b.metrics.sent.WithLabelValues(ProtocolID))
		if sent < 4 || sent > 5 {
			t.Errorf("b7s_host_messages_sent = %v, want 4 or 5", sent)
		}
		if n, err := testutil.GatherAndCount(reg, "b7s_host_messages_sent_bytes"); err != nil || n != 1 {
			t.Errorf("b7s_host_messages_sent_bytes series = %d, %v", n, err)
		}
	})
}

func testPeerID(t *testing.T) peer.ID {
	t.Helper()
	id, err := peer.IDFromPrivateKey(testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		limit int
		want  string
		err   error
	}{
		{"eof", "hello", 10, "hello", nil},
		{"empty", "", 10, "", nil},
		{"newline", "hello\nworld", 10, "hello", nil},
		{"exact limit", "0123456789", 10, "0123456789", nil},
		{"exact limit then newline", "0123456789\n", 10, "0123456789", nil},
		{"newline after the limit", "0123456789a\n", 10, "", ErrMessageTooLarge},
		{"over limit", strings.Repeat("z", 100), 10, "", ErrMessageTooLarge},
		{"large within limit", strings.Repeat("z", 100000) + "\nrest", 100000, strings.Repeat("z", 100000), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readMessage(strings.NewReader(tt.in), tt.limit, nil, nil)
			if !errors.Is(err, tt.err) || (tt.err == nil && string(got) != tt.want) {
				t.Fatalf("readMessage = %.20q, %v; want %.20q, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestDiscardRest(t *testing.T) {
	errBroken := errors.New("stream reset")
	for _, c := range []struct {
		name   string
		r      io.Reader
		withIn bool
	}{
		{"nothing after the first line", strings.NewReader(""), true},
		{"less than the limit", strings.NewReader(strings.Repeat("x", 100)), true},
		{"exactly the limit", strings.NewReader(strings.Repeat("x", 1000)), true},
		{"one byte over the limit", strings.NewReader(strings.Repeat("x", 1001)), false},
		{"far over the limit, read only up to it", io.MultiReader(strings.NewReader(strings.Repeat("x", 5000)), iotest.ErrReader(errBroken)), false},
		{"a broken stream within the limit", io.MultiReader(strings.NewReader("xy"), iotest.ErrReader(errBroken)), true},
		{"one byte at a time", iotest.OneByteReader(strings.NewReader(strings.Repeat("x", 999))), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := discardRest(c.r, 1000, make([]byte, 64)); got != c.withIn {
				t.Errorf("discardRest = %v, want %v", got, c.withIn)
			}
		})
	}
}
