package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/b7s-actor/b7s/actors/actortest"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/config"
	"github.com/b7s-actor/b7s/daemon/daemontest"
	"github.com/b7s-actor/b7s/messages"
	"github.com/b7s-actor/b7s/p2p"
)

// spans are the ended spans of one trace, with what the tests ask of them.
type spans []sdktrace.ReadOnlySpan

func (s spans) inTrace(id trace.TraceID) spans {
	var out spans
	for _, sp := range s {
		if sp.SpanContext().TraceID() == id {
			out = append(out, sp)
		}
	}
	return out
}

// named returns the spans called name that node (a peer ID, "" for any) made.
func (s spans) named(name, node string) spans {
	var out spans
	for _, sp := range s {
		if sp.Name() == name && (node == "" || attr(sp.Resource().Attributes(), "service.instance.id") == node) {
			out = append(out, sp)
		}
	}
	return out
}

// one returns the only span called name made by node, failing the test otherwise.
func (s spans) one(t *testing.T, name, node string) sdktrace.ReadOnlySpan {
	t.Helper()
	got := s.named(name, node)
	if len(got) != 1 {
		t.Fatalf("%d spans %q by %s, want 1; the trace:\n%s", len(got), name, node, s)
	}
	return got[0]
}

// childOf returns the span called name made by node whose parent is parent.
func (s spans) childOf(t *testing.T, parent sdktrace.ReadOnlySpan, name, node string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, sp := range s.named(name, node) {
		if sp.Parent().SpanID() == parent.SpanContext().SpanID() {
			return sp
		}
	}
	t.Fatalf("no span %q by %s under %q (%s); the trace:\n%s", name, node, parent.Name(), parent.SpanContext().SpanID(), s)
	return nil
}

func (s spans) String() string {
	var b strings.Builder
	for _, sp := range s {
		fmt.Fprintf(&b, "  %s %s parent %s by %s (%s)\n", sp.SpanContext().SpanID(), sp.Name(), sp.Parent().SpanID(),
			attr(sp.Resource().Attributes(), "service.role"), sp.InstrumentationScope().Name)
	}
	return b.String()
}

func attr(kvs []attribute.KeyValue, key string) string {
	for _, kv := range kvs {
		if string(kv.Key) == key {
			return kv.Value.Emit()
		}
	}
	return ""
}

// waitSpans waits until the recorder holds n spans called name in trace id.
func waitSpans(t *testing.T, rec *tracetest.SpanRecorder, id trace.TraceID, name string, n int) spans {
	t.Helper()
	var got spans
	if !actortest.Eventually(30*time.Second, func() bool {
		got = spans(rec.Ended()).inTrace(id)
		return len(got.named(name, "")) >= n
	}) {
		t.Fatalf("%d spans %q in the trace, want %d:\n%s", len(got.named(name, "")), name, n, got)
	}
	return got
}

// One REST request through a head and two workers is one trace: the client's own (it sent a
// traceparent), through the head's HeadExecute, the roll call and each worker's execution, and
// back, each span the child of the one that caused it, each named and attributed as spec §11
// says, on the node that made it.
func TestTracing_OneTraceFollowsARequestThroughHeadAndWorkers(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 2, SpanProcessors: []sdktrace.SpanProcessor{rec},
		Configure: func(_ int, c *config.Config) { withGuest(c) }})
	headID := net.Head.Host.ID().String()

	clientTrace := trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	clientSpan := trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7}
	body, err := json.Marshal(guestRequest(2))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+net.Head.HTTPAddress()+api.PathExecute, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", fmt.Sprintf("00-%s-%s-01", clientTrace, clientSpan))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out messages.ExecutionResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if out.Code != messages.CodeOK {
		t.Fatalf("execute: %+v", out)
	}

	// A sender's span ends once its stream is closed, which may be after the receiver's: wait
	// for the last of each.
	var all spans
	for name, n := range map[string]int{"MessageProcess MsgExecuteResponse": 2, "MessageSend MsgExecuteResponse": 2,
		"MessageSend MsgRollCallResponse": 2, "MessageSend MsgExecute": 2, "MessagePublish MsgRollCall": 1, "HeadExecute": 1} {
		all = waitSpans(t, rec, clientTrace, name, n)
	}
	all = spans(rec.Ended()).inTrace(clientTrace)

	headExec := all.one(t, "HeadExecute", headID)
	if headExec.Parent().SpanID() != clientSpan || !headExec.Parent().IsRemote() {
		t.Errorf("HeadExecute's parent is %s, want the client's span %s", headExec.Parent().SpanID(), clientSpan)
	}
	if a := headExec.Attributes(); attr(a, "execution.request.id") != out.RequestID || attr(a, "function.cid") != guest.CID.String() ||
		attr(a, "execution.node.count") != "2" || headExec.InstrumentationScope().Name != "b7s.Node" {
		t.Errorf("HeadExecute attributes %v, scope %s", a, headExec.InstrumentationScope().Name)
	}
	if r := headExec.Resource().Attributes(); attr(r, "service.name") != "b7s" || attr(r, "service.role") != "head" || attr(r, "service.version") != "test" {
		t.Errorf("head resource %v", r)
	}
	publish := all.childOf(t, headExec, "MessagePublish MsgRollCall", headID)

	for _, w := range net.Workers {
		id := w.Host.ID().String()
		// The roll call: published by the head, processed by the worker, answered.
		process := all.childOf(t, publish, "MessageProcess MsgRollCall", id)
		answer := all.childOf(t, process, "MessageSend MsgRollCallResponse", id)
		all.childOf(t, answer, "MessageProcess MsgRollCallResponse", headID)

		// The execution: MsgExecute to this worker, run, result back to the head.
		var send sdktrace.ReadOnlySpan
		for _, s := range all.named("MessageSend MsgExecute", headID) {
			if s.Parent().SpanID() == headExec.SpanContext().SpanID() && attr(s.Attributes(), "message.peer") == id {
				send = s
			}
		}
		if send == nil {
			t.Fatalf("no MessageSend MsgExecute to %s under HeadExecute:\n%s", id, all)
		}
		got := all.childOf(t, send, "MessageProcess MsgExecute", id)
		work := all.childOf(t, got, "WorkerExecute", id)
		fn := all.childOf(t, work, "ExecuteFunction", id)
		if fn.InstrumentationScope().Name != "b7s.Executor" || attr(fn.Attributes(), "function.method") != guest.Name {
			t.Errorf("ExecuteFunction scope %s attributes %v", fn.InstrumentationScope().Name, fn.Attributes())
		}
		result := all.childOf(t, work, "MessageSend MsgExecuteResponse", id)
		all.childOf(t, result, "MessageProcess MsgExecuteResponse", headID)
		if attr(work.Resource().Attributes(), "service.role") != "worker" {
			t.Errorf("worker resource %v", work.Resource().Attributes())
		}
	}
}

// An original b7s head writes W3C trace context into the messages' carrier and reads it from
// the answers (spec §3.1, §11). Played here by a bare libp2p host that speaks the wire: the
// worker's spans continue the head's trace, and its answers carry that trace back.
func TestTracing_CarrierFromAndToAnOriginalHead(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	net := daemontest.NewNetwork(t, daemontest.NetworkConfig{Workers: 1, SpanProcessors: []sdktrace.SpanProcessor{rec},
		Configure: func(_ int, c *config.Config) { withGuest(c) }})
	worker := net.Workers[0]
	workerID := worker.Host.ID().String()

	key, err := p2p.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	cfg := p2p.DefaultConfig()
	cfg.Address = "127.0.0.1"
	cfg.DisableDiscovery = true
	cfg.BootNodes = []string{worker.Host.Addresses()[0]}
	original, err := p2p.New(key, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = original.Close() })
	replies := make(chan []byte, 4)
	original.SetDirectHandler(func(from peer.ID, data []byte) {
		if from == worker.Host.ID() {
			replies <- data
		}
	}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := original.Subscribe(p2p.DefaultTopic); err != nil {
		t.Fatal(err)
	}
	if err := original.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := original.WaitTopicPeers(ctx, p2p.DefaultTopic, 1); err != nil {
		t.Fatal(err)
	}
	reply := func(what string) (messages.Message, trace.SpanContext) {
		t.Helper()
		for {
			select {
			case raw := <-replies:
				m, err := messages.Decode(raw, 0)
				if err != nil {
					t.Fatalf("decode %s: %v", raw, err)
				}
				if m.Type() != what {
					continue
				}
				return m, parseTraceparent(t, m.(messages.Traced).TraceCarrier()["traceparent"])
			case <-ctx.Done():
				t.Fatalf("no %s from the worker", what)
			}
		}
	}

	traceID := trace.TraceID{0x0a, 0xf7, 0x65, 0x19, 0x16, 0xcd, 0x43, 0xdd, 0x84, 0x48, 0xeb, 0x21, 0x1c, 0x80, 0x31, 0x9c}
	headSpan := trace.SpanID{0xb7, 0xad, 0x6b, 0x71, 0x69, 0x20, 0x33, 0x31}
	carrier := map[string]string{"traceparent": fmt.Sprintf("00-%s-%s-01", traceID, headSpan)}
	rc := messages.MsgRollCall{TraceInfo: messages.TraceInfo{Carrier: carrier}, Origin: original.ID(),
		FunctionID: guest.CID.String(), RequestID: "original-request"}
	data, err := messages.Encode(rc)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte(`{"carrier":{"traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"}`)) {
		t.Fatalf("the roll call is not written as the original writes it: %s", data)
	}
	if err := original.Publish(ctx, p2p.DefaultTopic, data); err != nil {
		t.Fatal(err)
	}
	m, sc := reply(messages.TypeRollCallResponse)
	if r := m.(messages.MsgRollCallResponse); r.Code != messages.CodeAccepted || sc.TraceID() != traceID {
		t.Fatalf("roll-call answer %+v in trace %s, want 202 in %s", r, sc.TraceID(), traceID)
	}
	all := waitSpans(t, rec, traceID, "MessageSend MsgRollCallResponse", 1)
	process := all.one(t, "MessageProcess MsgRollCall", workerID)
	if process.Parent().SpanID() != headSpan || !process.Parent().IsRemote() {
		t.Errorf("the worker's MessageProcess MsgRollCall has parent %s, want the head's %s", process.Parent().SpanID(), headSpan)
	}
	if send := all.childOf(t, process, "MessageSend MsgRollCallResponse", workerID); send.SpanContext().SpanID() != sc.SpanID() {
		t.Errorf("the answer's carrier names span %s, want the worker's MessageSend %s", sc.SpanID(), send.SpanContext().SpanID())
	}

	exec := messages.MsgExecute{TraceInfo: messages.TraceInfo{Carrier: carrier}, Request: guestRequest(1).Request(),
		RequestID: "original-request", Timestamp: time.Now().UTC()}
	if data, err = messages.Encode(exec); err != nil {
		t.Fatal(err)
	}
	if err := original.Send(ctx, worker.Host.ID(), data); err != nil {
		t.Fatal(err)
	}
	m, sc = reply(messages.TypeExecuteResponse)
	if r := m.(messages.MsgExecuteResponse); r.Code != messages.CodeOK || sc.TraceID() != traceID {
		t.Fatalf("result %+v in trace %s, want 200 in %s", r, sc.TraceID(), traceID)
	}
	all = waitSpans(t, rec, traceID, "MessageSend MsgExecuteResponse", 1)
	got := all.one(t, "MessageProcess MsgExecute", workerID)
	if got.Parent().SpanID() != headSpan {
		t.Errorf("MessageProcess MsgExecute has parent %s, want the head's %s", got.Parent().SpanID(), headSpan)
	}
	work := all.childOf(t, got, "WorkerExecute", workerID)
	if send := all.childOf(t, work, "MessageSend MsgExecuteResponse", workerID); send.SpanContext().SpanID() != sc.SpanID() {
		t.Errorf("the result's carrier names span %s, want the worker's MessageSend %s", sc.SpanID(), send.SpanContext().SpanID())
	}
}

// parseTraceparent reads a W3C traceparent (version 00).
func parseTraceparent(t *testing.T, s string) trace.SpanContext {
	t.Helper()
	parts := strings.Split(s, "-")
	if len(parts) != 4 || parts[0] != "00" {
		t.Fatalf("traceparent %q", s)
	}
	tid, err := trace.TraceIDFromHex(parts[1])
	if err != nil {
		t.Fatalf("traceparent %q: %v", s, err)
	}
	sid, err := trace.SpanIDFromHex(parts[2])
	if err != nil {
		t.Fatalf("traceparent %q: %v", s, err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid})
}
