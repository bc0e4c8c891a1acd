package messages

import (
	"errors"
	"fmt"
)

// Sentinel errors; match them with errors.Is.
var (
	// ErrTooLarge: the input exceeds the size limit and was not parsed.
	ErrTooLarge = errors.New("message too large")
	// ErrMalformed: the input is not valid JSON for its message type.
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownType: the "type" field is missing, empty or names no known message.
	ErrUnknownType = errors.New("unknown message type")
	// ErrInvalid: the message decoded but breaks a rule of the spec (its Valid method).
	ErrInvalid = errors.New("invalid message")
	// ErrBadSignature: a signature is missing, not hex, or does not verify.
	ErrBadSignature = errors.New("bad signature")
)

// invalid joins the broken rules of one message into an error that matches ErrInvalid, or nil.
func invalid(what string, errs []error) error {
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s: %w", ErrInvalid, what, errors.Join(errs...))
}
