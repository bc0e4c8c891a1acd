// Package e2e holds the whole-node tests: real heads and workers (daemon/daemontest) on
// 127.0.0.1, driven through the REST API with the project's own client (api/client) and over
// libp2p, running a function built from this repository's sources (testdata/guest). The tests
// sit above every package they exercise, so no lower package has to export anything for them.
package e2e
