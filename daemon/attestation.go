package daemon

import (
	"context"
	"errors"
	"sync"

	"github.com/b7s-actor/b7s/attest"
)

// attestation is a worker's attestation: the holder its work actor reads, the loader that fills
// it, and the watch that reloads a changed file.
type attestation struct {
	holder      attest.Holder
	loader      *attest.Loader
	stopWatch   context.CancelFunc
	watchExited sync.WaitGroup
}

// ErrNoAttestationSource is returned by ReloadAttestation on a node configured without one.
var ErrNoAttestationSource = errors.New("no attestation source configured (attributes-file or load-attributes)")

// startAttestation loads a worker's attestation, within the configured timeout, and starts
// watching a file source every fstore.sync-interval. Without a source the holder stays empty
// and roll calls with attributes go unanswered. A source that fails stops the start.
func (d *Daemon) startAttestation(ctx context.Context) (*attest.Holder, error) {
	d.attestation = &attestation{}
	cfg := d.Config.Attestation()
	if !cfg.Enabled() {
		return &d.attestation.holder, nil
	}
	cfg.Self, cfg.Logger = d.Host.ID(), d.log
	loader, err := attest.NewLoader(cfg, &d.attestation.holder)
	if err != nil {
		return nil, err
	}
	if _, err := loader.Load(ctx); err != nil {
		return nil, err
	}
	a := d.attestation
	a.loader = loader
	watchCtx, cancel := context.WithCancel(context.Background())
	a.stopWatch = cancel
	a.watchExited.Add(1)
	go func() {
		defer a.watchExited.Done()
		loader.Watch(watchCtx, d.Config.FStore.SyncInterval)
	}()
	return &a.holder, nil
}

// ReloadAttestation loads the worker's attestation again (b7s run does on SIGHUP). changed is
// false when the source holds what is in use; on an error the attestation in use stays.
func (d *Daemon) ReloadAttestation(ctx context.Context) (changed bool, err error) {
	if d.attestation == nil || d.attestation.loader == nil {
		return false, ErrNoAttestationSource
	}
	return d.attestation.loader.Load(ctx)
}

// attestationInfo describes the attestation in use for /debug/actors; nil when there is none.
func (d *Daemon) attestationInfo() *attest.Info {
	a := d.attestation
	if a == nil {
		return nil
	}
	if a.loader != nil {
		return a.loader.Info()
	}
	return attest.DescribeLoaded(a.holder.Current())
}

func (d *Daemon) stopAttestation() {
	if a := d.attestation; a != nil && a.stopWatch != nil {
		a.stopWatch()
		a.watchExited.Wait()
	}
}
