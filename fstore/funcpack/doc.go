// Package funcpack packs a WebAssembly module the way a Blockless function is published (a
// .tar.gz holding the module at its root, a manifest that points at the archive with its
// SHA-256, and a CID) and serves such packages the way an IPFS gateway would. The devnet uses it
// to offer its example function to workers, and tests use it to install functions built from
// this repository's own sources.
//
// It never contacts anything: a Server listens on 127.0.0.1 only, and Handler serves from
// memory, so it also works behind an in-memory http.RoundTripper.
package funcpack
