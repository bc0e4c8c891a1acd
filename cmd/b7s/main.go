// Command b7s is the b7s-actor node and its tools: run a node, run a local network, make keys,
// print a live node's actor tree, and act as a small client of a head's REST API.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/pflag"
)

const usage = `b7s: a Blockless-compatible node built as a supervised actor system

Usage:
  b7s run [flags]                 run a node (b7s run --help for its flags)
  b7s devnet [flags]              run a local network: one head and workers on 127.0.0.1
  b7s keygen [--out DIR]          write a new identity (priv.bin, pub.bin, pubkey.txt, identity, peerid.txt)
  b7s attest [--key K] [--attestor K]... [--out F] NAME=VALUE...   make a worker's attestation
  b7s attest show [--json] FILE   print an attestation and check its signatures
  b7s actors --api DEBUG [--json | --watch] print a live node's supervision tree, or redraw it until Ctrl-C
  b7s trace --api DEBUG --request ID         print a request's path through a node's actors (and its workers')
  b7s install --api URL (--uri U | --cid C) [--topic T] [--json]
  b7s exec --api URL --function CID --method M [--nodes N] [--stdin S] [--arg V]... [--env NAME=VALUE]...
           [--timeout SECONDS] [--topic T] [--attribute NAME=VALUE]... [--attested-by PEERID]... [--attested] [--json]
  b7s soak [--requests N] [--concurrency C] [--seed S]   a devnet under load while nodes are killed, paused and restarted
  b7s probe [--api ADDR] [--ready] exit 0 when a node is alive (/livez) or ready (/readyz)
  b7s version [--json]           print the version, commit, Go version and wire protocols
  b7s bench --api URL --function CID --method M [--nodes N] (--requests N | --concurrency C --duration D) [--devnet DIR]
`

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "run":
		err = runNode(args[1:], stdout, stderr)
	case "devnet":
		err = runDevnet(args[1:], stdout, stderr)
	case "keygen":
		err = runKeygen(args[1:], stdout)
	case "attest":
		err = runAttest(args[1:], stdout)
	case "actors":
		err = runActors(args[1:], stdout)
	case "trace":
		err = runTrace(args[1:], stdout)
	case "install":
		err = runInstall(args[1:], stdout)
	case "exec":
		err = runExec(args[1:], stdout)
	case "bench":
		err = runBench(args[1:], stdout)
	case "soak":
		err = runSoak(args[1:], stdout)
	case "probe":
		err = runProbe(args[1:], stdout)
	case "version", "--version":
		err = runVersion(args[1:], stdout)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "b7s: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, pflag.ErrHelp) {
		return 0 // the command printed its usage
	}
	if err != nil {
		fmt.Fprintf(stderr, "b7s %s: %v\n", args[0], err)
		return 1
	}
	return 0
}
