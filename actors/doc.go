// Package actors is the node itself: the supervision tree of protoactor-go actors that turns
// libp2p events into actor messages, routes wire messages to the actor that owns their type,
// runs requests on a head and executions on a worker, installs functions, and keeps every
// timeout and retry as a scheduled message.
//
// # What it owns
//
// Start builds the tree for a role on a Host (what the actors need of libp2p; p2p.Host is the
// real one) and returns a Node: the head API (Execute, Install, Result), the inspection
// registry, and Stop. The pure rules live in subpackages (request: the head's per-request state
// machine) and are fed by actors here; inspect records the tree; actortest is the harness.
//
// # What it must never do
//
// No actor blocks its mailbox on I/O: sends, downloads and WebAssembly runs happen off the
// actor's goroutine and come back as messages. No actor shares state with another except
// through messages (the result cache and the registry are the two concurrent-safe exceptions,
// read by HTTP handlers). Nothing here reads configuration files, flags or the environment: the
// caller (daemon) passes a Config.
package actors
