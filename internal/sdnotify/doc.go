// Package sdnotify tells a service manager how the node is doing, over systemd's notify
// protocol: one datagram of newline-separated assignments ("READY=1", "STOPPING=1",
// "STATUS=…") to the unix datagram socket named by $NOTIFY_SOCKET. A unit with Type=notify
// counts the node as started only once it sent READY=1. The protocol is a few lines, so it is
// written here rather than taken from a module.
package sdnotify
