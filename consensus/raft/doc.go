// Package raft runs one node's replica of a request's Raft cluster (spec §5) with
// hashicorp/raft: the transport over libp2p streams, wire-compatible with the original's
// go-libp2p-raft (NetworkTransport's msgpack RPCs with no framing of their own, server IDs that
// are base58 peer IDs), the FSM that hands each committed request to the node once, and the
// timing that gets a cluster of our nodes a leader in milliseconds.
//
// A node may be in many clusters at once: each has its own protocol (ClusterProtocol), and
// the original's shared ProtocolID is routed by sender for original peers (see Mux). It knows
// nothing of actors; actors/clusters.go drives it.
package raft
