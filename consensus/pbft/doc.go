// Package pbft is Practical Byzantine Fault Tolerance for requests with
// "consensus_algorithm":"pbft" (spec §6): the wire messages, byte for byte as the original
// writes them (envelopes, field order, digests, signatures), and the replica's protocol as a
// pure state machine (Step(input, now) → effects) with no I/O and no clock. It knows nothing of
// actors or libp2p streams.
package pbft
