// Package actortest is the node's actor test harness: spawn one actor with probes in place of
// its peers, send it messages and expect what it sends, each with a deadline; run such tests in
// virtual time under testing/synctest; and start small in-process networks of real nodes on
// 127.0.0.1 for end-to-end tests. It is imported only by tests.
package actortest
