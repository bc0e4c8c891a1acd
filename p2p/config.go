package p2p

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/messages"
)

const (
	// ProtocolID is the direct-message protocol (spec §1.3).
	ProtocolID = "/b7s/work/1.0.0"
	// DefaultTopic is the gossipsub topic every node subscribes to (spec §2).
	DefaultTopic = "blockless/b7s/general"
)

// Defaults (spec §1.4, §10).
const (
	DefaultAddress                 = "0.0.0.0"
	DefaultDialbackPeersLimit      = 100
	DefaultDiscoveryInterval       = 10 * time.Second
	DefaultBootNodeRecheckInterval = time.Minute
	DefaultDialTimeout             = 10 * time.Second
	DefaultDirectReadTimeout       = 30 * time.Second
	// DefaultMaxDirectMessageBytes: a worker's result at the default output cap, whatever bytes
	// it holds, fits (about 12 MiB).
	DefaultMaxDirectMessageBytes = messages.DefaultDirectMessageLimit

	// discoveryConnectionThreshold stops the discovery of a topic once that
	// many new connections were made through it (ConnectionThreshold in b7s).
	discoveryConnectionThreshold = 20
	// discoveryFindLimit bounds the providers asked for in one round.
	discoveryFindLimit = 100
	// advertiseTTL is the rendezvous record lifetime; it is renewed at 7/8 of it.
	advertiseTTL = 3 * time.Hour
	// bootNodeTag protects boot nodes in the connection manager.
	bootNodeTag = "boot-node"
)

// ErrInvalidConfig is wrapped by every error Config.Validate returns.
var ErrInvalidConfig = errors.New("invalid p2p config")

// Config configures a Host. Zero values of Address, DialbackPeersLimit,
// MaxDirectMessageBytes and of the durations mean "use the default".
type Config struct {
	Address       string // listen IP; default 0.0.0.0
	Port          uint   // TCP port, 0 = random; QUIC-v1 listens on the same UDP number
	DisableQUIC   bool   // listen on TCP only (QUIC is still used to dial peers that offer it)
	Websocket     bool
	WebsocketPort uint // 0 = random

	// When DialbackAddress and DialbackPort are set, the host announces only
	// these (and the websocket dial-back address when WebsocketDialbackPort is set).
	DialbackAddress       string
	DialbackPort          uint
	WebsocketDialbackPort uint

	BootNodes          []string // multiaddrs with /p2p/<id>
	MustReachBootNodes bool

	NoDialbackPeers    bool
	DialbackPeersLimit int // default 100

	Topics []string // DefaultTopic is always added

	MaxDirectMessageBytes int           // limit of one direct message; default DefaultMaxDirectMessageBytes
	DirectReadTimeout     time.Duration // deadline for reading one direct message; default 30s
	DialTimeout           time.Duration // per-dial timeout of boot, dial-back and discovered peers; default 10s

	ConnectionCount         uint // >0: connection manager low water N, high water 1.2N; 0: 160/192
	DisableConnectionLimits bool // infinite resource manager limits

	DisableDiscovery        bool
	DiscoveryInterval       time.Duration // default 10s
	BootNodeRecheckInterval time.Duration // default 1 min

	Logger     zerolog.Logger
	Registerer prometheus.Registerer // nil: no metrics (neither ours nor libp2p's)
	// LibP2PMetrics also registers go-libp2p's own metrics on Registerer. Off by default: the
	// resource manager then traces every stream, about a tenth of the CPU of a message.
	LibP2PMetrics bool
}

// DefaultConfig returns the b7s defaults.
func DefaultConfig() Config {
	return Config{
		Address:                 DefaultAddress,
		DialbackPeersLimit:      DefaultDialbackPeersLimit,
		MaxDirectMessageBytes:   DefaultMaxDirectMessageBytes,
		DirectReadTimeout:       DefaultDirectReadTimeout,
		DialTimeout:             DefaultDialTimeout,
		DiscoveryInterval:       DefaultDiscoveryInterval,
		BootNodeRecheckInterval: DefaultBootNodeRecheckInterval,
		Logger:                  zerolog.Nop(),
	}
}

// withDefaults fills the zero values that mean "default".
func (c Config) withDefaults() Config {
	if c.Address == "" {
		c.Address = DefaultAddress
	}
	if c.DialbackPeersLimit == 0 {
		c.DialbackPeersLimit = DefaultDialbackPeersLimit
	}
	if c.MaxDirectMessageBytes == 0 {
		c.MaxDirectMessageBytes = DefaultMaxDirectMessageBytes
	}
	if c.DirectReadTimeout == 0 {
		c.DirectReadTimeout = DefaultDirectReadTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.DiscoveryInterval == 0 {
		c.DiscoveryInterval = DefaultDiscoveryInterval
	}
	if c.BootNodeRecheckInterval == 0 {
		c.BootNodeRecheckInterval = DefaultBootNodeRecheckInterval
	}
	return c
}

const maxPort = 65535

// ValidDialbackAddress says whether s can be announced as the host's address: an IP address or
// a DNS name. The configuration checks it too, so a file is refused with its key's name.
func ValidDialbackAddress(s string) bool {
	return net.ParseIP(s) != nil || hostnameRE.MatchString(s)
}

// hostnameRE accepts DNS names (labels of letters, digits and hyphens).
var hostnameRE = regexp.MustCompile(`^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$`)

// Validate reports every broken setting; each error names the setting and
// the bound, and the whole wraps ErrInvalidConfig.
func (c Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if c.Address != "" && net.ParseIP(c.Address) == nil {
		bad("Address: %q is not an IP address", c.Address)
	}
	errs = append(errs,
		check.Max("Port", c.Port, maxPort),
		check.Max("WebsocketPort", c.WebsocketPort, maxPort),
		check.Max("DialbackPort", c.DialbackPort, maxPort),
		check.Max("WebsocketDialbackPort", c.WebsocketDialbackPort, maxPort),
		check.Min("DialbackPeersLimit", c.DialbackPeersLimit, 0),
		check.Min("MaxDirectMessageBytes", c.MaxDirectMessageBytes, 0),
		check.Min("DirectReadTimeout", c.DirectReadTimeout, 0),
		check.Min("DialTimeout", c.DialTimeout, 0),
		check.Min("DiscoveryInterval", c.DiscoveryInterval, 0),
		check.Min("BootNodeRecheckInterval", c.BootNodeRecheckInterval, 0),
	)
	if c.Websocket && c.WebsocketPort != 0 && c.WebsocketPort == c.Port {
		bad("WebsocketPort: %d must differ from Port", c.WebsocketPort)
	}
	switch {
	case c.DialbackAddress != "" && c.DialbackPort == 0:
		bad("DialbackPort: required when DialbackAddress (%q) is set", c.DialbackAddress)
	case c.DialbackAddress == "" && c.DialbackPort != 0:
		bad("DialbackAddress: required when DialbackPort (%d) is set", c.DialbackPort)
	case c.DialbackAddress != "":
		if !ValidDialbackAddress(c.DialbackAddress) {
			bad("DialbackAddress: %q is neither an IP address nor a DNS name", c.DialbackAddress)
		}
	}
	if c.WebsocketDialbackPort != 0 && c.WebsocketDialbackPort == c.DialbackPort {
		bad("WebsocketDialbackPort: %d must differ from DialbackPort", c.WebsocketDialbackPort)
	}
	for i, addr := range c.BootNodes {
		if _, err := parseBootNode(addr); err != nil {
			bad("BootNodes[%d]: %v", i, err)
		}
	}
	for i, topic := range c.Topics {
		if topic == "" {
			bad("Topics[%d]: topic is empty", i)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// parseBootNode parses a multiaddr that must carry /p2p/<id>.
func parseBootNode(s string) (peer.AddrInfo, error) {
	addr, err := ma.NewMultiaddr(s)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("boot node %q: %w", s, err)
	}
	info, err := peer.AddrInfoFromP2pAddr(addr)
	if err != nil {
		return peer.AddrInfo{}, fmt.Errorf("boot node %q must include /p2p/<peer-id>: %w", s, err)
	}
	return *info, nil
}

// topicList returns DefaultTopic followed by the configured topics, without duplicates.
func (c Config) topicList() []string {
	seen := map[string]bool{DefaultTopic: true}
	topics := []string{DefaultTopic}
	for _, t := range c.Topics {
		if !seen[t] {
			seen[t] = true
			topics = append(topics, t)
		}
	}
	return topics
}

// ipProto returns "ip4" or "ip6" for an IP literal.
func ipProto(ip net.IP) string {
	if ip.To4() != nil {
		return "ip4"
	}
	return "ip6"
}

// listenAddrs builds the listen multiaddrs (spec §1.2, plus QUIC-v1).
func (c Config) listenAddrs() []string {
	proto := ipProto(net.ParseIP(c.Address))
	addrs := []string{fmt.Sprintf("/%s/%s/tcp/%d", proto, c.Address, c.Port)}
	if !c.DisableQUIC {
		addrs = append(addrs, fmt.Sprintf("/%s/%s/udp/%d/quic-v1", proto, c.Address, c.Port))
	}
	if c.Websocket {
		addrs = append(addrs, fmt.Sprintf("/%s/%s/tcp/%d/ws", proto, c.Address, c.WebsocketPort))
	}
	return addrs
}

// dialbackAddrs returns the addresses to announce instead of the real ones,
// or nil when no dial-back address is configured. Unlike b7s (quirk Q8) the
// websocket address uses WebsocketDialbackPort.
func (c Config) dialbackAddrs() ([]ma.Multiaddr, error) {
	if c.DialbackAddress == "" || c.DialbackPort == 0 {
		return nil, nil
	}
	proto := "dns"
	if ip := net.ParseIP(c.DialbackAddress); ip != nil {
		proto = ipProto(ip)
	}
	strs := []string{fmt.Sprintf("/%s/%s/tcp/%d", proto, c.DialbackAddress, c.DialbackPort)}
	if c.Websocket && c.WebsocketDialbackPort != 0 {
		strs = append(strs, fmt.Sprintf("/%s/%s/tcp/%d/ws", proto, c.DialbackAddress, c.WebsocketDialbackPort))
	}
	addrs := make([]ma.Multiaddr, 0, len(strs))
	for _, s := range strs {
		addr, err := ma.NewMultiaddr(s)
		if err != nil {
			return nil, fmt.Errorf("dial-back address %s: %w", s, err)
		}
		addrs = append(addrs, addr)
	}
	return addrs, nil
}
