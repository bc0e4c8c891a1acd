// Package daemontest starts networks of whole nodes for tests: a head and workers built by
// daemon.Start, exactly as `b7s run` builds them, listening on 127.0.0.1 only, each with its own
// workspace, database and fault injector. End-to-end tests (package e2e) and the command's
// tests use it. It is imported only by tests.
package daemontest
