package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/multiformats/go-multiaddr"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors"
	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/api"
	"github.com/b7s-actor/b7s/attest"
	craft "github.com/b7s-actor/b7s/consensus/raft"
	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/p2p"
)

// Bounds enforced by Validate.
const (
	MaxPort             = 65535
	MinConcurrency      = 1
	MaxConcurrency      = 1024
	MinHealthInterval   = 100 * time.Millisecond
	MinRollCallTimeout  = 100 * time.Millisecond
	MinExecutionTimeout = 100 * time.Millisecond
	MinSettleWindow     = time.Millisecond
	MinResultCacheSize  = 1
	MaxResultCacheSize  = 1_000_000
	MaxQueueSize        = 1_000_000
	MinMaxOutputBytes   = 1
	// MaxMaxOutputBytes keeps results sendable: JSON can make each output byte six on the
	// wire, so 4 MiB of stdout and of stderr is a message of 48 MiB (messages.DirectMessageLimit).
	MaxMaxOutputBytes   = 4 << 20
	MinMemoryLimitPages = 1
	MaxMemoryLimitPages = 65536 // 4 GiB, the wasm32 address space
	MinMaxRunTime       = 100 * time.Millisecond
	MaxMemoryLimitKB    = math.MaxInt64 / 1000 // in bytes, it still fits
	MinSyncInterval     = time.Second
	// A target below what an idle node holds would make the collector run without end.
	MinMemoryTargetMiB   = 16
	MaxMemoryTargetMiB   = 1 << 20
	MinAttributesTimeout = 100 * time.Millisecond
	MaxDrainTimeout      = time.Hour
)

// logLevels are the zerolog level names log.level accepts.
var logLevels = []string{"trace", "debug", "info", "warn", "error", "fatal", "panic", "disabled"}

var logLevelNames = strings.Join(logLevels, ", ")

func parseLogLevel(s string) (zerolog.Level, error) {
	if !slices.Contains(logLevels, strings.ToLower(s)) {
		return zerolog.NoLevel, fmt.Errorf("%q is not one of %s", s, logLevelNames)
	}
	return zerolog.ParseLevel(strings.ToLower(s))
}

// Validate reports every setting outside its bounds, joined with
// errors.Join. Each error starts with the YAML key of the setting. It does
// no I/O: key files and directories are checked by their users.
//
// A head without head.rest-api is valid and runs without a REST API.
func (c Config) Validate() error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}

	add(check.OneOf("role", actors.Role(c.Role), actors.RoleHead, actors.RoleWorker))
	add(check.Range("concurrency", c.Concurrency, MinConcurrency, MaxConcurrency))
	for i, addr := range c.BootNodes {
		add(checkBootNode(fmt.Sprintf("boot-nodes[%d]", i), addr))
	}
	for i, topic := range c.Topics {
		if strings.TrimSpace(topic) == "" {
			add(fmt.Errorf("topics[%d]: topic is empty", i))
		}
	}
	add(check.Min("health-interval", c.HealthInterval, MinHealthInterval))
	if c.MemoryTarget != 0 {
		add(check.Range("memory-target", c.MemoryTarget, MinMemoryTargetMiB, MaxMemoryTargetMiB))
	}
	add(check.Range("recent-messages", c.RecentMessages, 0, inspect.MaxRecentMessages))
	errs = append(errs, c.validateAttributes()...)

	if _, err := parseLogLevel(c.Log.Level); err != nil {
		add(fmt.Errorf("log.level: %w", err))
	}
	add(check.OneOf("log.format", c.Log.Format, LogFormatAuto, LogFormatConsole, LogFormatJSON))
	add(check.Range("drain-timeout", c.DrainTimeout, 0, MaxDrainTimeout))
	errs = append(errs, c.validateDebugAddress()...)

	errs = append(errs, c.Connectivity.validate()...)
	errs = append(errs, c.Head.validate()...)
	errs = append(errs, c.Worker.validate()...)
	errs = append(errs, c.FStore.validate()...)
	errs = append(errs, c.Cluster.validate()...)
	errs = append(errs, c.Telemetry.validate(c.IsHead() && c.Head.RestAPI != "")...)

	return errors.Join(errs...)
}

// validateDebugAddress checks the debug address and that it is not an address that serves the
// public: the debug pages name live requests, whose results anyone could then fetch.
func (c Config) validateDebugAddress() []error {
	if c.DebugAddress == "" {
		return nil
	}
	if err := checkHostPort("debug-address", c.DebugAddress); err != nil {
		return []error{err}
	}
	var errs []error
	for _, other := range [][2]string{{"head.rest-api", c.Head.RestAPI}, {"telemetry.metrics.prometheus-address", c.Telemetry.Metrics.PrometheusAddress}} {
		if other[1] == c.DebugAddress && !strings.HasSuffix(other[1], ":0") {
			errs = append(errs, fmt.Errorf("debug-address: %s is also %s; the debug address must be one of its own", c.DebugAddress, other[0]))
		}
	}
	return errs
}

// validateAttributes checks the attestation's source: one at most, and a usable gateway.
func (c Config) validateAttributes() []error {
	var errs []error
	if c.AttributesFile != "" && c.LoadAttributes {
		errs = append(errs, errors.New("attributes-file: set together with load-attributes; an attestation has one source"))
	}
	if err := attest.ValidateGatewayTemplate("attributes-gateway", c.AttributesGateway); err != nil {
		errs = append(errs, err)
	}
	if err := check.Min("attributes-timeout", c.AttributesTimeout, MinAttributesTimeout); err != nil {
		errs = append(errs, err)
	}
	return errs
}

func (c Connectivity) validate() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if net.ParseIP(c.Address) == nil {
		add(fmt.Errorf("connectivity.address: %q is not an IP address", c.Address))
	}
	add(check.Range("connectivity.port", c.Port, 0, MaxPort))
	add(check.Range("connectivity.dialback-port", c.DialbackPort, 0, MaxPort))
	add(check.Range("connectivity.websocket-port", c.WebsocketPort, 0, MaxPort))
	add(check.Range("connectivity.websocket-dialback-port", c.WebsocketDialbackPort, 0, MaxPort))
	if c.Port != 0 && c.WebsocketPort == c.Port {
		add(fmt.Errorf("connectivity.websocket-port: %d must differ from connectivity.port", c.WebsocketPort))
	}
	if c.DialbackPort != 0 && c.WebsocketDialbackPort == c.DialbackPort {
		add(fmt.Errorf("connectivity.websocket-dialback-port: %d must differ from connectivity.dialback-port", c.WebsocketDialbackPort))
	}
	if c.DialbackAddress != "" && c.DialbackPort == 0 {
		add(errors.New("connectivity.dialback-port: required when connectivity.dialback-address is set"))
	}
	if c.DialbackAddress == "" && c.DialbackPort != 0 {
		add(errors.New("connectivity.dialback-address: required when connectivity.dialback-port is set"))
	}
	if c.DialbackAddress != "" && !p2p.ValidDialbackAddress(c.DialbackAddress) {
		add(fmt.Errorf("connectivity.dialback-address: %q is neither an IP address nor a DNS name", c.DialbackAddress))
	}
	if c.DialbackAddress == "" && c.WebsocketDialbackPort != 0 {
		add(errors.New("connectivity.dialback-address: required when connectivity.websocket-dialback-port is set"))
	}
	return errs
}

func (h Head) validate() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if h.RestAPI != "" {
		add(checkHostPort("head.rest-api", h.RestAPI))
	}
	add(check.Min("head.rollcall-timeout", h.RollCallTimeout, MinRollCallTimeout))
	add(check.Min("head.execution-timeout", h.ExecutionTimeout, MinExecutionTimeout))
	add(check.Min("head.settle-window", h.SettleWindow, MinSettleWindow))
	if h.SettleWindow > h.ExecutionTimeout {
		add(fmt.Errorf("head.settle-window: %v is above the maximum head.execution-timeout (%v)", h.SettleWindow, h.ExecutionTimeout))
	}
	add(check.Range("head.result-cache-size", h.ResultCacheSize, MinResultCacheSize, MaxResultCacheSize))
	add(check.Min("head.max-request-timeout", h.MaxRequestTimeout, api.MinMaxRequestTimeout))
	return errs
}

func (c Cluster) validate() []error {
	var errs []error
	for _, err := range []error{
		check.Min("cluster.formation-timeout", c.FormationTimeout, time.Millisecond),
		check.Min("cluster.abandon-after", c.AbandonAfter, time.Millisecond),
		check.Min("cluster.pbft-request-timeout", c.PBFTRequestTimeout, time.Millisecond),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	r := craft.Config{HeartbeatTimeout: c.RaftHeartbeatTimeout, ElectionTimeout: c.RaftElectionTimeout,
		LeaderLeaseTimeout: c.RaftLeaderLeaseTimeout, CommitTimeout: c.RaftCommitTimeout, IOTimeout: craft.DefaultConfig().IOTimeout}
	if err := r.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("cluster: %w", err))
	}
	return errs
}

func (w Worker) validate() []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	add(check.Range("worker.cpu-percentage-limit", w.CPUPercentageLimit, 0, 1))
	add(check.Range("worker.memory-limit", w.MemoryLimitKB, 0, MaxMemoryLimitKB))
	add(check.Range("worker.queue-size", w.QueueSize, 0, MaxQueueSize))
	add(check.Range("worker.max-output-bytes", w.MaxOutputBytes, MinMaxOutputBytes, MaxMaxOutputBytes))
	add(check.Range("worker.memory-limit-pages", w.MemoryLimitPages, MinMemoryLimitPages, MaxMemoryLimitPages))
	add(check.Min("worker.max-run-time", w.MaxRunTime, MinMaxRunTime))
	add(check.Min("worker.max-fs-bytes", w.MaxFSBytes, 0))
	add(check.Min("worker.fs-budget-bytes", w.FSBudgetBytes, 0))
	// A budget that is set must hold one execution, or the worker could run nothing.
	if one := int64(w.MemoryLimitPages) * 65536; w.MemoryLimitKB > 0 && w.MemoryLimitKB <= MaxMemoryLimitKB && w.MemoryLimitKB*1000 < one {
		add(fmt.Errorf("worker.memory-limit: %d kB is below one execution's memory (worker.memory-limit-pages: %d bytes)", w.MemoryLimitKB, one))
	}
	if w.FSBudgetBytes > 0 && w.FSBudgetBytes < w.MaxFSBytes {
		add(fmt.Errorf("worker.fs-budget-bytes: %d is below one execution's worker.max-fs-bytes (%d)", w.FSBudgetBytes, w.MaxFSBytes))
	}
	return errs
}

func (f FStore) validate() []error {
	var errs []error
	if !strings.Contains(f.Gateway, "{cid}") {
		errs = append(errs, fmt.Errorf("fstore.gateway: %q does not contain {cid}", f.Gateway))
	} else {
		u, err := url.Parse(strings.ReplaceAll(f.Gateway, "{cid}", "cid"))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fmt.Errorf("fstore.gateway: %q is not an http(s) URL template", f.Gateway))
		}
	}
	if err := check.Min("fstore.sync-interval", f.SyncInterval, MinSyncInterval); err != nil {
		errs = append(errs, err)
	}
	return errs
}

// validate checks telemetry; restAPIServes says whether a head's REST API
// can also serve /metrics.
func (t Telemetry) validate(restAPIServes bool) []error {
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	if t.Tracing.ExporterBatchTimeout < 0 {
		add(fmt.Errorf("telemetry.tracing.exporter-batch-timeout: %v is below the minimum 0s", t.Tracing.ExporterBatchTimeout))
	}
	if t.Tracing.GRPC.Endpoint != "" {
		add(checkHostPort("telemetry.tracing.grpc.endpoint", t.Tracing.GRPC.Endpoint))
	}
	if t.Tracing.HTTP.Endpoint != "" {
		add(checkHostPort("telemetry.tracing.http.endpoint", t.Tracing.HTTP.Endpoint))
	}
	if t.Metrics.PrometheusAddress != "" {
		add(checkHostPort("telemetry.metrics.prometheus-address", t.Metrics.PrometheusAddress))
	} else if t.Metrics.Enable && !restAPIServes {
		add(errors.New("telemetry.metrics.prometheus-address: required when telemetry.metrics.enable is set and no head.rest-api serves /metrics"))
	}
	return errs
}

// checkHostPort accepts "host:port" and ":port" with a numeric port.
func checkHostPort(key, addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not host:port: %w", key, addr, err)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s: %q: port %q is not a number from 0 to %d", key, addr, port, MaxPort)
	}
	return nil
}

// checkBootNode requires a multiaddr that names the peer (/p2p/<peerID>).
func checkBootNode(key, addr string) error {
	ma, err := multiaddr.NewMultiaddr(addr)
	if err != nil {
		return fmt.Errorf("%s: %q is not a multiaddr: %w", key, addr, err)
	}
	if _, err := ma.ValueForProtocol(multiaddr.P_P2P); err != nil {
		return fmt.Errorf("%s: %q has no /p2p/<peerID> component", key, addr)
	}
	return nil
}
