// Package client is the one typed Go client of a node's HTTP API: the function paths of a head
// (execute, install, result; spec §9) and the paths every node with an HTTP address serves
// (health, /debug/actors, /metrics). The b7s command and the end-to-end tests call nodes only
// through it, so paths, body bounds and error reporting live in one place.
//
// A Client holds no state beyond its configuration and is safe for concurrent use.
package client
