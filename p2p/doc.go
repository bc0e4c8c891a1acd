// Package p2p is the node's libp2p layer: identity key files, the libp2p host
// (TCP, QUIC-v1 and optionally websocket listeners; TLS/Noise; yamux), boot
// nodes and dial-back peers, one Kademlia DHT used for rendezvous discovery
// per topic, gossipsub topics, the direct-message stream protocol
// (/b7s/work/1.0.0) and the bbolt peer store used for dial-back on restart.
//
// It moves raw bytes: it knows nothing about b7s message types, actors,
// roles or execution. Callers decode what it hands them.
//
// What it must never do:
//   - contact anything it was not told about: no NAT port mapping (UPnP/PMP),
//     no relay client or AutoRelay, no hole punching, no mDNS, no public DHT
//     bootstrap peers. It dials only boot nodes, saved dial-back peers, peers
//     found through the DHT of peers it is connected to, and peers a caller
//     sends to;
//   - dial itself or a peer it is already connected to;
//   - use global state (prometheus default registry, package-level loggers);
//   - leave goroutines behind after Close.
package p2p
