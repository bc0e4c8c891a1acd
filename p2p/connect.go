package p2p

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/p2p/net/swarm"

	"github.com/b7s-actor/b7s/internal/backoff"
)

var errDialSelf = errors.New("refusing to dial self")

// connect dials info unless it is this host or already connected, bounded
// by DialTimeout.
func (h *Host) connect(ctx context.Context, info peer.AddrInfo) error {
	if info.ID == h.host.ID() {
		return errDialSelf
	}
	if h.Connected(info.ID) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, h.cfg.DialTimeout)
	defer cancel()
	return h.host.Connect(ctx, info)
}

// connectAll dials every peer in parallel and returns one error per failed dial.
func (h *Host) connectAll(ctx context.Context, infos []peer.AddrInfo, what string) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, info := range infos {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := h.connect(ctx, info); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("dial %s %s: %w", what, info.ID, err))
				mu.Unlock()
				h.log.Warn().Err(err).Str("peer", info.ID.String()).Str("kind", what).Msg("could not connect")
				return
			}
			h.log.Debug().Str("peer", info.ID.String()).Str("kind", what).Msg("connected")
		}()
	}
	wg.Wait()
	return errs
}

// connectBootNodes dials all boot nodes in parallel and waits for the dials.
func (h *Host) connectBootNodes(ctx context.Context) error {
	for _, b := range h.bootNodes {
		// Keep their addresses for the re-check loop, whatever identify says later.
		h.host.Peerstore().AddAddrs(b.ID, b.Addrs, time.Duration(1<<62))
	}
	return errors.Join(h.connectAll(ctx, h.bootNodes, "boot node")...)
}

// connectDialbackPeers dials up to DialbackPeersLimit saved peers, skipping
// itself and peers already connected. Failures are only logged.
func (h *Host) connectDialbackPeers(ctx context.Context) {
	saved, err := h.SavedPeers()
	if err != nil {
		h.log.Warn().Err(err).Msg("could not read dial-back peers")
		return
	}
	var infos []peer.AddrInfo
	for _, info := range saved {
		if len(infos) >= h.cfg.DialbackPeersLimit {
			break
		}
		if info.ID == h.host.ID() || h.Connected(info.ID) || len(info.Addrs) == 0 {
			continue
		}
		infos = append(infos, info)
	}
	h.log.Debug().Int("peers", len(infos)).Msg("dialling back saved peers")
	h.connectAll(ctx, infos, "dial-back peer")
}

// firstBootNodeRetry is how soon a boot node that could not be reached at start is dialled
// again. Nodes started together (a devnet, a service manager starting a head and its workers)
// race: a boot node that is not listening yet must not cost its peers a whole re-check interval.
const firstBootNodeRetry = 250 * time.Millisecond

// recheckBootNodes re-dials disconnected boot nodes: soon and then less and less often while
// some are missing (firstBootNodeRetry, doubling up to BootNodeRecheckInterval), and every
// BootNodeRecheckInterval once all were connected.
func (h *Host) recheckBootNodes() {
	failed := 0 // rounds in a row in which no missing boot node could be reached
	retry := func() time.Duration {
		return backoff.Doubling(firstBootNodeRetry, h.cfg.BootNodeRecheckInterval, failed+1)
	}
	wait := h.cfg.BootNodeRecheckInterval
	if len(h.missingBootNodes()) > 0 {
		wait = retry()
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-timer.C:
		}
		if missing := h.missingBootNodes(); len(missing) > 0 {
			// This loop is the boot nodes' backoff; libp2p's own (seconds after a refused dial)
			// would turn the early retries into instant failures.
			if sw, ok := h.host.Network().(*swarm.Swarm); ok {
				for _, b := range missing {
					sw.Backoff().Clear(b.ID)
				}
			}
			if errs := h.connectAll(h.ctx, missing, "boot node"); len(errs) == len(missing) {
				failed++
			} else {
				failed = 0
			}
			wait = retry()
		} else {
			failed = 0
			wait = h.cfg.BootNodeRecheckInterval
		}
		timer.Reset(wait)
	}
}

func (h *Host) missingBootNodes() []peer.AddrInfo {
	var missing []peer.AddrInfo
	for _, b := range h.bootNodes {
		if !h.Connected(b.ID) {
			missing = append(missing, b)
		}
	}
	return missing
}
