package messages

import (
	"encoding/json"
	"fmt"
)

// DefaultMaxSize is the largest message Decode accepts when given no limit: gossipsub's 1 MiB
// maximum, which no b7s message legitimately exceeds.
const DefaultMaxSize = 1 << 20

// TypeOf reads only the "type" field of a message. A missing or empty type is ErrUnknownType;
// input that is not a JSON object with a string type is ErrMalformed.
func TypeOf(data []byte) (string, error) {
	var envelope struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(data, &envelope); err != nil {
		return "", fmt.Errorf("%w: read type: %w", ErrMalformed, err)
	}
	if envelope.Type == "" {
		return "", fmt.Errorf("%w: no type field", ErrUnknownType)
	}
	return envelope.Type, nil
}

// Decode turns one wire message into its typed value (MsgRollCall, MsgExecute, …, never a
// pointer). Input longer than maxBytes is refused before it is parsed; maxBytes ≤ 0 means
// DefaultMaxSize. Decode does not call Valid: the router decides what to do with invalid messages.
func Decode(data []byte, maxBytes int) (Message, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxSize
	}
	if len(data) > maxBytes {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrTooLarge, len(data), maxBytes)
	}

	typ, err := TypeOf(data)
	if err != nil {
		return nil, err
	}
	return DecodeAs(typ, data)
}

// DecodeAs decodes data as the message type typ, which the caller has already read with
// TypeOf (the router does, to apply its rules before paying for a full decode). It applies no
// size limit.
func DecodeAs(typ string, data []byte) (Message, error) {
	switch typ {
	case TypeHealthCheck:
		return decodeAs[MsgHealthCheck](typ, data)
	case TypeInstallFunction:
		return decodeAs[MsgInstallFunction](typ, data)
	case TypeInstallFunctionResponse:
		return decodeAs[MsgInstallFunctionResponse](typ, data)
	case TypeRollCall:
		return decodeAs[MsgRollCall](typ, data)
	case TypeRollCallResponse:
		return decodeAs[MsgRollCallResponse](typ, data)
	case TypeExecute:
		return decodeAs[MsgExecute](typ, data)
	case TypeExecuteResponse:
		return decodeAs[MsgExecuteResponse](typ, data)
	case TypeFormCluster:
		return decodeAs[MsgFormCluster](typ, data)
	case TypeFormClusterResponse:
		return decodeAs[MsgFormClusterResponse](typ, data)
	case TypeDisbandCluster:
		return decodeAs[MsgDisbandCluster](typ, data)
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownType, typ)
	}
}

func decodeAs[T Message](typ string, data []byte) (Message, error) {
	var m T
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrMalformed, typ, err)
	}
	if err := checkPeerIDs(m); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrMalformed, typ, err)
	}
	return m, nil
}

// Encode writes m in its wire form, exactly as the Go b7s node would.
func Encode(m Message) ([]byte, error) {
	if m == nil {
		return nil, fmt.Errorf("encode: nil message")
	}
	// Every message marshals itself into compact JSON; json.Marshal would only check and copy it.
	var b []byte
	var err error
	if jm, ok := m.(json.Marshaler); ok {
		b, err = jm.MarshalJSON()
	} else {
		b, err = json.Marshal(m)
	}
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type(), err)
	}
	return b, nil
}

// EncodeLine is Encode followed by a newline, the form of a direct message (spec §1.3: the
// receiver reads up to the first newline). The newline goes in the room the encoding keeps for
// it, so the message is not copied to add it.
func EncodeLine(m Message) ([]byte, error) {
	b, err := Encode(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}
