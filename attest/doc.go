// Package attest owns a worker's attestation: the original b7s-attributes format (attributes.bin:
// a zlib block padded to 1024 bytes, then the node's and the attestors' signatures), byte for byte;
// signing and verifying it with keys taken from peer IDs (Ed25519 and secp256k1); the rules by
// which a roll call's attributes match it (spec §3.2, §4.4 step 2); and loading it from a file or
// an IPNS gateway, and again when it changes.
//
// It knows nothing of actors: the worker reads the current attestation from a Holder, which the
// daemon fills through a Loader.
package attest
