package actors

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/fstore"
	"github.com/b7s-actor/b7s/internal/backoff"
	"github.com/b7s-actor/b7s/internal/check"
	"github.com/b7s-actor/b7s/messages"
)

var (
	errInstallerStopped = errors.New("installer stopped")
	errNoStore          = errors.New("this node has no function store")
)

// FunctionStore is what the installer needs from fstore.Store.
type FunctionStore interface {
	Install(ctx context.Context, manifestURL, cid string) (fstore.Record, error)
	IsInstalled(cid string) bool
	ManifestURL(cid string) string
	Sync(ctx context.Context) (fstore.SyncReport, error)
}

// InstallerConfig configures how the node installs functions.
type InstallerConfig struct {
	SyncInterval time.Duration // 0: no periodic sync
	// Attempts at a transient failure, waiting RetryInitial, then doubling up to RetryMax.
	MaxAttempts            int
	RetryInitial, RetryMax time.Duration
	InstallTimeout         time.Duration // one attempt
	// FailureTTL is how long a function whose install failed is answered with that failure
	// without a new attempt: one made-up function ID costs one attempt per period, however
	// many roll calls name it. 0 remembers nothing.
	FailureTTL time.Duration
}

func (c InstallerConfig) validate() error {
	return errors.Join(
		check.Min("Installer.SyncInterval", c.SyncInterval, 0),
		check.Min("Installer.MaxAttempts", c.MaxAttempts, 1),
		check.Min("Installer.RetryInitial", c.RetryInitial, 0),
		check.Min("Installer.RetryMax", c.RetryMax, c.RetryInitial),
		check.Min("Installer.InstallTimeout", c.InstallTimeout, time.Millisecond),
		check.Min("Installer.FailureTTL", c.FailureTTL, 0),
	)
}

// installerConfig is the installer's settings and collaborators.
type installerConfig struct {
	InstallerConfig
	Store  FunctionStore // nil on heads: they only note install responses
	Outbox *outbox
	Log    zerolog.Logger
}

// DefaultInstallerConfig retries a transient failure 5 times, from 1 s to 30 s apart, and
// syncs hourly.
func DefaultInstallerConfig() InstallerConfig {
	return InstallerConfig{
		SyncInterval:   time.Hour,
		MaxAttempts:    5,
		RetryInitial:   time.Second,
		RetryMax:       30 * time.Second,
		InstallTimeout: 5 * time.Minute,
		FailureTTL:     time.Minute,
	}
}

// installRequest asks the installer for a function; the answer (*installResult) goes to the
// sender, or to ReplyTo when set, once the function is installed or definitely is not.
type installRequest struct {
	CID         string
	ManifestURL string // "" for the store's gateway
	ReplyTo     *actor.PID
}

// installResult answers an installRequest.
type installResult struct {
	CID string
	Err error
}

// installer installs functions: one download per CID at a time (everyone who asks meanwhile
// waits for the same outcome), transient failures retried with backoff as scheduled messages,
// and a periodic integrity sync, also a scheduled message.
type installer struct {
	cfg      installerConfig
	jobs     map[string]*installJob
	cancel   context.CancelFunc // of every download in flight; they end with the actor
	ctx      context.Context
	timers   *scheduler.TimerScheduler
	stopSync scheduler.CancelFunc
	syncing  bool
	// failures are recent failed installs, answered from here until they expire.
	failures map[string]installFailure
	// failLog is the log of install failures, sampled: a flood of made-up IDs must not flood it.
	failLog zerolog.Logger
	// running counts downloads and syncs in flight, so that stopping waits for them and the
	// store is not closed under a half-written install.
	running sync.WaitGroup
}

// installFailure is a failed install remembered for FailureTTL.
type installFailure struct {
	err   error
	until time.Time
}

// maxRememberedFailures bounds the failure cache; past it, expired and then arbitrary entries
// are forgotten.
const maxRememberedFailures = 4096

type installJob struct {
	manifestURL string
	attempt     int
	waiters     []installWaiter
	retry       scheduler.CancelFunc // the pending retry, if any
}

// installWaiter is one party waiting for an install: an actor, or a wire request.
type installWaiter struct {
	pid *actor.PID  // an actor waiting for *installResult
	ask func(error) // a wire request: answer its sender
}

type (
	// installDone and installRetry name their job: after a restart, messages of the previous
	// incarnation's jobs still arrive, and must not settle a new job for the same CID.
	installDone struct {
		cid string
		job *installJob
		err error
	}
	installRetry struct {
		cid string
		job *installJob
	}
	syncTick struct{}
	syncDone struct {
		report fstore.SyncReport
		err    error
	}
)

func newInstaller(cfg installerConfig) actor.Producer {
	return func() actor.Actor { return &installer{cfg: cfg} }
}

// Receive implements actor.Actor.
func (in *installer) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		in.start(ctx)
	case *actor.Stopping, *actor.Restarting:
		in.stop(ctx)
	case *delivery:
		in.onWire(ctx, m)
	case *installRequest:
		reply := m.ReplyTo
		if reply == nil {
			reply = ctx.Sender()
		}
		in.request(ctx, m.CID, m.ManifestURL, installWaiter{pid: reply})
	case installDone:
		in.done(ctx, m)
	case installRetry:
		if job, ok := in.jobs[m.cid]; ok && job == m.job {
			job.retry = nil
			in.attempt(ctx, m.cid, job)
		}
	case syncTick:
		in.sync(ctx)
	case syncDone:
		in.syncing = false
		if m.err != nil {
			in.cfg.Log.Warn().Err(m.err).Msg("function sync failed")
			return
		}
		ev := in.cfg.Log.Info()
		if len(m.report.Failed) > 0 {
			ev = in.cfg.Log.Warn().Errs("failures", m.report.Failed)
		}
		ev.Int("checked", m.report.Checked).Int("repaired", m.report.Repaired).Int("failed", len(m.report.Failed)).
			Msg("function sync done")
	}
}

func (in *installer) start(ctx actor.Context) {
	in.jobs = make(map[string]*installJob)
	in.failures = make(map[string]installFailure)
	in.failLog = in.cfg.Log.Sample(sampledBurst())
	in.ctx, in.cancel = context.WithCancel(context.Background())
	in.timers = scheduler.NewTimerScheduler(ctx)
	if in.cfg.Store == nil {
		return
	}
	in.sync(ctx) // at start, like b7s; a broken record is reported, never fatal
	if in.cfg.SyncInterval > 0 {
		in.stopSync = in.timers.SendRepeatedly(in.cfg.SyncInterval, in.cfg.SyncInterval, ctx.Self(), syncTick{})
	}
}

func (in *installer) stop(ctx actor.Context) {
	if in.stopSync != nil {
		in.stopSync()
	}
	if in.cancel != nil {
		in.cancel()
	}
	waitAtMost(&in.running, 5*time.Second)
	for cid, job := range in.jobs {
		if job.retry != nil {
			job.retry()
		}
		for _, w := range job.waiters {
			if w.pid != nil {
				// Waiters hear that the installer went away rather than waiting forever.
				ctx.Send(w.pid, &installResult{CID: cid, Err: errInstallerStopped})
			}
		}
	}
	in.jobs = nil
}

// onWire handles MsgInstallFunction (workers) and MsgInstallFunctionResponse (heads).
func (in *installer) onWire(ctx actor.Context, d *delivery) {
	switch m := d.Message.(type) {
	case messages.MsgInstallFunction:
		if in.cfg.Store == nil {
			return
		}
		// Answer the publisher, not the neighbour that forwarded it (fixes quirk Q17).
		to := d.Author
		in.request(ctx, m.CID, m.ManifestURL, installWaiter{ask: func(err error) {
			if err != nil {
				return // b7s answers only success
			}
			in.cfg.Outbox.send(to, messages.MsgInstallFunctionResponse{
				TraceInfo: m.TraceInfo, Code: messages.CodeAccepted, Message: messages.InstalledMessage, CID: m.CID,
			}, nil)
		}})
	case messages.MsgInstallFunctionResponse:
		in.cfg.Log.Info().Stringer("peer", d.From).Str("function", m.CID).Str("code", string(m.Code)).
			Msg("worker installed function")
	}
}

func (in *installer) request(ctx actor.Context, cid, manifestURL string, w installWaiter) {
	if in.cfg.Store == nil {
		in.answer(ctx, cid, w, errNoStore)
		return
	}
	if in.cfg.Store.IsInstalled(cid) {
		in.answer(ctx, cid, w, nil)
		return
	}
	if f, ok := in.failures[cid]; ok {
		if time.Now().Before(f.until) {
			in.answer(ctx, cid, w, f.err)
			return
		}
		delete(in.failures, cid)
	}
	if job, ok := in.jobs[cid]; ok {
		job.waiters = append(job.waiters, w)
		return
	}
	if manifestURL == "" {
		manifestURL = in.cfg.Store.ManifestURL(cid)
	}
	job := &installJob{manifestURL: manifestURL, waiters: []installWaiter{w}}
	in.jobs[cid] = job
	in.attempt(ctx, cid, job)
}

// attempt runs one download off the actor's goroutine; the outcome comes back as installDone.
func (in *installer) attempt(ctx actor.Context, cid string, job *installJob) {
	job.attempt++
	self, root, store := ctx.Self(), ctx.ActorSystem().Root, in.cfg.Store
	parent, timeout, url := in.ctx, in.cfg.InstallTimeout, job.manifestURL
	in.cfg.Log.Debug().Str("function", cid).Int("attempt", job.attempt).Msg("installing")
	in.running.Add(1)
	go func() {
		defer in.running.Done()
		actx, cancel := context.WithTimeout(parent, timeout)
		defer cancel()
		_, err := store.Install(actx, url, cid)
		root.Send(self, installDone{cid: cid, job: job, err: err})
	}()
}

func (in *installer) done(ctx actor.Context, m installDone) {
	job, ok := in.jobs[m.cid]
	if !ok || job != m.job {
		return
	}
	if m.err != nil && fstore.IsTransient(m.err) && job.attempt < in.cfg.MaxAttempts {
		wait := backoff.Doubling(in.cfg.RetryInitial, in.cfg.RetryMax, job.attempt)
		in.failLog.Warn().Err(m.err).Str("function", m.cid).Int("attempt", job.attempt).Dur("retry_in", wait).
			Msg("install failed; will retry")
		job.retry = in.timers.SendOnce(wait, ctx.Self(), installRetry{cid: m.cid, job: job})
		return
	}
	delete(in.jobs, m.cid)
	if m.err != nil {
		in.failLog.Warn().Err(m.err).Str("function", m.cid).Int("attempts", job.attempt).Msg("install failed")
		in.remember(m.cid, m.err)
	} else {
		in.cfg.Log.Info().Str("function", m.cid).Msg("function installed")
	}
	for _, w := range job.waiters {
		in.answer(ctx, m.cid, w, m.err)
	}
}

// remember keeps a failed install for FailureTTL.
func (in *installer) remember(cid string, err error) {
	if in.cfg.FailureTTL <= 0 {
		return
	}
	now := time.Now()
	if len(in.failures) >= maxRememberedFailures {
		for k, f := range in.failures {
			if !now.Before(f.until) || len(in.failures) >= maxRememberedFailures {
				delete(in.failures, k)
			}
		}
	}
	in.failures[cid] = installFailure{err: err, until: now.Add(in.cfg.FailureTTL)}
}

func (in *installer) answer(ctx actor.Context, cid string, w installWaiter, err error) {
	if w.ask != nil {
		w.ask(err)
	}
	if w.pid != nil {
		ctx.Send(w.pid, &installResult{CID: cid, Err: err})
	}
}

func (in *installer) sync(ctx actor.Context) {
	if in.syncing || in.cfg.Store == nil {
		return // one sync at a time; the next tick tries again
	}
	in.syncing = true
	self, root, store, parent := ctx.Self(), ctx.ActorSystem().Root, in.cfg.Store, in.ctx
	in.running.Add(1)
	go func() {
		defer in.running.Done()
		report, err := store.Sync(parent)
		root.Send(self, syncDone{report: report, err: err})
	}()
}
