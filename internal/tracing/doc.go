// Package tracing is a node's OpenTelemetry tracing as the original b7s has it (spec §11): a
// tracer provider whose resource names the node (service.name b7s, service.version,
// service.instance.id = peer ID, service.role), OTLP exporters over gRPC and HTTP, the spec's
// tracer, span and attribute names, and the W3C trace context (traceparent, tracestate,
// baggage) carried in a message's "carrier" object.
//
// Tracing is off unless asked for: the node then holds a nil *Provider, whose methods do
// nothing and cost a pointer test, so the message paths stay as fast as without tracing. The
// provider is the node's own, never OpenTelemetry's global one, so one process can run several
// nodes (the tests do) each with its own resource.
package tracing
