package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
)

// ErrMessageTooLarge is reported through the direct error handler when a
// direct message's first line exceeds MaxDirectMessageBytes.
var ErrMessageTooLarge = errors.New("direct message too large")

// Send opens a new stream to the peer on ProtocolID, writes data and a
// newline and closes the stream: one message per stream (spec §1.3). The
// newline lets the receiver act on the message as soon as it arrives instead
// of waiting for the end of the stream, which with lazy protocol negotiation
// comes a round trip later; b7s receivers read up to the first newline, and
// JSON decoding ignores it. It dials the peer if needed. The ctx deadline
// bounds the dial and the write.
func (h *Host) Send(ctx context.Context, to peer.ID, data []byte) error {
	if to == h.host.ID() {
		return fmt.Errorf("send to %s: %w", to, errDialSelf)
	}
	s, err := h.host.NewStream(ctx, to, ProtocolID)
	if err != nil {
		return fmt.Errorf("open stream to %s: %w", to, err)
	}
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetWriteDeadline(deadline)
	}
	if len(data) == 0 || data[len(data)-1] != '\n' {
		data = append(data[:len(data):len(data)], '\n')
	}
	if _, err := s.Write(data); err != nil {
		_ = s.Reset()
		return fmt.Errorf("write to %s: %w", to, err)
	}
	if err := s.Close(); err != nil {
		_ = s.Reset()
		return fmt.Errorf("close stream to %s: %w", to, err)
	}
	h.metrics.messageSent(ProtocolID, len(data))
	return nil
}

// SetDirectHandler installs the direct-message handlers and starts accepting
// streams on ProtocolID. onMessage gets the first line of each stream (up to
// '\n' or EOF); onError gets read failures, ErrMessageTooLarge among them.
// Both run on the stream's goroutine. Either may be nil.
func (h *Host) SetDirectHandler(onMessage func(from peer.ID, data []byte), onError func(from peer.ID, err error)) {
	h.directMu.Lock()
	h.onDirect, h.onError = onMessage, onError
	h.directMu.Unlock()
	h.host.SetStreamHandler(ProtocolID, h.handleStream)
}

func (h *Host) handleStream(s network.Stream) {
	from := s.Conn().RemotePeer()
	h.directMu.RLock()
	onMessage, onError := h.onDirect, h.onError
	h.directMu.RUnlock()

	_ = s.SetReadDeadline(time.Now().Add(h.cfg.DirectReadTimeout))
	// What is buffered counts against the stream's resource scope, so the per-peer and
	// per-protocol memory limits bound how much half-sent messages can hold, not only their count.
	reserved := 0
	reserve := func(total int) error {
		if total <= reserved {
			return nil
		}
		if err := s.Scope().ReserveMemory(total-reserved, network.ReservationPriorityMedium); err != nil {
			return fmt.Errorf("reserve memory for a direct message: %w", err)
		}
		reserved = total
		return nil
	}
	chunk := h.readChunks.Get().(*[]byte)
	defer h.readChunks.Put(chunk)
	data, err := readMessage(s, h.cfg.MaxDirectMessageBytes, reserve, *chunk)
	if err != nil {
		_ = s.Reset()
		h.log.Debug().Err(err).Str("peer", from.String()).Msg("direct message rejected")
		if onError != nil {
			onError(from, fmt.Errorf("read direct message from %s: %w", from, err))
		}
		return
	}
	if onMessage != nil {
		onMessage(from, data)
	}
	// Only the first line counts (spec §1.3). Discard the rest, up to the
	// limit, so that the sender's Close completes instead of being reset.
	if discardRest(s, h.cfg.MaxDirectMessageBytes, *chunk) {
		_ = s.Close()
	} else {
		_ = s.Reset()
	}
}

// discardRest reads r to its end through buf and reports whether it ended within limit bytes.
// io.Discard is hidden behind a plain Writer so that CopyBuffer reads through buf rather than
// through io.Discard's own pooled 8 KiB buffers, which the collector empties every cycle: under
// load that was an allocation per message.
func discardRest(r io.Reader, limit int, buf []byte) bool {
	n, _ := io.CopyBuffer(struct{ io.Writer }{io.Discard}, io.LimitReader(r, int64(limit)+1), buf)
	return n <= int64(limit)
}

// ReadMessage reads one message framed as spec §1.3 (up to the first '\n' or EOF, at most limit
// bytes: ErrMessageTooLarge beyond) from r.
func ReadMessage(r io.Reader, limit int) ([]byte, error) { return readMessage(r, limit, nil, nil) }

// readMessage reads up to the first '\n' or EOF. It stops reading at the
// newline, and fails with ErrMessageTooLarge once more than limit bytes came
// without one.
// reserve, when not nil, is told the buffer's size before it grows, and may refuse.
// Reads go through chunk (nil: a fresh 2 KiB one): most messages are a few hundred bytes and
// arrive in one read, so with a reused chunk they are copied out once, at their size.
func readMessage(r io.Reader, limit int, reserve func(total int) error, chunk []byte) ([]byte, error) {
	lr := io.LimitReader(r, int64(limit)+1)
	if len(chunk) == 0 {
		chunk = make([]byte, 2<<10)
	}
	chunk = chunk[:min(limit+1, len(chunk))]
	var buf []byte
	for {
		n, err := lr.Read(chunk)
		if n > 0 {
			if i := bytes.IndexByte(chunk[:n], '\n'); i >= 0 {
				if len(buf)+i > limit {
					return nil, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, limit)
				}
				return append(buf[:len(buf):len(buf)], chunk[:i]...), nil
			}
			if reserve != nil {
				if err := reserve(len(buf) + n); err != nil {
					return nil, err
				}
			}
			buf = append(buf, chunk[:n]...)
		}
		if len(buf) > limit {
			return nil, fmt.Errorf("%w: more than %d bytes", ErrMessageTooLarge, limit)
		}
		if errors.Is(err, io.EOF) {
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}
