//go:build b7sdeps

// Package b7s pins the libraries the node is built on so that every package
// can import them without touching go.mod; see docs/decisions.md.
package b7s

import (
	_ "github.com/asynkron/protoactor-go/actor"
	_ "github.com/google/uuid"
	_ "github.com/hashicorp/golang-lru/v2"
	_ "github.com/hashicorp/raft"
	_ "github.com/ipfs/go-cid"
	_ "github.com/libp2p/go-libp2p"
	_ "github.com/libp2p/go-libp2p-kad-dht"
	_ "github.com/libp2p/go-libp2p-pubsub"
	_ "github.com/multiformats/go-multiaddr"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/prometheus/client_golang/prometheus/promhttp"
	_ "github.com/prometheus/client_golang/prometheus/testutil"
	_ "github.com/rs/zerolog"
	_ "github.com/spf13/pflag"
	_ "github.com/tetratelabs/wazero"
	_ "go.etcd.io/bbolt"
	_ "go.yaml.in/yaml/v3"
)
