package messages

import (
	"encoding/json"
	"fmt"
)

// marshalWithType marshals v (an alias of a message struct, so it has no MarshalJSON and cannot
// recurse) and appends "type" as the last key. That is the byte layout the Go b7s node produces by
// embedding the alias in a struct followed by a Type field; splicing gives the same bytes without
// one wrapper struct per message.
func marshalWithType(v any, typ string) ([]byte, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", typ, err)
	}
	if len(body) < 2 || body[0] != '{' || body[len(body)-1] != '}' {
		return nil, fmt.Errorf("marshal %s: not a JSON object", typ)
	}

	typeField, err := json.Marshal(typ)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", typ, err)
	}

	out := make([]byte, 0, len(body)+len(typeField)+9)
	out = append(out, body[:len(body)-1]...)
	if len(body) > 2 {
		out = append(out, ',')
	}
	out = append(out, `"type":`...)
	out = append(out, typeField...)
	out = append(out, '}')
	return out, nil
}
