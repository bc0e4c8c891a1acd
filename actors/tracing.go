package actors

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// How a trace follows a request through the actors (spec §11). A message's carrier is its
// trace context, so nothing beside the message has to travel between actors:
//   - the router starts "MessageProcess <type>" as a child of the inbound carrier and puts its
//     own context in the message's carrier before it hands the message on;
//   - every answer copies its request's carrier (messages' Response methods do), and the
//     outbox sends each message in a "MessageSend/MessagePublish <type>" span, a child of the
//     message's carrier, whose context it writes into the carrier on the wire;
//   - a head's request is a "HeadExecute" span, the parent of its roll call and MsgExecute; a
//     worker's execution is "WorkerExecute" with "ExecuteFunction" (tracer b7s.Executor) in it,
//     the parent of its result.
// With tracing off (a nil provider) none of this runs: each step tests one pointer.

// traceInbound starts and ends the MessageProcess span of a decoded inbound message and
// returns the message carrying that span as its parent context.
func traceInbound(tp *tracing.Provider, in *inbound, typ string, msg messages.Message) messages.Message {
	ctx := tp.FromCarrier(context.Background(), carrierOf(msg))
	attrs := []attribute.KeyValue{
		tracing.MessageType.String(typ),
		tracing.MessagePipeline.String(in.Pipeline.String()),
		tracing.MessagePeer.String(in.From.String()),
	}
	if !in.Pipeline.Direct {
		attrs = append(attrs, tracing.MessageTopic.String(in.Pipeline.Topic))
	}
	ctx, span := tp.Node().Start(ctx, tracing.SpanMessageProcess+" "+typ,
		trace.WithSpanKind(trace.SpanKindConsumer), trace.WithAttributes(attrs...))
	defer span.End()
	span.SetStatus(codes.Ok, "")
	return messages.WithCarrier(msg, tp.Carrier(ctx))
}

// traceOutbound starts the MessageSend (to a peer) or MessagePublish (on a topic) span of msg
// and returns msg carrying it; the caller ends the span once the message is out.
func traceOutbound(tp *tracing.Provider, msg messages.Message, to peer.ID, topic string) (messages.Message, trace.Span) {
	ctx := tp.FromCarrier(context.Background(), carrierOf(msg))
	name, attrs := tracing.SpanMessageSend, []attribute.KeyValue{tracing.MessageType.String(msg.Type())}
	if to != "" {
		attrs = append(attrs, tracing.MessagePipeline.String("direct"), tracing.MessagePeer.String(to.String()))
	} else {
		name = tracing.SpanMessagePublish
		attrs = append(attrs, tracing.MessagePipeline.String("pubsub"), tracing.MessageTopic.String(topic))
	}
	ctx, span := tp.Node().Start(ctx, name+" "+msg.Type(),
		trace.WithSpanKind(trace.SpanKindProducer), trace.WithAttributes(attrs...))
	return messages.WithCarrier(msg, tp.Carrier(ctx)), span
}

// endSpan records err, if any, as the span's status and ends it.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.SetStatus(codes.Error, err.Error())
	} else {
		span.SetStatus(codes.Ok, "")
	}
	span.End()
}

func carrierOf(msg messages.Message) map[string]string {
	if t, ok := msg.(messages.Traced); ok {
		return t.TraceCarrier()
	}
	return nil
}

// requestAttributes describe a request on its HeadExecute and WorkerExecute spans.
func requestAttributes(requestID string, r messages.Request) []attribute.KeyValue {
	consensus, _ := r.Config.Consensus()
	return []attribute.KeyValue{
		tracing.ExecutionRequestID.String(requestID),
		tracing.FunctionCID.String(r.FunctionID),
		tracing.FunctionMethod.String(r.Method),
		tracing.ExecutionNodeCount.Int(r.Config.NumberOfNodes),
		tracing.ExecutionConsensus.String(consensus.String()),
	}
}

// requestSpan is the span of one request's work on this node (HeadExecute, WorkerExecute) and
// the carrier its messages go out with. The zero value is tracing off.
type requestSpan struct {
	span    trace.Span
	carrier map[string]string
}

// start begins the span named name under parent (a carrier; nil starts a new trace).
func (s *requestSpan) start(tp *tracing.Provider, name string, kind trace.SpanKind, parent map[string]string, attrs []attribute.KeyValue) context.Context {
	ctx := tp.FromCarrier(context.Background(), parent)
	ctx, s.span = tp.Node().Start(ctx, name, trace.WithSpanKind(kind), trace.WithAttributes(attrs...))
	s.carrier = tp.Carrier(ctx)
	return ctx
}

// end ends the span with the request's outcome code; a code other than 200 is an error.
func (s *requestSpan) end(code messages.Code, msg string) {
	if s.span == nil {
		return
	}
	s.span.SetAttributes(attribute.String("execution.code", string(code)))
	if code == messages.CodeOK {
		s.span.SetStatus(codes.Ok, "")
	} else {
		s.span.SetStatus(codes.Error, "code "+string(code)+" "+msg)
	}
	s.span.End()
	s.span = nil
}

// executionTrace is a worker's execution: WorkerExecute (b7s.Node) under the MsgExecute's
// MessageProcess span, and ExecuteFunction (b7s.Executor) in it around the executor's run.
type executionTrace struct {
	work requestSpan
	fn   trace.Span
}

// start begins both spans and returns ctx carrying ExecuteFunction, for the executor.
func (t *executionTrace) start(tp *tracing.Provider, ctx context.Context, m messages.MsgExecute) context.Context {
	attrs := requestAttributes(m.RequestID, m.Request)
	parent := tp.FromCarrier(ctx, m.Carrier)
	parent, t.work.span = tp.Node().Start(parent, tracing.SpanWorkerExecute, trace.WithSpanKind(trace.SpanKindServer), trace.WithAttributes(attrs...))
	t.work.carrier = tp.Carrier(parent)
	ctx, t.fn = tp.Executor().Start(parent, tracing.SpanExecuteFunction, trace.WithAttributes(attrs...))
	return ctx
}

// end ends both spans with the execution's code; it reports whether they were open, so the
// result can carry WorkerExecute as its parent.
func (t *executionTrace) end(code messages.Code, msg string) bool {
	if t.work.span == nil {
		return false
	}
	if t.fn != nil {
		t.fn.SetAttributes(attribute.String("execution.code", string(code)))
		t.fn.End()
		t.fn = nil
	}
	t.work.end(code, msg)
	return true
}
