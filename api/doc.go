// Package api is the node's HTTP surface: the b7s REST paths (spec §9) on heads, and on every
// node with an HTTP address /metrics (Prometheus) and /debug/actors (the live supervision tree).
// It translates HTTP to calls on the node and back; it holds no node state of its own.
package api
