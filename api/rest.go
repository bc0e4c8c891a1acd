package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// Paths of the function API (spec §9), served by heads only.
const (
	PathExecute = "/api/v1/functions/execute"
	PathInstall = "/api/v1/functions/install"
	PathResult  = "/api/v1/functions/requests/result"
)

// Paths every node with an HTTP address serves, workers included.
const (
	PathHealth = "/api/v1/health"
	// PathLive answers 200 while the process and its actors run; PathReady 200 while the node
	// takes work (see health.go).
	PathLive  = "/livez"
	PathReady = "/readyz"
)

// Paths of the debug address (and /metrics, also on the public one with --enable-metrics).
const (
	PathMetrics = "/metrics"
	PathActors  = "/debug/actors"
	// PathActorsUI is the live page of the tree; PathActorMessages an actor's recent messages;
	// PathTrace a request's path through the node (and, on a head, its workers).
	PathActorsUI      = "/debug/actors/ui"
	PathActorMessages = "/debug/actors/messages"
	PathTrace         = "/debug/actors/trace"
)

const (
	// workerMessage answers the function paths on a worker, which has no Head to run them.
	workerMessage = "this node is a worker; send requests to a head"
	// drainingMessage and retryAfterSeconds answer new work on a node that is shutting down: a
	// restarted node is back within seconds, and another head takes the request at once.
	drainingMessage   = "this node is shutting down; retry, or send the request to another head"
	retryAfterSeconds = "5"
)

// errBodyTooLarge is a body over MaxBodyBytes, answered 413.
var errBodyTooLarge = fmt.Errorf("request body is over the limit of %d bytes", MaxBodyBytes)

// functionsAPI serves the function paths by calling the Head. It holds no state of its own.
type functionsAPI struct {
	head     Head // nil on workers
	cfg      Config
	log      zerolog.Logger
	draining func() bool       // nil: never
	tracing  *tracing.Provider // nil: off
}

// refuseDraining answers new work with 503 and a Retry-After while the node shuts down. A
// request already in its handler is not affected: it gets its real answer.
func (f functionsAPI) refuseDraining(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if f.draining != nil && f.draining() {
			w.Header().Set("Retry-After", retryAfterSeconds)
			writeError(w, http.StatusServiceUnavailable, drainingMessage)
			return
		}
		h(w, r)
	}
}

// headOnly answers 404 on workers so that a client pointed at the wrong node learns why.
func (f functionsAPI) headOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if f.head == nil {
			writeError(w, http.StatusNotFound, workerMessage)
			return
		}
		h(w, r)
	})
}

func (f functionsAPI) handleExecute(w http.ResponseWriter, r *http.Request) {
	var req messages.ExecutionRequest
	if err := decodeBody(w, r, "execution request", &req); err != nil {
		writeBodyError(w, err)
		return
	}
	if err := errors.Join(req.Valid(), f.checkTimeout(req.Config.Timeout)); err != nil {
		writeError(w, http.StatusBadRequest, oneLine(err))
		return
	}
	// r.Context() ends when the client goes away; the Head cancels the request then. A client
	// that sends W3C trace headers gets the request's spans in its own trace.
	resp, err := f.head.Execute(f.tracing.FromHTTP(r.Context(), r.Header), req)
	if err != nil {
		f.log.Error().Err(err).Str("request", resp.RequestID).Str("function", req.FunctionID).Msg("execute failed")
		writeError(w, http.StatusInternalServerError, oneLine(err))
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (f functionsAPI) handleInstall(w http.ResponseWriter, r *http.Request) {
	var req messages.InstallFunctionRequest
	if err := decodeBody(w, r, "install request", &req); err != nil {
		writeBodyError(w, err)
		return
	}
	if req.CID == "" && req.URI != "" {
		req.CID = CIDForURI(req.URI)
	}
	if err := req.Valid(); err != nil {
		writeError(w, http.StatusBadRequest, oneLine(err))
		return
	}

	ctx, cancel := context.WithTimeout(r.Context(), f.cfg.InstallTimeout)
	defer cancel()
	// An empty manifest URL tells the Head to use its gateway for the CID (spec §7.2).
	err := f.head.Install(ctx, req.URI, req.CID, req.Topic)
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, messages.InstallFunctionResponse{Code: messages.CodeOK})
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		// The original answers a slow publish with 200 and the code in the body.
		writeJSON(w, http.StatusOK, messages.InstallFunctionResponse{Code: messages.CodeTimeout})
	case ctx.Err() != nil:
		// The client went away; spec §9 answers {"code":"500"}, which nobody reads.
		writeJSON(w, http.StatusOK, messages.InstallFunctionResponse{Code: messages.CodeError})
	default:
		f.log.Error().Err(err).Str("function", req.CID).Msg("install failed")
		writeError(w, http.StatusInternalServerError, oneLine(err))
	}
}

func (f functionsAPI) handleResult(w http.ResponseWriter, r *http.Request) {
	var req messages.ResultRequest
	if err := decodeBody(w, r, "result request", &req); err != nil {
		writeBodyError(w, err)
		return
	}
	if req.ID == "" {
		writeError(w, http.StatusBadRequest, "missing request ID")
		return
	}
	res, ok := f.head.Result(req.ID)
	if !ok {
		// Spec §9: not found is a 404 with an empty body.
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// CIDForURI is the CID the original gives a function installed by URI: the lowercase hex
// SHA-256 of the URI string (spec §7.2).
func CIDForURI(uri string) string {
	sum := sha256.Sum256([]byte(uri))
	return hex.EncodeToString(sum[:])
}

// checkTimeout refuses a config.timeout (seconds) above the head's MaxRequestTimeout.
func (f functionsAPI) checkTimeout(seconds int) error {
	maxSeconds := int(f.cfg.MaxRequestTimeout / time.Second)
	if seconds > maxSeconds {
		return fmt.Errorf("config.timeout: %d s is above the maximum %d s (the head's max-request-timeout)", seconds, maxSeconds)
	}
	return nil
}

// decodeBody reads a JSON object body into v, or says what is wrong with it: errBodyTooLarge
// for a body over MaxBodyBytes, any other error for a bad one. A body declared too large is
// refused before any of it is read, and one that grows too large is not read past the limit
// (http.MaxBytesReader also makes the server close the connection rather than drain it).
// Otherwise it reads the whole body rather than one JSON value, because net/http only notices
// a client going away (and cancels r.Context()) once the body has been read to EOF. Nesting is
// checked by a scan before decoding, since Go's decoder has no depth limit of its own. Unknown
// keys are ignored, as the original's binder does, so clients that send extra fields keep
// working.
func decodeBody(w http.ResponseWriter, r *http.Request, what string, v any) error {
	if r.ContentLength > MaxBodyBytes {
		return errBodyTooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errBodyTooLarge
		}
		return fmt.Errorf("read body: %w", err)
	}
	return decodeJSON(body, what, v)
}

// decodeJSON is decodeBody's part after reading: one JSON object, nested at most MaxJSONDepth
// deep, into v.
func decodeJSON(body []byte, what string, v any) error {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return fmt.Errorf("empty body: want a JSON object (%s)", what)
	}
	if body[0] != '{' {
		return fmt.Errorf("body is not a JSON object: want a %s", what)
	}
	if err := checkDepth(body, MaxJSONDepth); err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		var syntaxErr *json.SyntaxError
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntaxErr):
			return fmt.Errorf("invalid JSON at byte %d: %v", syntaxErr.Offset, syntaxErr)
		case errors.As(err, &typeErr):
			return fmt.Errorf("%s: field %q is a JSON %s, want %s", what, typeErr.Field, typeErr.Value, typeErr.Type)
		default:
			return fmt.Errorf("decode %s: %w", what, err)
		}
	}
	return nil
}

// checkDepth fails when the JSON in b nests objects and arrays deeper than limit. It is a scan,
// not a parse (brackets inside strings do not count): a malformed body is the decoder's to
// report, and a deep one is refused before the decoder spends anything on it.
func checkDepth(b []byte, limit int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range b {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > limit {
				return fmt.Errorf("JSON nests deeper than the limit of %d levels", limit)
			}
		case (c == '}' || c == ']') && depth > 0:
			depth--
		}
	}
	return nil
}

// writeBodyError answers a body decodeBody refused: 413 when it is too large, else 400.
func writeBodyError(w http.ResponseWriter, err error) {
	status := http.StatusBadRequest
	if errors.Is(err, errBodyTooLarge) {
		status = http.StatusRequestEntityTooLarge
	}
	writeError(w, status, err.Error())
}

// oneLine flattens joined errors, whose parts are separated by newlines, for a JSON message.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}
