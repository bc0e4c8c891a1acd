package actors

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the node-level counters of spec §11 plus our drop counter. One set per node,
// registered on the node's own registry (never the global one).
type Metrics struct {
	MessagesProcessed    *prometheus.CounterVec // {type}
	MessagesProcessedOK  *prometheus.CounterVec // {type}
	MessagesProcessedErr *prometheus.CounterVec // {type}
	MessagesSent         *prometheus.CounterVec // {type}
	MessagesPublished    *prometheus.CounterVec // {type,topic}
	MessagesDropped      *prometheus.CounterVec // {pipeline,reason}
	TopicMessages        *prometheus.CounterVec // {topic}
	TopicSubscriptions   prometheus.Counter
	DirectMessages       prometheus.Counter
	RollCallsPublished   *prometheus.CounterVec // {function}
	RollCallsSeen        *prometheus.CounterVec // {function}
	RollCallsApplied     *prometheus.CounterVec // {function}
	FunctionExecutions   *prometheus.CounterVec // {function}
	Info                 *prometheus.GaugeVec   // {id,version,role}
}

// NewMetrics creates the node metrics and registers them on reg (nil: unregistered, for tests).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		MessagesProcessed:    counter("b7s_node_messages_processed", "Messages that passed the router's filters, by type.", "type"),
		MessagesProcessedOK:  counter("b7s_node_messages_processed_ok", "Messages delivered to their owning actor, by type.", "type"),
		MessagesProcessedErr: counter("b7s_node_messages_processed_err", "Messages of a known type that were dropped, by type.", "type"),
		MessagesSent:         counter("b7s_node_messages_sent", "Direct messages sent, by type.", "type"),
		MessagesPublished:    counter("b7s_node_messages_published", "Messages published on a topic, by type and topic.", "type", "topic"),
		MessagesDropped:      counter("b7s_node_messages_dropped", "Inbound messages dropped, by pipeline and reason.", "pipeline", "reason"),
		TopicMessages:        counter("b7s_node_topic_messages", "Messages received on a topic.", "topic"),
		TopicSubscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_node_topic_subscriptions", Help: "Topic subscriptions made."}),
		DirectMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_node_direct_messages", Help: "Direct messages received."}),
		RollCallsPublished: counter("b7s_node_rollcalls_published", "Roll calls published, by function.", "function"),
		RollCallsSeen:      counter("b7s_node_rollcalls_seen", "Roll calls received, by function.", "function"),
		RollCallsApplied:   counter("b7s_node_rollcalls_applied", "Roll calls answered with an offer, by function.", "function"),
		FunctionExecutions: counter("b7s_node_function_executions", "Function executions requested of this node, by function.", "function"),
		Info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "b7s_node_info", Help: "Always 1; labels describe the node."}, []string{"id", "version", "role"}),
	}
	if reg != nil {
		reg.MustRegister(m.MessagesProcessed, m.MessagesProcessedOK, m.MessagesProcessedErr, m.MessagesSent,
			m.MessagesPublished, m.MessagesDropped, m.TopicMessages, m.TopicSubscriptions, m.DirectMessages,
			m.RollCallsPublished, m.RollCallsSeen, m.RollCallsApplied, m.FunctionExecutions, m.Info)
	}
	return m
}
