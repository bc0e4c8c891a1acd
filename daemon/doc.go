// Package daemon assembles a whole node from its configuration: the bbolt store, the libp2p
// host, the actor tree and the HTTP server, started in the spec's order and stopped in reverse.
// cmd/b7s and the in-process test network both build nodes through it, so what the tests run is
// what users run. It owns no behaviour of its own.
package daemon
