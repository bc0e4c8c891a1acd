package messages

// HealthCode is the only code a health ping carries.
const HealthCode = 200

// MsgHealthCheck is the periodic health ping, published on the default topic. Unlike every other
// code, its code is a JSON number.
type MsgHealthCheck struct {
	TraceInfo
	Code int `json:"code,omitempty"`
}

// NewHealthCheck returns the ping as b7s sends it.
func NewHealthCheck() MsgHealthCheck { return MsgHealthCheck{Code: HealthCode} }

func (MsgHealthCheck) Type() string { return TypeHealthCheck }

// Valid accepts every ping: receivers only log them.
func (MsgHealthCheck) Valid() error { return nil }

func (m MsgHealthCheck) MarshalJSON() ([]byte, error) {
	type alias MsgHealthCheck
	return marshalWithType(alias(m), m.Type())
}
