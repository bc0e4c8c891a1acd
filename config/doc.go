// Package config owns the node's configuration: the Config tree (mirroring
// the YAML file of spec §10), its defaults, its validation, and loading it
// from the environment (B7S_ variables), a YAML file (--config) and
// command-line flags, in that rising order of priority.
//
// The cmd package calls Load with the arguments of `b7s run` and
// os.Environ(), then ResolvePaths once the peer ID is known. Everything else
// receives a validated Config value.
//
// The package keeps no global state: NewFlagSet makes a fresh flag set per
// call, and Load never reads os.Args or os.Environ itself. It does no I/O
// except reading the --config file and, in ResolvePaths, creating a
// temporary node directory.
package config
