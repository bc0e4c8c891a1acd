package messages

import "errors"

// InstalledMessage is the fixed text of MsgInstallFunctionResponse.message.
const InstalledMessage = "installed"

// MsgInstallFunction asks workers to install a function.
type MsgInstallFunction struct {
	TraceInfo
	ManifestURL string `json:"manifest_url,omitempty"`
	CID         string `json:"cid,omitempty"`
}

func (MsgInstallFunction) Type() string { return TypeInstallFunction }

// Valid requires a CID (spec §3.3).
func (m MsgInstallFunction) Valid() error {
	if m.CID == "" {
		return invalid(m.Type(), []error{errors.New("cid is empty")})
	}
	return nil
}

func (m MsgInstallFunction) MarshalJSON() ([]byte, error) {
	type alias MsgInstallFunction
	return marshalWithType(alias(m), m.Type())
}

// Response is the answer a worker sends once the function is installed; it keeps the trace.
func (m MsgInstallFunction) Response(code Code) MsgInstallFunctionResponse {
	return MsgInstallFunctionResponse{TraceInfo: m.TraceInfo, Code: code, Message: InstalledMessage, CID: m.CID}
}

// MsgInstallFunctionResponse is sent after a successful (or earlier) install; never on failure.
type MsgInstallFunctionResponse struct {
	TraceInfo
	Code    Code   `json:"code,omitempty"`
	Message string `json:"message,omitempty"`
	CID     string `json:"cid,omitempty"`
}

func (MsgInstallFunctionResponse) Type() string { return TypeInstallFunctionResponse }

// Valid accepts every response; the head only logs them.
func (MsgInstallFunctionResponse) Valid() error { return nil }

func (m MsgInstallFunctionResponse) MarshalJSON() ([]byte, error) {
	type alias MsgInstallFunctionResponse
	return marshalWithType(alias(m), m.Type())
}
