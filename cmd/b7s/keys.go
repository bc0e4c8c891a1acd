package main

import (
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/p2p"
)

func p2pLoadOrCreate(dir string) (crypto.PrivKey, error) { return p2p.LoadOrCreateKeyFiles(dir) }

func peerID(key crypto.PrivKey) (peer.ID, error) { return peer.IDFromPrivateKey(key) }
