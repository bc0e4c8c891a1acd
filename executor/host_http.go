package executor

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tetratelabs/wazero/api"
)

// blockless_http error codes, the witx enum of bls-runtime.
const (
	httpOK                = 0
	httpInvalidHandle     = 1
	httpMemoryAccessError = 2
	httpBufferTooSmall    = 3
	httpHeaderNotFound    = 4
	httpUTF8Error         = 5
	httpInvalidEncoding   = 8
	httpRequestError      = 10
	httpRuntimeError      = 11
	httpTooManySessions   = 12
	httpPermissionDeny    = 14
	httpHeadersValidation = 15
)

// blocklessHTTP is the blockless_http host module.
func blocklessHTTP() []hostFuncDef {
	return []hostFuncDef{
		{"http_req", 6, func(ctx context.Context, st *execState, mem api.Memory, p []uint32) uint32 {
			return st.http.request(ctx, st.perms, mem, p[0], p[1], p[2], p[3], p[4], p[5])
		}},
		{"http_read_body", 4, func(_ context.Context, st *execState, mem api.Memory, p []uint32) uint32 {
			return st.http.readBody(mem, p[0], p[1], p[2], p[3])
		}},
		{"http_read_header", 6, func(_ context.Context, st *execState, mem api.Memory, p []uint32) uint32 {
			return st.http.readHeader(mem, p[0], p[1], p[2], p[3], p[4], p[5])
		}},
		{"http_close", 1, func(_ context.Context, st *execState, _ api.Memory, p []uint32) uint32 {
			return st.http.close(p[0])
		}},
	}
}

// httpSessions are one execution's open responses. Handles start at 1 and are
// never reused, as bls-runtime's. Only the guest's goroutine touches them.
type httpSessions struct {
	client *http.Client
	cfg    HTTPConfig
	last   uint32
	open   map[uint32]*httpSession
}

type httpSession struct {
	resp     *http.Response
	cancel   context.CancelFunc
	streamed bool  // http_read_body was called: headers are gone
	ended    bool  // the body ended (EOF, error or the size cap)
	read     int64 // body bytes handed to the guest
}

func newHTTPSessions(client *http.Client, cfg HTTPConfig) *httpSessions {
	return &httpSessions{client: client, cfg: cfg}
}

// httpOptions is the parsed options JSON of http_req.
type httpOptions struct {
	method         string
	headers        http.Header
	body           string
	connectTimeout time.Duration // 0: none
	readTimeout    time.Duration // 0: none
}

// request implements http_req, with the reference's order of checks.
func (h *httpSessions) request(ctx context.Context, perms []string, mem api.Memory,
	urlPtr, urlLen, optsPtr, optsLen, handleOut, statusOut uint32) uint32 {
	urlBytes, ok := mem.Read(urlPtr, urlLen)
	if !ok {
		return httpMemoryAccessError
	}
	if !utf8.Valid(urlBytes) {
		return httpUTF8Error
	}
	url := string(urlBytes)
	if !permitted(url, perms) {
		return httpPermissionDeny // nothing sent, nothing written
	}
	optsBytes, ok := mem.Read(optsPtr, optsLen)
	if !ok {
		return httpMemoryAccessError
	}
	if !utf8.Valid(optsBytes) {
		return httpUTF8Error
	}
	opts, code := parseHTTPOptions(optsBytes)
	if code != httpOK {
		return code
	}
	if len(h.open) >= h.cfg.MaxSessions {
		return httpTooManySessions
	}

	timeout := h.cfg.RequestTimeout
	if opts.readTimeout > 0 && opts.readTimeout < timeout {
		timeout = opts.readTimeout
	}
	reqCtx, cancel := context.WithTimeout(ctx, timeout)
	if opts.connectTimeout > 0 {
		reqCtx = context.WithValue(reqCtx, connectTimeoutKey{}, opts.connectTimeout)
	}
	var body io.Reader = http.NoBody
	if opts.body != "" {
		body = strings.NewReader(opts.body) // sent even with GET, as reqwest does
	}
	req, err := http.NewRequestWithContext(reqCtx, opts.method, url, body)
	if err != nil {
		cancel()
		return httpRuntimeError
	}
	req.Header = opts.headers
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "*/*")
	}
	if _, set := req.Header["User-Agent"]; !set {
		req.Header["User-Agent"] = []string{""} // reqwest sends none; "" suppresses Go's
	}
	resp, err := h.client.Do(req)
	if err != nil {
		cancel()
		return httpRuntimeError
	}
	s := &httpSession{resp: resp, cancel: cancel}
	handle := h.last + 1
	if !mem.WriteUint32Le(handleOut, handle) || !mem.WriteUint32Le(statusOut, uint32(int32(resp.StatusCode))) {
		s.close()
		return httpMemoryAccessError
	}
	h.last = handle
	if h.open == nil {
		h.open = make(map[uint32]*httpSession)
	}
	h.open[handle] = s
	return httpOK
}

// parseHTTPOptions reads the options JSON as bls-runtime does: method required (GET or
// POST, any case), headers a string holding a JSON object, body a string,
// timeouts unsigned integers in seconds.
func parseHTTPOptions(raw []byte) (httpOptions, uint32) {
	var o httpOptions
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return o, httpRequestError
	}
	if err := json.Unmarshal(fields["method"], &o.method); err != nil || fields["method"] == nil {
		return o, httpRequestError
	}
	var headersJSON string
	if err := json.Unmarshal(fields["headers"], &headersJSON); err != nil || fields["headers"] == nil {
		return o, httpHeadersValidation
	}
	var inner any
	if err := json.Unmarshal([]byte(headersJSON), &inner); err != nil {
		return o, httpHeadersValidation
	}
	o.headers = make(http.Header)
	if obj, ok := inner.(map[string]any); ok { // valid JSON but not an object: ignored
		for name, v := range obj {
			value, _ := v.(string) // non-string values become empty values
			if !validHeaderName(name) || !validHeaderValue(value) {
				return o, httpHeadersValidation
			}
			o.headers.Add(name, value)
		}
	}
	switch strings.ToUpper(o.method) {
	case http.MethodGet, http.MethodPost:
		o.method = strings.ToUpper(o.method)
	default:
		return o, httpRequestError
	}
	_ = json.Unmarshal(fields["body"], &o.body) // any other type: empty body
	o.connectTimeout = seconds(fields["connectTimeout"])
	o.readTimeout = seconds(fields["readTimeout"])
	return o, httpOK
}

// seconds reads an unsigned integer number of seconds; anything else is 0
// (no limit).
func seconds(raw json.RawMessage) time.Duration {
	n, err := strconv.ParseUint(string(raw), 10, 32)
	if err != nil {
		return 0
	}
	return time.Duration(n) * time.Second
}

// readBody implements http_read_body: fill buf unless the body ends; 0 bytes
// means the end, for good.
func (h *httpSessions) readBody(mem api.Memory, handle, buf, bufLen, numOut uint32) uint32 {
	s := h.open[handle]
	if s == nil {
		return httpInvalidHandle
	}
	s.streamed = true
	n := int64(bufLen)
	if remaining := h.cfg.MaxBodyBytes - s.read; n > remaining {
		n = remaining
	}
	var got int
	if n > 0 && !s.ended {
		view, ok := mem.Read(buf, uint32(n))
		if !ok {
			return httpMemoryAccessError
		}
		var err error
		got, err = io.ReadFull(s.resp.Body, view)
		if err != nil { // EOF, a short body or a transport error: the body ends
			s.ended = true
		}
		s.read += int64(got)
	}
	if !mem.WriteUint32Le(numOut, uint32(got)) {
		return httpMemoryAccessError
	}
	return httpOK
}

// readHeader implements http_read_header: stateless, the first value of the
// header, whole or not at all.
func (h *httpSessions) readHeader(mem api.Memory, handle, namePtr, nameLen, buf, bufLen, numOut uint32) uint32 {
	s := h.open[handle]
	if s == nil {
		return httpInvalidHandle
	}
	name, ok := mem.Read(namePtr, nameLen)
	if !ok {
		return httpMemoryAccessError
	}
	if !utf8.Valid(name) {
		return httpUTF8Error
	}
	if s.streamed {
		return httpRuntimeError
	}
	if !validHeaderName(string(name)) {
		return httpHeaderNotFound
	}
	values := s.resp.Header.Values(string(name))
	if len(values) == 0 {
		return httpHeaderNotFound
	}
	value := values[0]
	for i := 0; i < len(value); i++ {
		if c := value[i]; c != '\t' && (c < 0x20 || c > 0x7e) {
			return httpInvalidEncoding
		}
	}
	if uint64(len(value)) > uint64(bufLen) {
		return httpBufferTooSmall // bls-runtime panics here
	}
	if !mem.WriteString(buf, value) || !mem.WriteUint32Le(numOut, uint32(len(value))) {
		return httpMemoryAccessError
	}
	return httpOK
}

// close implements http_close.
func (h *httpSessions) close(handle uint32) uint32 {
	s := h.open[handle]
	if s == nil {
		return httpInvalidHandle
	}
	delete(h.open, handle)
	s.close()
	return httpOK
}

// closeAll ends the execution's sessions.
func (h *httpSessions) closeAll() {
	for handle, s := range h.open {
		delete(h.open, handle)
		s.close()
	}
}

func (s *httpSession) close() {
	_ = s.resp.Body.Close()
	s.cancel()
}

// validHeaderName: an RFC 9110 token.
func validHeaderName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue: no control characters other than tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// connectTimeoutKey carries the guest's connectTimeout to the default dialer.
type connectTimeoutKey struct{}

// newHTTPClient builds the client of blockless_http: redirects followed (up
// to Go's 10, like reqwest), the permission checked on the first URL only.
func newHTTPClient(cfg HTTPConfig) *http.Client {
	rt := cfg.Transport
	if rt == nil {
		dialer := &net.Dialer{KeepAlive: 30 * time.Second}
		rt = &http.Transport{
			Proxy: http.ProxyFromEnvironment,
			DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
				if d, ok := ctx.Value(connectTimeoutKey{}).(time.Duration); ok {
					var cancel context.CancelFunc
					ctx, cancel = context.WithTimeout(ctx, d)
					defer cancel()
				}
				return dialer.DialContext(ctx, network, addr)
			},
			DisableCompression:    true, // reqwest does not decompress
			ForceAttemptHTTP2:     true,
			MaxIdleConns:          64,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   10 * time.Second,
			ExpectContinueTimeout: time.Second,
		}
	}
	return &http.Client{Transport: rt}
}
