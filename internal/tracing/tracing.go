package tracing

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.41.0"
	"go.opentelemetry.io/otel/trace"

	"github.com/b7s-actor/b7s/internal/check"
)

// Tracer names (spec §11).
const (
	TracerNode     = "b7s.Node"
	TracerExecutor = "b7s.Executor"
)

// Span names (spec §11). Message spans are named by their kind and the message type:
// "MessageProcess MsgRollCall".
const (
	SpanHeadExecute     = "HeadExecute"
	SpanWorkerExecute   = "WorkerExecute"
	SpanExecuteFunction = "ExecuteFunction"
	SpanMessageProcess  = "MessageProcess"
	SpanMessageSend     = "MessageSend"
	SpanMessagePublish  = "MessagePublish"
)

// Attribute keys (spec §11).
const (
	MessageType        = attribute.Key("message.type")
	MessagePipeline    = attribute.Key("message.pipeline")
	MessageTopic       = attribute.Key("message.topic")
	MessagePeer        = attribute.Key("message.peer")
	FunctionCID        = attribute.Key("function.cid")
	FunctionMethod     = attribute.Key("function.method")
	ExecutionNodeCount = attribute.Key("execution.node.count")
	ExecutionConsensus = attribute.Key("execution.consensus")
	ExecutionRequestID = attribute.Key("execution.request.id")
	ServiceRole        = attribute.Key("service.role")
)

// Config is what tracing exports and how often.
type Config struct {
	Enable bool
	// BatchTimeout is the longest a span waits to be exported with others; 0 exports each
	// span as it ends, synchronously (what the original's configuration does, spec Q26).
	BatchTimeout time.Duration
	// GRPCEndpoint and HTTPEndpoint are OTLP collectors (host:port, plain text); either,
	// both or neither (spans are then made and dropped).
	GRPCEndpoint string
	HTTPEndpoint string
}

// DefaultConfig is tracing off, with the original's intended batch timeout of one second.
func DefaultConfig() Config { return Config{BatchTimeout: time.Second} }

// Validate reports settings out of bounds.
func (c Config) Validate() error {
	return check.Min("BatchTimeout", c.BatchTimeout, 0)
}

// Resource names the node in every span it exports.
type Resource struct {
	Version string // service.version
	PeerID  string // service.instance.id
	Role    string // service.role
}

func (r Resource) resource() *resource.Resource {
	return resource.NewWithAttributes(semconv.SchemaURL,
		semconv.ServiceName("b7s"),
		semconv.ServiceVersion(r.Version),
		semconv.ServiceInstanceID(r.PeerID),
		ServiceRole.String(r.Role),
	)
}

// Provider is one node's tracing. A nil *Provider is tracing off: every method is safe on it
// and does nothing.
type Provider struct {
	sdk      *sdktrace.TracerProvider
	prop     propagation.TextMapPropagator
	node     trace.Tracer
	executor trace.Tracer
}

// New returns the node's tracing: nil when cfg is off and no processor is given. Processors
// receive every span besides the exporters (tests pass a tracetest.SpanRecorder). Exporters
// connect lazily: a collector that is down loses spans, never blocks the node.
func New(ctx context.Context, cfg Config, res Resource, processors ...sdktrace.SpanProcessor) (*Provider, error) {
	if !cfg.Enable && len(processors) == 0 {
		return nil, nil
	}
	opts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res.resource())}
	exporters, err := exporters(ctx, cfg)
	if err != nil {
		return nil, err
	}
	for _, e := range exporters {
		if cfg.BatchTimeout == 0 {
			opts = append(opts, sdktrace.WithSyncer(e))
		} else {
			opts = append(opts, sdktrace.WithBatcher(e, sdktrace.WithBatchTimeout(cfg.BatchTimeout)))
		}
	}
	for _, p := range processors {
		opts = append(opts, sdktrace.WithSpanProcessor(p))
	}
	sdk := sdktrace.NewTracerProvider(opts...)
	return &Provider{
		sdk:      sdk,
		prop:     propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		node:     sdk.Tracer(TracerNode),
		executor: sdk.Tracer(TracerExecutor),
	}, nil
}

func exporters(ctx context.Context, cfg Config) ([]sdktrace.SpanExporter, error) {
	var out []sdktrace.SpanExporter
	if cfg.GRPCEndpoint != "" {
		e, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(cfg.GRPCEndpoint), otlptracegrpc.WithInsecure())
		if err != nil {
			return nil, fmt.Errorf("OTLP gRPC exporter %s: %w", cfg.GRPCEndpoint, err)
		}
		out = append(out, e)
	}
	if cfg.HTTPEndpoint != "" {
		e, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpoint(cfg.HTTPEndpoint), otlptracehttp.WithInsecure())
		if err != nil {
			return nil, errors.Join(fmt.Errorf("OTLP HTTP exporter %s: %w", cfg.HTTPEndpoint, err), shutdownAll(ctx, out))
		}
		out = append(out, e)
	}
	return out, nil
}

func shutdownAll(ctx context.Context, es []sdktrace.SpanExporter) error {
	var errs []error
	for _, e := range es {
		errs = append(errs, e.Shutdown(ctx))
	}
	return errors.Join(errs...)
}

// Enabled reports whether spans are made.
func (p *Provider) Enabled() bool { return p != nil }

// Node is the tracer of the node's message and execution spans (b7s.Node).
func (p *Provider) Node() trace.Tracer {
	if p == nil {
		return noopTracer
	}
	return p.node
}

// Executor is the tracer of function runs (b7s.Executor).
func (p *Provider) Executor() trace.Tracer {
	if p == nil {
		return noopTracer
	}
	return p.executor
}

// Carrier is the trace context of ctx as a message carries it: nil when tracing is off or ctx
// holds no span.
func (p *Provider) Carrier(ctx context.Context) map[string]string {
	if p == nil {
		return nil
	}
	c := propagation.MapCarrier{}
	p.prop.Inject(ctx, c)
	if len(c) == 0 {
		return nil
	}
	return c
}

// FromCarrier returns ctx with the trace context of a message's carrier (the parent of what
// the node does with it). A missing or malformed carrier leaves ctx as it is.
func (p *Provider) FromCarrier(ctx context.Context, carrier map[string]string) context.Context {
	if p == nil || len(carrier) == 0 {
		return ctx
	}
	return p.prop.Extract(ctx, propagation.MapCarrier(carrier))
}

// FromHTTP returns ctx with the trace context of an HTTP request's traceparent, tracestate
// and baggage headers, so that a REST client's own trace continues on the node.
func (p *Provider) FromHTTP(ctx context.Context, h http.Header) context.Context {
	if p == nil {
		return ctx
	}
	return p.prop.Extract(ctx, propagation.HeaderCarrier(h))
}

// Shutdown exports what is buffered and stops the exporters, within ctx.
func (p *Provider) Shutdown(ctx context.Context) error {
	if p == nil {
		return nil
	}
	if err := p.sdk.Shutdown(ctx); err != nil {
		return fmt.Errorf("stop tracing: %w", err)
	}
	return nil
}
