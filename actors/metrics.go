package actors

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// nodeMetrics are the node-level counters of spec §11 plus our drop counter. One set per node,
// registered on the node's own registry (never the global one).
type nodeMetrics struct {
	messagesProcessed    *prometheus.CounterVec // {type}
	messagesProcessedOK  *prometheus.CounterVec // {type}
	messagesProcessedErr *prometheus.CounterVec // {type}
	messagesSent         *prometheus.CounterVec // {type}
	messagesPublished    *prometheus.CounterVec // {type,topic}
	messagesDropped      *prometheus.CounterVec // {pipeline,reason}
	topicMessages        *prometheus.CounterVec // {topic}
	topicSubscriptions   prometheus.Counter
	directMessages       prometheus.Counter
	rollCallsPublished   *prometheus.CounterVec // {function}
	rollCallsSeen        *prometheus.CounterVec // {function}
	rollCallsApplied     *prometheus.CounterVec // {function}
	rollCallsSkipped     *prometheus.CounterVec // {reason}
	functionExecutions   *prometheus.CounterVec // {function}
	info                 *prometheus.GaugeVec   // {id,version,role}
	// Consensus clusters of a worker, by consensus ("raft"); failed also by reason.
	clustersFormed    *prometheus.CounterVec // {consensus}
	clustersDisbanded *prometheus.CounterVec // {consensus}
	clustersFailed    *prometheus.CounterVec // {consensus,reason}
	clustersAlive     *prometheus.GaugeVec   // {consensus}
	raftExecute       *prometheus.SummaryVec // {function}
	pbftExecute       *prometheus.SummaryVec // {function}
	pbftDropped       *prometheus.CounterVec // {type,reason}
	pbftViewChanges   prometheus.Counter
	// functions and topics bound the label values that come from clients.
	functions *labelSet
	topics    *labelSet
}

// newMetrics creates the node metrics and registers them on reg (nil: unregistered, for tests).
func newMetrics(reg prometheus.Registerer) *nodeMetrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	m := &nodeMetrics{
		functions:            newLabelSet(maxFunctionLabels),
		topics:               newLabelSet(maxTopicLabels),
		messagesProcessed:    counter("b7s_node_messages_processed", "Messages that passed the router's filters, by type.", "type"),
		messagesProcessedOK:  counter("b7s_node_messages_processed_ok", "Messages delivered to their owning actor, by type.", "type"),
		messagesProcessedErr: counter("b7s_node_messages_processed_err", "Messages of a known type that were dropped, by type.", "type"),
		messagesSent:         counter("b7s_node_messages_sent", "Direct messages sent, by type.", "type"),
		messagesPublished:    counter("b7s_node_messages_published", "Messages published on a topic, by type and topic.", "type", "topic"),
		messagesDropped:      counter("b7s_node_messages_dropped", "Inbound messages dropped, by pipeline and reason.", "pipeline", "reason"),
		topicMessages:        counter("b7s_node_topic_messages", "Messages received on a topic.", "topic"),
		topicSubscriptions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_node_topic_subscriptions", Help: "Topic subscriptions made."}),
		directMessages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "b7s_node_direct_messages", Help: "Direct messages received."}),
		rollCallsPublished: counter("b7s_node_rollcalls_published", "Roll calls published, by function.", "function"),
		rollCallsSeen:      counter("b7s_node_rollcalls_seen", "Roll calls received, by function.", "function"),
		rollCallsApplied:   counter("b7s_node_rollcalls_applied", "Roll calls answered with an offer, by function.", "function"),
		rollCallsSkipped: counter("b7s_node_rollcalls_skipped",
			"Roll calls a worker stayed silent on, by reason: consensus, busy, or the attestation's (no_attestation, not_attested, attestor_each, attestor_one_of, attribute_missing, attribute_value).", "reason"),
		functionExecutions: counter("b7s_node_function_executions", "Function executions requested of this node, by function.", "function"),
		info: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "b7s_node_info", Help: "Always 1; labels describe the node."}, []string{"id", "version", "role"}),
		clustersFormed:    counter("b7s_node_clusters_formed", "Consensus clusters this worker joined that found a leader, by consensus.", "consensus"),
		clustersDisbanded: counter("b7s_node_clusters_disbanded", "Consensus clusters this worker left because their head disbanded them, by consensus.", "consensus"),
		clustersFailed: counter("b7s_node_clusters_failed",
			"Consensus clusters this worker refused or dropped, by consensus and reason: refused (a MsgFormCluster it cannot serve), start, no_leader (none within the formation timeout), abandoned (their head went silent).", "consensus", "reason"),
		clustersAlive: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "b7s_node_clusters_alive", Help: "Consensus clusters this worker is in now, by consensus."}, []string{"consensus"}),
		// Spec §11: a summary of the run of a request a Raft cluster committed, by function.
		raftExecute: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: "b7s_raft_execute_milliseconds", Help: "Runs of requests committed by a Raft cluster, in milliseconds, by function.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Second}, []string{"function"}),
		pbftExecute: prometheus.NewSummaryVec(prometheus.SummaryOpts{
			Name: "b7s_pbft_execute_milliseconds", Help: "Requests a PBFT cluster executed, from the request's timestamp to the result, in milliseconds, by function.",
			Objectives: map[float64]float64{0.5: 0.05, 0.9: 0.01, 0.99: 0.001}, MaxAge: 10 * time.Second}, []string{"function"}),
		pbftDropped: counter("b7s_pbft_messages_dropped", "PBFT messages a replica refused, by message type and reason.", "type", "reason"),
		pbftViewChanges: prometheus.NewCounter(prometheus.CounterOpts{Name: "b7s_pbft_view_changes",
			Help: "Views this worker's PBFT replicas moved to (a silent or faulty primary replaced)."}),
	}
	if reg != nil {
		reg.MustRegister(m.clustersFormed, m.clustersDisbanded, m.clustersFailed, m.clustersAlive, m.raftExecute,
			m.pbftExecute, m.pbftDropped, m.pbftViewChanges)
		reg.MustRegister(m.messagesProcessed, m.messagesProcessedOK, m.messagesProcessedErr, m.messagesSent,
			m.messagesPublished, m.messagesDropped, m.topicMessages, m.topicSubscriptions, m.directMessages,
			m.rollCallsPublished, m.rollCallsSeen, m.rollCallsApplied, m.rollCallsSkipped, m.functionExecutions, m.info)
	}
	return m
}
