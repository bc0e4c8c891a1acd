// Package p2ptest starts real libp2p hosts for tests: TCP on 127.0.0.1 alone, no relay, no
// metrics, closed when the test ends.
package p2ptest

import (
	"context"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p"
	"github.com/libp2p/go-libp2p/core/host"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/transport/tcp"
)

// connectTimeout bounds connecting the hosts of Connected.
const connectTimeout = 15 * time.Second

// Host starts one host listening on 127.0.0.1.
func Host(t testing.TB) host.Host {
	t.Helper()
	h, err := libp2p.New(libp2p.ListenAddrStrings("/ip4/127.0.0.1/tcp/0"), libp2p.Transport(tcp.NewTCPTransport),
		libp2p.DisableRelay(), libp2p.DisableMetrics())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = h.Close() })
	return h
}

// Connected starts n hosts, each connected to every other.
func Connected(t testing.TB, n int) []host.Host {
	t.Helper()
	hosts := make([]host.Host, n)
	for i := range hosts {
		hosts[i] = Host(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), connectTimeout)
	defer cancel()
	for i, a := range hosts {
		for _, b := range hosts[i+1:] {
			if err := a.Connect(ctx, peer.AddrInfo{ID: b.ID(), Addrs: b.Addrs()}); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hosts
}
