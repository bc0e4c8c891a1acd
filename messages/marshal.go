package messages

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sync"
)

// marshalWithType marshals v (an alias of a message struct, so it has no MarshalJSON and cannot
// recurse) and appends "type" as the last key. That is the byte layout the Go b7s node produces by
// embedding the alias in a struct followed by a Type field; splicing gives the same bytes without
// one wrapper struct per message. typ is one of the Type constants: letters only, nothing to
// escape.
//
// The fields are encoded into a pooled buffer and the result is the one allocation, with a byte
// to spare for EncodeLine's newline: a message is encoded on every send, and the copies
// json.Marshal makes were a tenth of what a head allocates per request.
func marshalWithType(v any, typ string) ([]byte, error) {
	e := encoders.Get().(*encoder)
	defer e.release()
	if err := e.enc.Encode(v); err != nil { // Encode escapes HTML as json.Marshal does
		return nil, fmt.Errorf("marshal %s: %w", typ, err)
	}
	body := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("marshal %s: not a JSON object", typ)
	}

	const typeKey, closing = `"type":"`, `"}`
	out := make([]byte, 0, len(body)+1+len(typeKey)+len(typ)+len(closing)+1)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = append(out, typeKey...)
	out = append(out, typ...)
	out = append(out, closing...)
	return out, nil
}

// encoder is a reusable JSON encoder with its buffer.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// maxPooledEncoderBytes: a buffer that grew past it (a result with large output) is let go
// rather than kept by the pool.
const maxPooledEncoderBytes = 64 << 10

var encoders = sync.Pool{New: func() any {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.buf)
	return e
}}

func (e *encoder) release() {
	if e.buf.Cap() > maxPooledEncoderBytes {
		return
	}
	e.buf.Reset()
	encoders.Put(e)
}
