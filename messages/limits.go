package messages

// jsonEscapeWorstCase is the most bytes Go's JSON encoder writes for one byte of a string: a
// control byte, an invalid UTF-8 byte, '<', '>' and '&' each become six (\u0001, \ufffd,
// \u003c). A function's output is arbitrary bytes, so a result must be sized for this case.
const jsonEscapeWorstCase = 6

// resultEnvelopeBytes bounds everything in a worker's MsgExecuteResponse besides its stdout and
// stderr: type, code, request ID, the result's key (a peer ID), exit code, usage, PBFT fields,
// a message and a signature are a few hundred bytes; the rest is headroom.
const resultEnvelopeBytes = 64 << 10

// DefaultMaxOutputBytes is a worker's default cap on a function's stdout and on its stderr.
// It lives here, with DirectMessageLimit, so that the executor's default output cap and the
// host's default direct-message limit come from one number.
const DefaultMaxOutputBytes = 1 << 20

// DefaultDirectMessageLimit is DirectMessageLimit(DefaultMaxOutputBytes), as a constant.
const DefaultDirectMessageLimit = 2*jsonEscapeWorstCase*DefaultMaxOutputBytes + resultEnvelopeBytes

// DirectMessageLimit is the size a node must accept for one direct message so that a worker's
// result whose stdout and stderr are each at most maxOutputBytes always fits, whatever bytes
// they hold. Nodes derive their direct-message limit from their output limit with it, so the
// two cannot disagree: a result the output limit allows is never dropped as too large.
func DirectMessageLimit(maxOutputBytes int) int {
	return 2*jsonEscapeWorstCase*maxOutputBytes + resultEnvelopeBytes
}
