package p2p

import (
	"encoding/json"
	"fmt"

	"github.com/libp2p/go-libp2p/core/event"
	"github.com/libp2p/go-libp2p/core/network"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/host/eventbus"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"
	"go.etcd.io/bbolt"
)

// peerBucket holds one record per peer ever connected, keyed by the binary
// peer ID (spec §12; b7s used the Pebble prefix 0x01 instead of a bucket).
var peerBucket = []byte("peers")

// peerRecord is blockless.Peer, byte-compatible JSON.
type peerRecord struct {
	ID           peer.ID       `json:"id,omitempty"`
	MultiAddress string        `json:"multiaddress,omitempty"`
	AddrInfo     peer.AddrInfo `json:"addrinfo"`
}

func ensurePeerBucket(db *bbolt.DB) error {
	return db.Update(func(tx *bbolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(peerBucket); err != nil {
			return fmt.Errorf("create bucket %s: %w", peerBucket, err)
		}
		return nil
	})
}

// startPeerRecorder saves a peer when a connection is established and again
// once identify has told us its listen addresses.
func (h *Host) startPeerRecorder() error {
	sub, err := h.host.EventBus().Subscribe([]any{
		new(event.EvtPeerConnectednessChanged),
		new(event.EvtPeerIdentificationCompleted),
	}, eventbus.BufSize(256)) // bbolt writes are slow; do not stall the emitters
	if err != nil {
		return fmt.Errorf("subscribe to peer events: %w", err)
	}
	h.events = sub
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		for e := range sub.Out() { // closed by Close
			switch ev := e.(type) {
			case event.EvtPeerConnectednessChanged:
				if ev.Connectedness == network.Connected {
					h.recordPeer(ev.Peer, nil)
				}
			case event.EvtPeerIdentificationCompleted:
				h.recordPeer(ev.Peer, ev.ListenAddrs)
			}
		}
	}()
	return nil
}

// recordPeer saves p. Addresses, best first: the identified listen addresses,
// the peerstore's addresses (identified or dialled), and only then the
// connection's remote address, which for inbound connections is an
// ephemeral port (the fix for quirk Q23).
func (h *Host) recordPeer(p peer.ID, listen []ma.Multiaddr) {
	if p == h.host.ID() {
		return
	}
	addrs := dialable(listen)
	if len(addrs) == 0 {
		addrs = dialable(h.host.Peerstore().Addrs(p))
	}
	var remote ma.Multiaddr
	if conns := h.host.Network().ConnsToPeer(p); len(conns) > 0 {
		remote = conns[0].RemoteMultiaddr()
	}
	if len(addrs) == 0 && remote != nil {
		addrs = []ma.Multiaddr{remote}
	}
	if len(addrs) == 0 {
		return
	}
	rec := peerRecord{
		ID:           p,
		MultiAddress: preferredAddr(addrs, remote).String(),
		AddrInfo:     peer.AddrInfo{ID: p, Addrs: addrs},
	}
	if err := h.savePeer(rec); err != nil {
		h.log.Warn().Err(err).Str("peer", p.String()).Msg("could not save peer")
		return
	}
	h.log.Trace().Str("peer", p.String()).Str("multiaddress", rec.MultiAddress).Msg("peer saved")
}

// dialable drops addresses nobody can dial back: unspecified IPs and relay
// circuits (we run no relay client).
func dialable(addrs []ma.Multiaddr) []ma.Multiaddr {
	out := make([]ma.Multiaddr, 0, len(addrs))
	for _, a := range addrs {
		if manet.IsIPUnspecified(a) {
			continue
		}
		if _, err := a.ValueForProtocol(ma.P_CIRCUIT); err == nil {
			continue
		}
		out = append(out, a)
	}
	return out
}

// preferredAddr picks the address for the "multiaddress" field: the first
// one on the same transport as the live connection, else the first.
func preferredAddr(addrs []ma.Multiaddr, remote ma.Multiaddr) ma.Multiaddr {
	if remote != nil {
		for _, a := range addrs {
			if sameTransport(a, remote) {
				return a
			}
		}
	}
	return addrs[0]
}

func sameTransport(a, b ma.Multiaddr) bool {
	pa, pb := a.Protocols(), b.Protocols()
	if len(pa) != len(pb) {
		return false
	}
	for i := range pa {
		if pa[i].Code != pb[i].Code {
			return false
		}
	}
	return true
}

func (h *Host) savePeer(rec peerRecord) error {
	value, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode peer %s: %w", rec.ID, err)
	}
	err = h.db.Update(func(tx *bbolt.Tx) error {
		return tx.Bucket(peerBucket).Put([]byte(rec.ID), value)
	})
	if err != nil {
		return fmt.Errorf("store peer %s: %w", rec.ID, err)
	}
	return nil
}

// SavedPeers returns every peer in the store. A record with no AddrInfo
// addresses falls back to its "multiaddress". Undecodable records are
// skipped. Without a db it returns nothing.
func (h *Host) SavedPeers() ([]peer.AddrInfo, error) {
	if h.db == nil {
		return nil, nil
	}
	var out []peer.AddrInfo
	err := h.db.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(peerBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			info, err := decodePeerRecord(k, v)
			if err != nil {
				h.log.Warn().Err(err).Msg("skipping saved peer")
				return nil
			}
			out = append(out, info)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read saved peers: %w", err)
	}
	return out, nil
}

func decodePeerRecord(key, value []byte) (peer.AddrInfo, error) {
	id, err := peer.IDFromBytes(key)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("peer key %x: %w", key, err)
	}
	var rec peerRecord
	if err := json.Unmarshal(value, &rec); err != nil {
		return peer.AddrInfo{}, fmt.Errorf("decode peer %s: %w", id, err)
	}
	info := peer.AddrInfo{ID: id, Addrs: rec.AddrInfo.Addrs}
	if len(info.Addrs) == 0 && rec.MultiAddress != "" {
		addr, err := ma.NewMultiaddr(rec.MultiAddress)
		if err != nil {
			return peer.AddrInfo{}, fmt.Errorf("peer %s multiaddress %q: %w", id, rec.MultiAddress, err)
		}
		info.Addrs = []ma.Multiaddr{addr}
	}
	return info, nil
}
