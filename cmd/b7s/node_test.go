package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/daemon"
)

type fakeReloader struct {
	mu      sync.Mutex
	results []error // one per reload, in order; past the end: unchanged
	calls   int
	done    chan struct{} // gets a value after each reload
}

func (f *fakeReloader) ReloadAttestation(context.Context) (bool, error) {
	f.mu.Lock()
	defer func() { f.mu.Unlock(); f.done <- struct{}{} }()
	f.calls++
	if f.calls <= len(f.results) {
		return f.results[f.calls-1] == nil, f.results[f.calls-1]
	}
	return false, nil
}

// Every SIGHUP reloads the attestation and says how it went; the node runs on whatever the
// outcome, until it is stopped or its actors fail.
func TestServe_SIGHUPReloadsTheAttestation(t *testing.T) {
	var logs syncBuffer
	log := zerolog.New(&logs)
	r := &fakeReloader{results: []error{nil, errors.New("attestor 1 by X: the signature does not match"), daemon.ErrNoAttestationSource},
		done: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	hup := make(chan os.Signal, 1)
	served := make(chan error, 1)
	go func() { served <- serve(ctx, r, make(chan struct{}), hup, log) }()
	for range 4 {
		hup <- syscall.SIGHUP
		select {
		case <-r.done:
		case <-time.After(time.Minute):
			t.Fatal("SIGHUP did not reload")
		}
	}
	cancel()
	if err := <-served; err != nil {
		t.Fatalf("serve after stop: %v", err)
	}
	for _, want := range []string{"attestation reloaded", "reload failed", "the signature does not match", "nothing to reload", "attestation unchanged"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestServe_FailedActorsEndItWithAnError(t *testing.T) {
	failed := make(chan struct{})
	close(failed)
	err := serve(context.Background(), &fakeReloader{}, failed, make(chan os.Signal), zerolog.Nop())
	if err == nil || !strings.Contains(err.Error(), "failed too often") {
		t.Fatalf("err %v", err)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
