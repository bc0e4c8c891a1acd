// Package actorsystem makes the protoactor actor systems of the node and of its tests: an
// actor.ActorSystem whose registry of local processes is sized for a node.
//
// protoactor's registry is 1,024 buckets of 32 shards, 32,768 Go maps. Each map gets storage
// the first time an ID hashes to it and keeps it (Go maps do not shrink), and a node makes a
// few actors and futures per request with fresh IDs, so after some thousand requests every map
// holds some: about 10 MiB of live heap that never goes away, a third of a node's memory
// target, and the collector scans it in every cycle (asynkron/protoactor-go#1110). A node has
// hundreds of processes at once, not millions: one bucket of 32 shards holds them with the same
// per-shard locking, in kilobytes.
package actorsystem

import (
	"github.com/asynkron/protoactor-go/actor"
	cmap "github.com/orcaman/concurrent-map"
)

// New is actor.NewActorSystem with the compact registry.
func New(options ...actor.ConfigOption) *actor.ActorSystem {
	sys := actor.NewActorSystem(options...)
	compact(sys.ProcessRegistry)
	return sys
}

// compact moves what the registry holds (the event stream and the dead-letter process, at this
// point) into a registry of one bucket. It must run before the system is used: the registry's
// bucket slice is read without a lock.
func compact(reg *actor.ProcessRegistryValue) {
	small := &actor.SliceMap{LocalPIDs: []cmap.ConcurrentMap{cmap.New()}}
	for _, bucket := range reg.LocalPIDs.LocalPIDs {
		bucket.IterCb(func(id string, process any) { small.LocalPIDs[0].Set(id, process) })
	}
	reg.LocalPIDs = small
}
