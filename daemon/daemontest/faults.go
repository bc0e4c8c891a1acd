package daemontest

import (
	"time"

	"github.com/b7s-actor/b7s/actors/actortest"
)

// Network faults between nodes of a test network. Each takes effect when it returns, and what
// a test waits on afterwards is a signal (an answer, a Rule's hits, the tree), never time.

// Partition cuts a and b apart, both ways: nothing one sends reaches the other's actors,
// sends between them fail, and neither counts the other as connected. Their libp2p connection
// stays up underneath, so Heal is immediate.
func (n *Network) Partition(a, b *Node) {
	a.Links.Cut(b.Host.ID())
	b.Links.Cut(a.Host.ID())
}

// Heal undoes Partition and waits until each sees the other connected again.
func (n *Network) Heal(a, b *Node) {
	n.t.Helper()
	a.Links.Mend(b.Host.ID())
	b.Links.Mend(a.Host.ID())
	if !actortest.Eventually(20*time.Second, func() bool {
		return a.Host.Connected(b.Host.ID()) && b.Host.Connected(a.Host.ID())
	}) {
		n.t.Fatalf("%s and %s are not connected after healing", a.Host.ID(), b.Host.ID())
	}
}

// Drop discards messages of type typ ("" for any) from one node to another, as the receiver
// would never see them: direct messages and topic messages alike.
func (n *Network) Drop(from, to *Node, typ string) *actortest.Rule {
	return to.Links.Drop(actortest.Match{Peer: from.Host.ID(), Type: typ, Dir: actortest.Inbound})
}

// Delay makes messages of type typ from one node reach another d late.
func (n *Network) Delay(from, to *Node, typ string, d time.Duration) *actortest.Rule {
	return to.Links.Delay(actortest.Match{Peer: from.Host.ID(), Type: typ, Dir: actortest.Inbound}, d)
}

// Hold keeps messages of type typ from one node to another at the receiver until the Rule is
// released: the test decides on its own signal when they arrive.
func (n *Network) Hold(from, to *Node, typ string) *actortest.Rule {
	return to.Links.Hold(actortest.Match{Peer: from.Host.ID(), Type: typ, Dir: actortest.Inbound})
}

// Kill stops a node at once, as a crashed process would stop answering: its actors, host and
// database close (Stop returns when they have).
func (n *Network) Kill(node *Node) { node.Stop() }

// Restart starts a killed node again: the same identity, configuration, database, workspace,
// ports and boot nodes. It returns once the node is up and, for a worker, back on the head's
// topic; the network's Head or Workers entry is the new node from then on.
func (n *Network) Restart(node *Node) *Node {
	n.t.Helper()
	fresh := n.start(node.cfg, node.key, node.bootNodes, node.index)
	switch {
	case node == n.Head:
		n.Head = fresh
		n.WaitMesh(n.Workers...)
	default:
		for i, w := range n.Workers {
			if w == node {
				n.Workers[i] = fresh
			}
		}
		if len(fresh.bootNodes) > 0 {
			n.WaitMesh(fresh)
		}
	}
	return fresh
}

// SilencePBFT makes the node's PBFT replicas silent (on) or not: every PBFT message in and out
// is dropped, as spec §6's B7S_PBFT_BYZANTINE does for a whole process.
func (n *Node) SilencePBFT(on bool) { n.pbftSilent.Store(on) }
