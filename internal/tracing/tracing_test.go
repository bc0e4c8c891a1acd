package tracing

import (
	"context"
	"net/http"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

func TestNilProvider_IsOffAndSafe(t *testing.T) {
	var p *Provider
	ctx := context.Background()
	if p.Enabled() || p.Carrier(ctx) != nil || p.FromCarrier(ctx, map[string]string{"traceparent": "x"}) != ctx ||
		p.FromHTTP(ctx, http.Header{}) != ctx || p.Shutdown(ctx) != nil {
		t.Fatal("a nil provider did something")
	}
	_, span := p.Node().Start(ctx, "x")
	if span.SpanContext().IsValid() {
		t.Fatal("a nil provider made a real span")
	}
	if got, err := New(ctx, DefaultConfig(), Resource{}); got != nil || err != nil {
		t.Fatalf("tracing off: %v %v, want nil", got, err)
	}
}

func TestProvider_CarrierRoundTripAndResource(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	p, err := New(context.Background(), DefaultConfig(), Resource{Version: "v1", PeerID: "12D3KooWpeer", Role: "worker"},
		[]sdktrace.SpanProcessor{rec}...)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	ctx, span := p.Node().Start(context.Background(), SpanHeadExecute)
	carrier := p.Carrier(ctx)
	if carrier["traceparent"] == "" {
		t.Fatalf("carrier %v has no traceparent", carrier)
	}
	child, cspan := p.Executor().Start(p.FromCarrier(context.Background(), carrier), SpanExecuteFunction)
	cspan.End()
	span.End()
	if got := trace.SpanContextFromContext(child); got.TraceID() != span.SpanContext().TraceID() {
		t.Fatalf("child in trace %s, want %s", got.TraceID(), span.SpanContext().TraceID())
	}
	ended := rec.Ended()
	if len(ended) != 2 || ended[0].Parent().SpanID() != span.SpanContext().SpanID() || ended[0].InstrumentationScope().Name != TracerExecutor {
		t.Fatalf("spans %v", ended)
	}
	want := map[string]string{"service.name": "b7s", "service.version": "v1", "service.instance.id": "12D3KooWpeer", "service.role": "worker"}
	for _, kv := range ended[1].Resource().Attributes() {
		if w, ok := want[string(kv.Key)]; ok && kv.Value.Emit() == w {
			delete(want, string(kv.Key))
		}
	}
	if len(want) > 0 {
		t.Errorf("resource lacks %v", want)
	}
	h := http.Header{}
	h.Set("traceparent", carrier["traceparent"])
	if got := trace.SpanContextFromContext(p.FromHTTP(context.Background(), h)); got.SpanID() != span.SpanContext().SpanID() {
		t.Errorf("traceparent header gave span %s, want %s", got.SpanID(), span.SpanContext().SpanID())
	}
}

// Exporters connect lazily: a node whose collector is down starts at once, and its shutdown
// ends with the bound it is given (the daemon gives 5 s) rather than retrying for ever.
func TestProvider_ExportersToNowhereDoNotBlock(t *testing.T) {
	cfg := Config{Enable: true, BatchTimeout: time.Second, GRPCEndpoint: "127.0.0.1:1", HTTPEndpoint: "127.0.0.1:1"}
	p, err := New(context.Background(), cfg, Resource{PeerID: "p", Role: "head"})
	if err != nil {
		t.Fatal(err)
	}
	_, span := p.Node().Start(context.Background(), SpanHeadExecute)
	span.End()
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	_ = p.Shutdown(ctx) // the export fails: nothing listens
}
