package messages

// TraceCarrier returns the message's W3C trace context (spec §3.1), nil when it carries none.
// Every message embeds TraceInfo, so every message has it.
func (t TraceInfo) TraceCarrier() map[string]string { return t.Carrier }

// Traced is a message with a trace context; every message type of this package is one.
type Traced interface {
	Message
	TraceCarrier() map[string]string
}

// WithCarrier returns a copy of m whose "carrier" is c (nil removes it). Messages are values,
// so the copy is what a sender encodes; m itself is unchanged.
func WithCarrier(m Message, c map[string]string) Message {
	switch v := m.(type) {
	case MsgHealthCheck:
		v.Carrier = c
		return v
	case MsgInstallFunction:
		v.Carrier = c
		return v
	case MsgInstallFunctionResponse:
		v.Carrier = c
		return v
	case MsgRollCall:
		v.Carrier = c
		return v
	case MsgRollCallResponse:
		v.Carrier = c
		return v
	case MsgExecute:
		v.Carrier = c
		return v
	case MsgExecuteResponse:
		v.Carrier = c
		return v
	case MsgFormCluster:
		v.Carrier = c
		return v
	case MsgFormClusterResponse:
		v.Carrier = c
		return v
	case MsgDisbandCluster:
		v.Carrier = c
		return v
	}
	return m
}
