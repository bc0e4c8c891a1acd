// Package deploy holds the recipes for running a node on a server, and the tests that keep them
// working: systemd units for a head and a worker (Type=notify, hardened, checked by
// systemd-analyze verify), a container image recipe (Dockerfile), and configuration files that
// `b7s run --config` loads as they are. README.md says how to use them.
package deploy
