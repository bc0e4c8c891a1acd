// Package inspect records the life of every actor of a node and renders the supervision tree.
//
// Every actor is spawned with props from Registry.Props, which attach a spawn middleware (who
// the parent is), a receiver middleware (lifecycle, messages handled, panics) and a mailbox
// probe (queue length). protoactor-go cannot list a root's children from outside, so this
// registry is the node's only complete picture of its tree. It must never hold a lock while an
// actor runs, and never change what an actor receives.
package inspect
