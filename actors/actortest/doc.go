// Package actortest is the node's actor test harness: spawn one actor with probes in place of
// its peers, send it messages and expect what it sends, each with a deadline; run such tests in
// virtual time under testing/synctest; and inject faults (a crash of any actor) through a
// receiver middleware that a node under test is built with. Whole-node networks live one layer
// up, in daemon/daemontest. It is imported only by tests.
package actortest
