package p2p

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/core/protocol"
	msmux "github.com/multiformats/go-multistream"
)

// TraceProtocolID is this node's own protocol for asking a peer for its part of a request's
// path: the asker writes the request ID and a newline, the peer answers with one document and
// closes. It is not part of b7s: an original node does not speak it, and a stream to one fails
// at protocol negotiation (ErrTraceNotSupported), which is all it costs.
const TraceProtocolID = "/b7s-actor/trace/1.0.0"

const (
	// maxTraceQuestion bounds a request ID as the answering side reads it.
	maxTraceQuestion = 1 << 10
	// MaxTraceAnswer bounds an answer as the asking side reads it: a node's part of one path is
	// a few kilobytes (it is cut from bounded rings).
	MaxTraceAnswer   = 1 << 20
	traceReadTimeout = 10 * time.Second
)

// ErrTraceNotSupported is returned by QueryTrace when the peer does not speak TraceProtocolID.
var ErrTraceNotSupported = errors.New("the peer does not speak " + TraceProtocolID + " (an original b7s node?)")

// SetTraceHandler answers TraceProtocolID: answer gets the asking peer and the request ID and
// returns the document to send (it decides whom to tell what). It runs on the stream's goroutine.
func (h *Host) SetTraceHandler(answer func(from peer.ID, requestID string) []byte) {
	h.host.SetStreamHandler(TraceProtocolID, func(s network.Stream) {
		from := s.Conn().RemotePeer()
		_ = s.SetDeadline(time.Now().Add(traceReadTimeout))
		id, err := readMessage(s, maxTraceQuestion, nil, nil)
		if err != nil || len(id) == 0 {
			h.log.Debug().Err(err).Str("peer", from.String()).Msg("trace question rejected")
			_ = s.Reset()
			return
		}
		if _, err := s.Write(answer(from, string(id))); err != nil {
			_ = s.Reset()
			return
		}
		_ = s.Close()
	})
}

// QueryTrace asks peer to for its part of the path of requestID and returns its answer.
func (h *Host) QueryTrace(ctx context.Context, to peer.ID, requestID string) ([]byte, error) {
	s, err := h.host.NewStream(ctx, to, TraceProtocolID)
	if err != nil {
		if errors.Is(err, msmux.ErrNotSupported[protocol.ID]{}) {
			return nil, fmt.Errorf("ask %s: %w", to, ErrTraceNotSupported)
		}
		return nil, fmt.Errorf("ask %s: open stream: %w", to, err)
	}
	defer s.Close()
	if deadline, ok := ctx.Deadline(); ok {
		_ = s.SetDeadline(deadline)
	}
	if _, err := s.Write([]byte(requestID + "\n")); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("ask %s: %w", to, err)
	}
	if err := s.CloseWrite(); err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("ask %s: %w", to, err)
	}
	answer, err := io.ReadAll(io.LimitReader(s, MaxTraceAnswer+1))
	if err != nil {
		_ = s.Reset()
		return nil, fmt.Errorf("read the answer of %s: %w", to, err)
	}
	if len(answer) > MaxTraceAnswer {
		_ = s.Reset()
		return nil, fmt.Errorf("the answer of %s is longer than %d bytes", to, MaxTraceAnswer)
	}
	return answer, nil
}
