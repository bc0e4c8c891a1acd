package main

import (
	"bytes"
	"strings"
	"testing"
)

// Every subcommand's help goes to stdout, names the command's flags and exits 0.
func TestHelp_EverySubcommandPrintsItsFlags(t *testing.T) {
	for cmd, want := range map[string][]string{
		"run": {
			"Usage: b7s run", "--rest-api string", "-c, --concurrency uint", "--config string",
			"default 10; env B7S_Concurrency", "env B7S_Connectivity_Port; yaml connectivity.port",
			"env B7S_Head_RestApi", "B7S_Telemetry_Tracing_ExporterBatchTimeout",
		},
		"devnet":  {"Usage: b7s devnet", "--workers int", "--rest-api string", "(default 2)", "--wasm string"},
		"keygen":  {"Usage: b7s keygen", "-o, --out string", "--output string"},
		"attest":  {"Usage: b7s attest", "--key string", "--attestor stringArray", "--in string", "--out string", "b7s attest show"},
		"actors":  {"Usage: b7s actors", "--api string", "--json", "--watch", "--interval duration"},
		"trace":   {"Usage: b7s trace", "--api string", "--request string", "--no-peers", "--json"},
		"install": {"Usage: b7s install", "--api string", "--uri string", "--cid string", "--topic string", "--json"},
		"exec": {
			"Usage: b7s exec", "--api string", "--function string", "--method string", "--nodes int",
			"--stdin string", "--arg stringArray", "--env stringArray", "--timeout int", "--fuel uint", "--json",
			"--attribute stringArray", "--attested-by stringArray", "--attested",
		},
		"soak":    {"Usage: b7s soak", "--requests int", "--concurrency int", "--seed uint", "--max-time duration", "--echo"},
		"version": {"Usage: b7s version", "--json"},
		"probe":   {"Usage: b7s probe", "--api string", "--ready"},
		"bench": {
			"Usage: b7s bench", "--api string", "--requests int", "--concurrency int", "--duration duration",
			"--devnet string", "--expect-stdout string",
		},
	} {
		for _, flag := range []string{"--help", "-h"} {
			var out, errOut bytes.Buffer
			if code := run([]string{cmd, flag}, &out, &errOut); code != 0 {
				t.Errorf("%s %s: exit %d: %s", cmd, flag, code, errOut.String())
			}
			if errOut.Len() > 0 {
				t.Errorf("%s %s wrote to stderr: %q", cmd, flag, errOut.String())
			}
			for _, w := range want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("%s %s: output lacks %q:\n%s", cmd, flag, w, out.String())
				}
			}
		}
	}
}

// A bad flag is an error that points at --help, and prints no usage to stdout.
func TestHelp_BadFlagPointsAtHelp(t *testing.T) {
	for _, cmd := range []string{"devnet", "keygen", "attest", "actors", "trace", "install", "exec", "bench", "soak"} {
		var out, errOut bytes.Buffer
		if code := run([]string{cmd, "--no-such-flag"}, &out, &errOut); code != 1 {
			t.Errorf("%s --no-such-flag: exit %d, want 1", cmd, code)
		}
		if want := "b7s " + cmd + " --help lists the flags"; !strings.Contains(errOut.String(), want) {
			t.Errorf("%s --no-such-flag: stderr %q lacks %q", cmd, errOut.String(), want)
		}
		if out.Len() > 0 {
			t.Errorf("%s --no-such-flag printed %q to stdout", cmd, out.String())
		}
	}
}
