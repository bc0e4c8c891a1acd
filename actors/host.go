package actors

import (
	"context"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/p2p"
)

// Host is what the node's actors need of the libp2p host. p2p.Host implements it; actor tests
// use a fake, so that a listener or the router is tested without a network.
type Host interface {
	ID() peer.ID
	// Connected says whether there is a live connection to p (roll-call answers count only from
	// live peers).
	Connected(p peer.ID) bool
	// AddrInfo is what the host knows of p's addresses (a head passes them on in
	// MsgFormCluster, so that replicas not yet connected can reach each other).
	AddrInfo(p peer.ID) peer.AddrInfo
	Publish(ctx context.Context, topic string, data []byte) error
	Send(ctx context.Context, to peer.ID, data []byte) error
	Subscribe(topic string) (p2p.Subscription, error)
	// SetDirectHandler installs the callbacks of the direct-message protocol; libp2p calls them
	// on its own goroutines.
	SetDirectHandler(onMessage func(from peer.ID, data []byte), onError func(from peer.ID, err error))
}
