package p2p

import (
	"context"
	"fmt"
	"time"

	dht "github.com/libp2p/go-libp2p-kad-dht"
	"github.com/libp2p/go-libp2p/core/discovery"
	drouting "github.com/libp2p/go-libp2p/p2p/discovery/routing"
)

// startDiscovery creates the one DHT (server mode, no bootstrap peers: its
// routing table fills from connected peers only) and one discovery loop per
// topic, the rendezvous namespace being the topic name (spec §1.4). b7s made
// a DHT per topic (quirk Q9); one is enough. Call with h.mu held.
func (h *Host) startDiscovery() error {
	kad, err := dht.New(h.host,
		dht.Mode(dht.ModeServer),
		dht.BootstrapPeers(), // explicit empty set: never the public IPFS bootstrappers
	)
	if err != nil {
		return fmt.Errorf("create dht: %w", err)
	}
	h.dht = kad
	if err := kad.Bootstrap(h.ctx); err != nil {
		return fmt.Errorf("bootstrap dht: %w", err)
	}
	disc := drouting.NewRoutingDiscovery(kad)
	for _, topic := range h.cfg.topicList() {
		h.goBackground(func() { h.discover(disc, topic) })
	}
	return nil
}

// discover advertises this node under ns and connects to the other
// providers of ns, every DiscoveryInterval, until discoveryConnectionThreshold
// new connections were made; after that it only renews the advertisement.
// Unlike dutil.Advertise, a failed advertisement (typically: the routing
// table was still empty) is retried at the next interval, not after 2 min.
func (h *Host) discover(disc *drouting.RoutingDiscovery, ns string) {
	log := h.log.With().Str("topic", ns).Logger()
	var (
		nextAdvertise time.Time
		connected     int
		timer         = time.NewTimer(0)
	)
	defer timer.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-timer.C:
		}

		wait := h.cfg.DiscoveryInterval
		if !time.Now().Before(nextAdvertise) {
			ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
			ttl, err := disc.Advertise(ctx, ns, discovery.TTL(advertiseTTL))
			cancel()
			if err != nil {
				log.Debug().Err(err).Msg("advertise failed; will retry")
			} else {
				nextAdvertise = time.Now().Add(ttl * 7 / 8)
				log.Debug().Dur("ttl", ttl).Msg("advertised")
			}
		}

		if connected < discoveryConnectionThreshold {
			connected += h.connectProviders(disc, ns)
		} else if !nextAdvertise.IsZero() {
			wait = max(time.Until(nextAdvertise), h.cfg.DiscoveryInterval)
		}
		timer.Reset(wait)
	}
}

// connectProviders connects to the providers of ns that are not connected
// yet and returns how many new connections it made.
func (h *Host) connectProviders(disc *drouting.RoutingDiscovery, ns string) int {
	ctx, cancel := context.WithTimeout(h.ctx, time.Minute)
	defer cancel()
	found, err := disc.FindPeers(ctx, ns, discovery.Limit(discoveryFindLimit))
	if err != nil {
		h.log.Debug().Err(err).Str("topic", ns).Msg("find peers failed")
		return 0
	}
	n := 0
	for info := range found {
		if info.ID == h.host.ID() || h.Connected(info.ID) || len(info.Addrs) == 0 {
			continue
		}
		if err := h.connect(ctx, info); err != nil {
			h.log.Debug().Err(err).Str("peer", info.ID.String()).Str("topic", ns).Msg("could not connect to discovered peer")
			continue
		}
		h.log.Debug().Str("peer", info.ID.String()).Str("topic", ns).Msg("connected to discovered peer")
		n++
	}
	return n
}
