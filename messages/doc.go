// Package messages is the b7s wire: every application message a b7s node sends or receives, the
// shared objects they carry (execution requests, results, clusters), the REST bodies of the head's
// API, result codes, validation and result aggregation.
//
// It owns the JSON form of all of these. Encodings are byte-identical to what the Go b7s node
// writes (key names, key order, omitempty rules, "type" as the last key), because signatures and
// PBFT digests are computed over re-marshalled structs: a byte of difference breaks interop.
// The reference is the original b7s node (§3 messages, §4.7 aggregation, §9 REST; the sections
// are listed in docs/architecture.md).
//
// It must never do I/O, read the clock, log, or hold mutable package state: every function is a
// pure function of its arguments, so any actor can call it from any goroutine. Transport framing,
// pipeline and role filtering (§2.1) and key management belong to p2p and the router actor.
package messages
