package messages

// Code is a b7s result code: an HTTP-like status carried as a JSON string ("200").
type Code string

// Codes of spec §3.1.
const (
	CodeOK             Code = "200"
	CodeAccepted       Code = "202"
	CodeNoContent      Code = "204"
	CodePartialContent Code = "206"
	CodeInvalid        Code = "400"
	CodeNotAuthorized  Code = "401"
	CodeNotPermitted   Code = "403"
	CodeNotFound       Code = "404"
	CodeTimeout        Code = "408"
	CodeError          Code = "500"
	CodeNotImplemented Code = "501"
	CodeNotAvailable   Code = "503"
	CodeNotSupported   Code = "505"
	CodeUnknown        Code = "520"
)
