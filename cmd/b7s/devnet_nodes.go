package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/fstore/funcpack"
	"github.com/b7s-actor/b7s/p2p"
)

// Files the devnet keeps in its directory.
const (
	devnetMarkerFile = ".b7s-devnet" // says the directory is ours to wipe
	devnetPIDsFile   = "pids"        // "<name> <pid>" per line, read by `b7s bench --devnet`
	devnetEnvFile    = "devnet.env"  // shell variables describing the running network
	devnetKeysDir    = "keys"        // <dir>/keys/<name>/priv.bin …
	devnetNodeDir    = "nodes"       // <dir>/nodes/<name>/{workspace,db}
	devnetLocalHost  = "127.0.0.1"
)

// devnetNode is one node of the network and how it is started.
type devnetNode struct {
	Name     string // head, worker1, worker2…
	Role     actors.Role
	Port     int    // libp2p TCP port
	HTTP     string // host:port of its HTTP server: REST API for the head, metrics for workers
	Debug    string // host:port of its debug address: /debug/actors, /metrics, pprof
	KeyPath  string // priv.bin
	PeerID   string
	Dir      string // workspace and db live here
	LogPath  string
	BootNode string // multiaddr of the head, for workers
	Gateway  string // manifest URL template, for workers
	LogLevel string
	Extra    []string // more `b7s run` flags
	Env      []string // more environment, NAME=VALUE
	Recent   int      // --recent-messages
}

// Multiaddr is the node's full libp2p address.
func (n devnetNode) Multiaddr() string {
	return fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", devnetLocalHost, n.Port, n.PeerID)
}

// args are the `b7s run` flags of the node.
func (n devnetNode) args() []string {
	a := []string{
		"run",
		"--role", string(n.Role),
		"--address", devnetLocalHost,
		"--port", strconv.Itoa(n.Port),
		"--private-key", n.KeyPath,
		"--workspace", filepath.Join(n.Dir, "workspace"),
		"--db", filepath.Join(n.Dir, "db"),
		"--log-level", n.LogLevel,
		"--recent-messages", strconv.Itoa(n.Recent),
		"--debug-address", n.Debug,
	}
	if n.Role == actors.RoleHead {
		a = append(a, "--rest-api", n.HTTP)
	} else {
		a = append(a,
			"--boot-nodes", n.BootNode,
			"--gateway", n.Gateway,
			"--enable-metrics",
			"--prometheus-address", n.HTTP,
		)
	}
	return append(a, n.Extra...)
}

// planDevnet makes a key for each node (kept under the devnet directory, so a node restarted
// by hand with the same flags keeps its peer ID) and lays out ports and paths.
func planDevnet(cfg devnetConfig, gateway string) ([]devnetNode, error) {
	env, err := cfg.workerEnv()
	if err != nil {
		return nil, err
	}
	nodes := make([]devnetNode, 0, cfg.Workers+1)
	for i := 0; i <= cfg.Workers; i++ {
		n := devnetNode{Name: "head", Role: actors.RoleHead, Port: cfg.BasePort, HTTP: cfg.RestAPI, LogLevel: cfg.LogLevel, Recent: cfg.RecentMessages, Extra: cfg.NodeArgs}
		if i > 0 {
			n = devnetNode{
				Name: "worker" + strconv.Itoa(i), Role: actors.RoleWorker, Port: cfg.BasePort + i,
				HTTP:     devnetLocalHost + ":" + strconv.Itoa(cfg.MetricsBasePort+i-1),
				BootNode: nodes[0].Multiaddr(), Gateway: gateway, LogLevel: cfg.LogLevel, Recent: cfg.RecentMessages, Extra: cfg.NodeArgs,
				Env: env[i],
			}
		}
		keyDir, err := filepath.Abs(filepath.Join(cfg.Dir, devnetKeysDir, n.Name))
		if err != nil {
			return nil, err
		}
		key, err := p2p.LoadOrCreateKeyFiles(keyDir)
		if err != nil {
			return nil, fmt.Errorf("key for %s: %w", n.Name, err)
		}
		id, err := peerID(key)
		if err != nil {
			return nil, fmt.Errorf("key for %s: %w", n.Name, err)
		}
		n.KeyPath = filepath.Join(keyDir, p2p.PrivKeyFile)
		n.PeerID = id.String()
		n.Dir, _ = filepath.Abs(filepath.Join(cfg.Dir, devnetNodeDir, n.Name))
		n.LogPath = filepath.Join(cfg.Dir, n.Name+".log")
		n.Debug = devnetLocalHost + ":" + strconv.Itoa(cfg.DebugBasePort+i)
		nodes = append(nodes, n)
	}
	return nodes, nil
}

// prepareDevnetDir wipes and recreates dir. It refuses a directory that has content but not
// our marker: `--dir ~` must not erase a home directory.
func prepareDevnetDir(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("--dir %s: %w", dir, err)
	}
	entries, err := os.ReadDir(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("--dir %s: %w", dir, err)
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(abs, devnetMarkerFile)); err != nil {
			return fmt.Errorf("--dir %s is not empty and was not made by b7s devnet (no %s); refusing to wipe it", dir, devnetMarkerFile)
		}
		if err := os.RemoveAll(abs); err != nil {
			return fmt.Errorf("wipe %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	return os.WriteFile(filepath.Join(abs, devnetMarkerFile), []byte("made by b7s devnet; wiped at each start\n"), 0o644)
}

// writePIDs records the nodes' process IDs for `b7s bench --devnet DIR`.
func writePIDs(dir string, children []*child) error {
	var b strings.Builder
	for _, c := range children {
		fmt.Fprintf(&b, "%s %d\n", c.Name, c.PID())
	}
	return writeFileAtomic(filepath.Join(dir, devnetPIDsFile), b.String())
}

// writeDevnetEnv writes the network's coordinates as shell variables; it appears only once the
// network is ready, so scripts can wait for it.
func writeDevnetEnv(cfg devnetConfig, pkg funcpack.Function, manifestURL string) error {
	vars := [][2]string{
		{"DEVNET_API", cfg.RestAPI},
		{"DEVNET_FUNCTION", pkg.CID.String()},
		{"DEVNET_METHOD", pkg.Name},
		{"DEVNET_MANIFEST_URL", manifestURL},
		{"DEVNET_WORKERS", strconv.Itoa(cfg.Workers)},
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "%s=%s\n", v[0], shellQuote(v[1]))
	}
	return writeFileAtomic(filepath.Join(cfg.Dir, devnetEnvFile), b.String())
}

func writeFileAtomic(path, content string) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
