package messages

import (
	"fmt"

	"github.com/libp2p/go-libp2p/core/peer"
)

// peerHolder is a message that carries peer IDs, listed so Decode can check them.
type peerHolder interface {
	peerIDs() []peer.ID
}

// checkPeerIDs rejects peer IDs that decode but cannot be written back in a form any node reads:
// go-libp2p accepts a CIDv1 libp2p-key with any multihash, while the base58 form it writes is
// only readable for identity and sha2-256 multihashes (the only kinds real peer IDs use).
// Empty IDs are absent omitempty fields and pass.
func checkPeerIDs(m Message) error {
	h, ok := m.(peerHolder)
	if !ok {
		return nil
	}
	for _, id := range h.peerIDs() {
		if id == "" {
			continue
		}
		back, err := peer.Decode(id.String())
		if err != nil || back != id {
			return fmt.Errorf("peer ID %s cannot be written back in a readable form", id)
		}
	}
	return nil
}

func (m MsgRollCall) peerIDs() []peer.ID {
	return append([]peer.ID{m.Origin}, m.Attributes.peerIDs()...)
}

func (m MsgExecute) peerIDs() []peer.ID {
	return m.Config.Attributes.peerIDs()
}

func (m MsgExecuteResponse) peerIDs() []peer.ID {
	ids := append([]peer.ID{m.Cluster.Main}, m.Cluster.Peers...)
	for id, res := range m.Results {
		ids = append(ids, id, res.PBFT.Replica)
	}
	return ids
}

func (m MsgFormCluster) peerIDs() []peer.ID {
	ids := append([]peer.ID(nil), m.Peers...)
	for _, info := range m.ConnectionInfo {
		ids = append(ids, info.ID)
	}
	return ids
}

func (a *Attributes) peerIDs() []peer.ID {
	if a == nil {
		return nil
	}
	return append(append([]peer.ID(nil), a.Attestors.Each...), a.Attestors.OneOf...)
}
