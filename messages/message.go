package messages

// Type names carried in the "type" field of every application message (spec §3.3).
const (
	TypeHealthCheck             = "MsgHealthCheck"
	TypeInstallFunction         = "MsgInstallFunction"
	TypeInstallFunctionResponse = "MsgInstallFunctionResponse"
	TypeRollCall                = "MsgRollCall"
	TypeRollCallResponse        = "MsgRollCallResponse"
	TypeExecute                 = "MsgExecute"
	TypeExecuteResponse         = "MsgExecuteResponse"
	TypeFormCluster             = "MsgFormCluster"
	TypeFormClusterResponse     = "MsgFormClusterResponse"
	TypeDisbandCluster          = "MsgDisbandCluster"
)

// Message is a b7s application message.
type Message interface {
	// Type is the value of the message's "type" field.
	Type() string
	// Valid reports why a decoded message must be dropped (spec §2.1), or nil.
	Valid() error
}

// TraceInfo is the optional W3C trace context of a message (spec §3.1). Every message embeds it
// first, so "carrier" is the first key when present, as in the Go b7s node.
type TraceInfo struct {
	Carrier map[string]string `json:"carrier,omitempty"`
}
