package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/api/client"
	"github.com/b7s-actor/b7s/messages"
)

// runInstall is `b7s install`: ask a head to publish an install of a function.
func runInstall(args []string, stdout io.Writer) error {
	fs := commandFlags("install", "--api URL (--uri U | --cid C) [--topic T] [--json]",
		"Ask a head to publish an install of a function to its workers.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:8080", "the head's REST address (host:port or URL)")
	uri := fs.String("uri", "", "manifest URL; the CID is then the hex SHA-256 of it")
	cid := fs.String("cid", "", "function CID; the head fetches the manifest from its IPFS gateway")
	topic := fs.String("topic", "", "pubsub topic to publish on (default: the head's default topic)")
	asJSON := fs.Bool("json", false, "print the JSON response")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if (*uri == "") == (*cid == "") {
		return errors.New("give exactly one of --uri and --cid")
	}

	resp, err := client.New(*apiURL).Install(context.Background(), messages.InstallFunctionRequest{CID: *cid, URI: *uri, Topic: *topic})
	if err != nil {
		return err
	}

	// The head derives the CID from the URI the same way; saying it lets the user run exec next.
	what := *cid
	if what == "" {
		what = api.CIDForURI(*uri) + " (manifest " + *uri + ")"
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(resp)
	} else if resp.Code == messages.CodeOK {
		_, err = fmt.Fprintf(stdout, "install of %s published (code %s)\n", what, resp.Code)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}
	switch resp.Code {
	case messages.CodeOK:
		return nil
	case messages.CodeTimeout:
		return fmt.Errorf("install of %s: publishing timed out on the head (code %s)", what, resp.Code)
	default:
		return fmt.Errorf("install of %s failed (code %s)", what, resp.Code)
	}
}

// runExec is `b7s exec`: run a function through a head and print the aggregated results.
func runExec(args []string, stdout io.Writer) error {
	fs := commandFlags("exec", "--api URL --function CID --method M [flags]",
		"Run a function through a head and print the aggregated results. The exit code is 0 when\n"+
			"the head answers code 200 or 206.", stdout)
	apiURL := fs.String("api", "http://127.0.0.1:8080", "the head's REST address (host:port or URL)")
	function := fs.String("function", "", "function CID (required)")
	method := fs.String("method", "", "file to run inside the function archive, e.g. hello.wasm (required)")
	nodes := fs.Int("nodes", 0, "number of workers to run on (0: any number)")
	stdin := fs.String("stdin", "", "standard input of the function")
	// StringArray, not StringSlice: an argument may contain commas.
	fnArgs := fs.StringArray("arg", nil, "argument to the function (repeatable)")
	env := fs.StringArray("env", nil, "environment variable NAME=VALUE (repeatable)")
	timeout := fs.Int("timeout", 0, "roll-call wait in seconds (0: the head's default)")
	fuel := fs.Uint64("fuel", 0, "limited_fuel: stop the function after this much fuel, the same instruction on every worker (0: no limit)")
	topic := fs.String("topic", "", "pubsub topic for the roll call (default: the head's default topic)")
	consensus := fs.String("consensus", "", "consensus_algorithm: raft or pbft, a cluster of --nodes workers (empty: none)")
	attrs := fs.StringArray("attribute", nil, "run only on workers attested with NAME=VALUE (repeatable)")
	attestedBy := fs.StringArray("attested-by", nil, "run only on workers this peer ID attested (repeatable: each of them)")
	attested := fs.Bool("attested", false, "run only on workers with at least one attestor")
	asJSON := fs.Bool("json", false, "print the JSON response")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}

	req, err := executionRequest(*function, *method, *fnArgs, *env, *nodes, *timeout, *topic)
	if err != nil {
		return err
	}
	if req.Config.Attributes, err = requestAttributes(*attrs, *attestedBy, *attested); err != nil {
		return err
	}
	// Only a given --stdin is sent: "" and no stdin differ on the wire (spec §3.2).
	if fs.Changed("stdin") {
		req.Config.Stdin = stdin
	}
	req.Config.Runtime.Fuel = *fuel
	if _, err := messages.ParseConsensus(*consensus); err != nil {
		return fmt.Errorf("--consensus: %w", err)
	}
	req.Config.ConsensusAlgorithm = *consensus

	resp, err := client.New(*apiURL).Execute(context.Background(), req)
	if err != nil {
		return err
	}
	if *asJSON {
		err = json.NewEncoder(stdout).Encode(resp)
	} else {
		err = printExecution(stdout, resp)
	}
	if err != nil {
		return fmt.Errorf("write output: %w", err)
	}

	if resp.Code != messages.CodeOK && resp.Code != messages.CodePartialContent {
		if resp.Message != "" {
			return fmt.Errorf("request %s: code %s: %s", resp.RequestID, resp.Code, resp.Message)
		}
		return fmt.Errorf("request %s: code %s", resp.RequestID, resp.Code)
	}
	return nil
}

// executionRequest builds the REST body from the exec flags.
func executionRequest(function, method string, args, env []string, nodes, timeout int, topic string) (messages.ExecutionRequest, error) {
	switch {
	case function == "":
		return messages.ExecutionRequest{}, errors.New("--function is required")
	case method == "":
		return messages.ExecutionRequest{}, errors.New("--method is required")
	case timeout < 0:
		return messages.ExecutionRequest{}, fmt.Errorf("--timeout %d is negative", timeout)
	}
	req := messages.ExecutionRequest{
		FunctionID: function,
		Method:     method,
		Config:     messages.Config{NumberOfNodes: nodes, Timeout: timeout},
		Topic:      topic,
	}
	for _, a := range args {
		req.Parameters = append(req.Parameters, messages.Parameter{Value: a})
	}
	for _, e := range env {
		name, value, ok := strings.Cut(e, "=")
		if !ok || name == "" {
			return messages.ExecutionRequest{}, fmt.Errorf("--env %q: want NAME=VALUE", e)
		}
		req.Config.Environment = append(req.Config.Environment, messages.EnvVar{Name: name, Value: value})
	}
	return req, nil
}

// requestAttributes is the request's attributes from the exec flags (spec §3.2); nil when no
// flag asks for any, so a plain request carries none.
func requestAttributes(pairs, attestedBy []string, attested bool) (*messages.Attributes, error) {
	if len(pairs) == 0 && len(attestedBy) == 0 && !attested {
		return nil, nil
	}
	a := &messages.Attributes{AttestationRequired: attested}
	for _, p := range pairs {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return nil, fmt.Errorf("--attribute %q: want NAME=VALUE", p)
		}
		a.Values = append(a.Values, messages.Parameter{Name: name, Value: value})
	}
	for _, s := range attestedBy {
		id, err := peer.Decode(s)
		if err != nil {
			return nil, fmt.Errorf("--attested-by %q: %w", s, err)
		}
		a.Attestors.Each = append(a.Attestors.Each, id)
	}
	return a, nil
}

// printExecution writes a response for people: the outcome, then each distinct output with the
// peers that produced it. Outputs are written verbatim between labels.
func printExecution(w io.Writer, resp messages.ExecutionResponse) error {
	var b strings.Builder
	fmt.Fprintf(&b, "request %s: code %s\n", resp.RequestID, resp.Code)
	if resp.Message != "" {
		fmt.Fprintf(&b, "message: %s\n", resp.Message)
	}
	if len(resp.Results) == 0 {
		b.WriteString("no results\n")
	}
	for i, r := range resp.Results {
		peers := make([]string, len(r.Peers))
		for j, p := range r.Peers {
			peers[j] = p.String()
		}
		fmt.Fprintf(&b, "\nresult %d of %d: %d peer(s), frequency %.2f%%, exit code %d\n",
			i+1, len(resp.Results), len(r.Peers), r.Frequency, r.Result.ExitCode)
		fmt.Fprintf(&b, "peers: %s\n", strings.Join(peers, ", "))
		writeOutput(&b, "stdout", r.Result.Stdout)
		if r.Result.Stderr != "" {
			writeOutput(&b, "stderr", r.Result.Stderr)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeOutput(b *strings.Builder, label, out string) {
	b.WriteString(label + ":\n" + out)
	if out != "" && !strings.HasSuffix(out, "\n") {
		b.WriteString("\n") // keep the next label on its own line
	}
}
