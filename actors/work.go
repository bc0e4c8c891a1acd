package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/asynkron/protoactor-go/scheduler"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// FunctionRunner runs one execution (executor.Executor implements it). Reservation is the most
// req can hold while it runs (its memory limit and disk quota), Budget what the worker's running
// executions may hold together; the work actor admits executions against them.
type FunctionRunner interface {
	Execute(ctx context.Context, req executor.Request) (executor.Result, error)
	Reservation(req executor.Request) executor.Reservation
	Budget() executor.Reservation
}

// FunctionLocator says whether a function is installed and where its files are
// (fstore.Store implements it).
type FunctionLocator interface {
	IsInstalled(cid string) bool
	FunctionPath(cid, method string) (string, error)
}

// workConfig configures a worker's work actor.
type workConfig struct {
	Self        peer.ID
	Concurrency int // executions at once
	QueueSize   int // executions waiting for a slot or for budget; more are refused with 503
	Runner      FunctionRunner
	Functions   FunctionLocator
	Installer   *actor.PID // asked for functions a roll call needs
	// Attestation is what roll calls with attributes are matched against; nil or empty: none.
	Attestation *attest.Holder
	Outbox      *outbox
	Results     *resultCache
	Tree        *tree
	Metrics     *nodeMetrics
	Log         zerolog.Logger

	// ExecutionTimeout bounds an execution whose request sets no timeout, as the head's
	// gathering is bounded (one setting: actors.Config.ExecutionTimeout).
	ExecutionTimeout time.Duration
	// PromiseWindow is how long after answering a roll call "202" the worker takes that
	// request's MsgExecute even while draining: the head sends it once its roll call ends,
	// within its roll-call timeout (one setting: actors.Config.RollCallTimeout) unless the
	// request set a longer timeout of its own, which roll calls do not carry. A drain waits
	// for the window of the promises still open; zero: none are kept.
	PromiseWindow time.Duration
	Drain         *drainState       // draining: silent on roll calls, new MsgExecute refused "503"
	Tracing       *tracing.Provider // nil: off
	// Clusters takes MsgExecute with consensus (the clusters actor); Consensus says it serves
	// Raft and PBFT clusters, so their roll calls are answered.
	Clusters  *actor.PID
	Consensus bool
	// Key signs PBFT results (spec §3.4).
	Key crypto.PrivKey
}

// runCommitted asks the work actor to run a request a consensus cluster committed and to send
// this node's result to Origin, the head (spec §5: every replica does).
type runCommitted struct {
	Origin peer.ID
	Msg    messages.MsgExecute
	// PBFT, for a PBFT cluster's request: the result carries it and this node's signature.
	PBFT *messages.PBFTResultInfo
}

// work is a worker's side of execution: it answers roll calls, admits MsgExecute within the
// concurrency limit, the worker's memory and disk budget (admission) and a bounded queue, and
// runs each admitted execution in a workerExecution child, bounded by its request's deadline.
type work struct {
	cfg     workConfig
	adm     admission
	typical executor.Reservation  // an execution with the defaults: what roll calls offer room for
	running map[string]runningJob // request ID -> child
	byPID   map[string]string     // child ID -> request ID
	queue   []*job                // admitted, waiting for a slot or for budget, oldest first
	// roll calls waiting for the installer, by function
	pendingRollCalls map[string][]messages.MsgRollCall
	drainWaiters     drainWaiters
	// ran is who sent each request this worker ran lately, by request ID (see rememberedRuns).
	ran *lru.Cache[string, peer.ID]
	// promises are the roll calls this worker answered "202" lately, by request ID (see
	// PromiseWindow); a drain does not refuse their MsgExecute.
	promises *lru.Cache[string, promise]
	timers   *scheduler.TimerScheduler
	// promiseCheck is the pending wake-up of a drain that waits for open promises, if any.
	promiseCheck scheduler.CancelFunc
}

// promise is a roll call answered "202": its head may send MsgExecute until the window ends.
type promise struct {
	origin peer.ID
	until  time.Time
}

// promisesLapsed wakes a draining work actor when the open promises' window has passed.
type promisesLapsed struct{}

// job is an admitted MsgExecute.
type job struct {
	from peer.ID
	req  messages.MsgExecute
	path string               // the function's module
	need executor.Reservation // what it reserves while it runs
	// deadline is when its request's own timeout (else ExecutionTimeout) passes, counted from
	// its arrival: the head stops waiting then, so the work stops too.
	deadline time.Time
	// committed: a Raft cluster committed it (timed in b7s_raft_execute_milliseconds); pbft:
	// a PBFT cluster executed it (its result is signed and carries these details).
	committed bool
	pbft      *messages.PBFTResultInfo
}

type runningJob struct {
	pid  *actor.PID
	from peer.ID
	need executor.Reservation
}

// rememberedRuns is how many finished requests a worker remembers, so that a MsgExecute sent
// again (a head retrying after a lost answer, a replay) gets the result it already has instead
// of running the function twice. About 100 bytes each.
const rememberedRuns = 1024

func newWork(cfg workConfig) actor.Producer {
	return func() actor.Actor { return &work{cfg: cfg} }
}

// Receive implements actor.Actor.
func (w *work) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.adm = newAdmission(w.cfg.Concurrency, w.cfg.Runner.Budget())
		w.typical = w.cfg.Runner.Reservation(executor.Request{})
		w.running = make(map[string]runningJob)
		w.byPID = make(map[string]string)
		w.pendingRollCalls = make(map[string][]messages.MsgRollCall)
		w.ran, _ = lru.New[string, peer.ID](rememberedRuns)          // only fails for a size < 1
		w.promises, _ = lru.New[string, promise](rememberedPromises) // likewise
		w.timers = scheduler.NewTimerScheduler(ctx)
	case *delivery:
		switch wm := m.Message.(type) {
		case messages.MsgRollCall:
			w.rollCall(ctx, wm)
		case messages.MsgExecute:
			w.execute(ctx, m, wm)
		}
	case *runCommitted:
		w.runCommitted(ctx, m)
	case *installResult:
		w.installed(ctx.Self(), m)
	case *actor.Terminated:
		w.finished(ctx, m.Who)
		w.drainWaiters.notify(ctx, w.idle(ctx))
	case *drainWait:
		w.drainWaiters.add(ctx, w.idle(ctx))
	case *promisesLapsed:
		w.promiseCheck = nil
		w.drainWaiters.notify(ctx, w.idle(ctx))
	case *actor.Stopping, *actor.Restarting:
		if w.promiseCheck != nil {
			w.promiseCheck()
			w.promiseCheck = nil
		}
	}
}

// rememberedPromises bounds the roll calls a worker remembers answering; past it the oldest
// promise is forgotten (its MsgExecute, if it comes during a drain, is refused like new work).
const rememberedPromises = 1024

// idle: nothing running or queued and, while draining, no promise whose MsgExecute may still
// come, so a drain can end. When only promises hold it, a wake-up is set for the last of them.
func (w *work) idle(ctx actor.Context) bool {
	if len(w.running) != 0 || len(w.queue) != 0 {
		return false
	}
	if !w.cfg.Drain.active() {
		return true
	}
	last := w.promisesOpenUntil(time.Now())
	if last.IsZero() {
		return true
	}
	if w.promiseCheck == nil {
		w.promiseCheck = w.timers.SendOnce(time.Until(last), ctx.Self(), &promisesLapsed{})
	}
	return false
}

// promisesOpenUntil is when the last promise open at now lapses (zero: none is open). Every
// promise has the same window, so the newest lapses last.
func (w *work) promisesOpenUntil(now time.Time) time.Time {
	keys := w.promises.Keys() // oldest first
	if len(keys) == 0 {
		return time.Time{}
	}
	if p, _ := w.promises.Peek(keys[len(keys)-1]); now.Before(p.until) {
		return p.until
	}
	return time.Time{}
}

// keptPromise reports whether m is the MsgExecute of a roll call this worker answered "202"
// to its sender within the window. The promise is then used up; one sent by another peer
// (request IDs are public: roll calls carry them) leaves it to its head.
func (w *work) keptPromise(from peer.ID, m messages.MsgExecute) bool {
	p, ok := w.promises.Peek(m.RequestID)
	if !ok || p.origin != from {
		return false
	}
	w.promises.Remove(m.RequestID)
	return time.Now().Before(p.until)
}

// busy: an execution with the defaults could neither start nor wait.
func (w *work) busy() bool {
	return !w.canStart(w.typical) && len(w.queue) >= w.cfg.QueueSize
}

// canStart: an execution needing need may start now. Nothing overtakes the queue, so a large
// execution waiting for budget is not starved by small ones.
func (w *work) canStart(need executor.Reservation) bool {
	return len(w.queue) == 0 && w.adm.fits(need)
}

// Reasons a worker stays silent on a roll call, besides the attestation's (attest.Reason); the
// reason label of b7s_node_rollcalls_skipped.
const (
	skipConsensus = "consensus"
	skipBusy      = "busy"
	skipDraining  = "draining"
)

// functionLabel is the function label of cid: itself when installed, else one shared value.
func (w *work) functionLabel(cid string, installed bool) string {
	if installed {
		return cid
	}
	return labelNotInstalled
}

func (w *work) rollCall(ctx actor.Context, rc messages.MsgRollCall) {
	installed := w.cfg.Functions.IsInstalled(rc.FunctionID)
	w.cfg.Metrics.rollCallsSeen.WithLabelValues(w.functionLabel(rc.FunctionID, installed)).Inc()
	if rc.Consensus != messages.ConsensusNone && (!rc.Consensus.Valid() || !w.cfg.Consensus) {
		// A cluster this worker cannot join: volunteering would only fail later.
		w.skip(rc, skipConsensus, attest.Mismatch{})
		return
	}
	if rc.Attributes != nil {
		// Spec §4.4 step 2: only a worker whose attestation satisfies the attributes answers.
		if m := w.cfg.Attestation.Current().Match(rc.Attributes); !m.OK() {
			w.skip(rc, string(m.Reason), m)
			return
		}
	}
	if w.cfg.Drain.active() {
		w.skip(rc, skipDraining, attest.Mismatch{})
		return
	}
	if w.busy() {
		w.skip(rc, skipBusy, attest.Mismatch{})
		return
	}
	if installed {
		w.answerRollCall(ctx.Self(), rc, messages.CodeAccepted)
		return
	}
	waiting := w.pendingRollCalls[rc.FunctionID]
	w.pendingRollCalls[rc.FunctionID] = append(waiting, rc)
	if len(waiting) == 0 {
		ctx.Send(w.cfg.Installer, &installRequest{CID: rc.FunctionID, ReplyTo: ctx.Self()})
	}
}

// skip counts a roll call this worker stays silent on (the spec sends no negative answer);
// mismatch, when the attestation is the reason, says which part failed. It is passed by value
// and formatted only when logged, so the path costs no allocation.
func (w *work) skip(rc messages.MsgRollCall, reason string, mismatch attest.Mismatch) {
	w.cfg.Metrics.rollCallsSkipped.WithLabelValues(reason).Inc()
	if ev := w.cfg.Log.Debug(); ev.Enabled() {
		if !mismatch.OK() {
			ev = ev.Str("mismatch", mismatch.String())
		}
		ev.Str("request", rc.RequestID).Str("function", rc.FunctionID).Str("reason", reason).Msg("not volunteering on a roll call")
	}
}

func (w *work) installed(self *actor.PID, r *installResult) {
	code := messages.CodeAccepted
	if r.Err != nil {
		code = messages.CodeError
	}
	for _, rc := range w.pendingRollCalls[r.CID] {
		w.answerRollCall(self, rc, code)
	}
	delete(w.pendingRollCalls, r.CID)
}

func (w *work) answerRollCall(self *actor.PID, rc messages.MsgRollCall, code messages.Code) {
	if w.cfg.Drain.active() {
		w.skip(rc, skipDraining, attest.Mismatch{}) // the install finished after the drain began
		return
	}
	if code == messages.CodeAccepted {
		w.cfg.Metrics.rollCallsApplied.WithLabelValues(rc.FunctionID).Inc()
		if w.cfg.PromiseWindow > 0 {
			w.promises.Add(rc.RequestID, promise{origin: rc.Origin, until: time.Now().Add(w.cfg.PromiseWindow)})
		}
	}
	resp := rc.Response(code)
	w.cfg.Tree.noteSent(self, resp, rc.Origin, "")
	w.cfg.Outbox.send(rc.Origin, resp, nil)
}

func (w *work) execute(ctx actor.Context, d *delivery, m messages.MsgExecute) {
	installed := w.cfg.Functions.IsInstalled(m.FunctionID)
	w.cfg.Metrics.functionExecutions.WithLabelValues(w.functionLabel(m.FunctionID, installed)).Inc()
	log := w.cfg.Log.With().Str("request", m.RequestID).Str("function", m.FunctionID).Stringer("peer", d.From).Logger()
	if m.RequestID == "" {
		log.Warn().Msg("execute without request_id dropped") // spec §4.5: nothing is sent
		return
	}
	consensus, err := m.Config.Consensus()
	if err != nil {
		w.reply(ctx.Self(), d.From, m, messages.CodeError, executor.ExitLoadFailure, err.Error())
		return
	}
	if consensus != messages.ConsensusNone {
		// Spec §4.5: the cluster of the request takes it (a Raft leader appends it, a follower
		// waits for it to commit); it runs here through runCommitted.
		if !installed {
			w.reply(ctx.Self(), d.From, m, messages.CodeNotFound, executor.ExitLoadFailure, "function not installed")
			return
		}
		ctx.Send(w.cfg.Clusters, &clusterExecute{From: d.From, Msg: m})
		return
	}
	if _, dup := w.running[m.RequestID]; dup || w.queued(m.RequestID) {
		log.Warn().Msg("execute for a request already running dropped")
		return
	}
	if origin, ok := w.ran.Get(m.RequestID); ok {
		w.ranBefore(ctx.Self(), d.From, origin, m, log)
		return
	}
	if promised := w.keptPromise(d.From, m); w.cfg.Drain.active() && !promised {
		w.reply(ctx.Self(), d.From, m, messages.CodeNotAvailable, executor.ExitLoadFailure, drainingMessage)
		return
	}
	if !installed {
		w.reply(ctx.Self(), d.From, m, messages.CodeNotFound, executor.ExitLoadFailure, "function not installed")
		return
	}
	w.admit(ctx, &job{from: d.From, req: m})
}

// runCommitted runs a request its cluster committed, for the head that formed the cluster.
// A drain does not refuse it: the cluster was formed on this worker's word.
func (w *work) runCommitted(ctx actor.Context, r *runCommitted) {
	m := r.Msg
	if _, dup := w.running[m.RequestID]; dup || w.queued(m.RequestID) {
		return
	}
	if _, ok := w.ran.Get(m.RequestID); ok {
		return // each replica runs a request once
	}
	if !w.cfg.Functions.IsInstalled(m.FunctionID) {
		w.reply(ctx.Self(), r.Origin, m, messages.CodeNotFound, executor.ExitLoadFailure, "function not installed")
		return
	}
	w.admit(ctx, &job{from: r.Origin, req: m, committed: r.PBFT == nil, pbft: r.PBFT})
}

// admit starts j, queues it, or refuses it, within the worker's budget.
func (w *work) admit(ctx actor.Context, j *job) {
	m := j.req
	// A method that names no file of the function (absolute, climbing out) is the request's
	// fault, and is refused before it takes a slot.
	path, err := w.cfg.Functions.FunctionPath(m.FunctionID, m.Method)
	if err != nil {
		w.reply(ctx.Self(), j.from, m, messages.CodeInvalid, executor.ExitLoadFailure, err.Error())
		return
	}
	j.path, j.deadline = path, time.Now().Add(w.runTimeout(m.Config))
	j.need = w.cfg.Runner.Reservation(toExecutorRequest(m, path))
	switch {
	case !w.adm.possible(j.need):
		w.reply(ctx.Self(), j.from, m, messages.CodeNotAvailable, executor.ExitLoadFailure, fmt.Sprintf(
			"the execution needs %d MiB of memory and %d MiB of disk; this worker's budget is %d MiB and %d MiB",
			j.need.Memory>>20, j.need.Disk>>20, w.adm.budget.Memory>>20, w.adm.budget.Disk>>20))
	case w.canStart(j.need):
		w.start(ctx, j)
	case len(w.queue) < w.cfg.QueueSize:
		w.queue = append(w.queue, j)
	default:
		w.reply(ctx.Self(), j.from, m, messages.CodeNotAvailable, executor.ExitLoadFailure,
			fmt.Sprintf("worker busy: %s, %d queued", w.adm.String(), len(w.queue)))
	}
}

// maxRunTimeout caps a request's timeout on a worker, so that no value a peer sends wraps
// around when made a duration; the executor's MaxRunTime stops the run long before.
const maxRunTimeout = 24 * time.Hour

// runTimeout is how long after its arrival a request is worked on: its own timeout (seconds),
// else the execution timeout, the deadline the head gathers results by (spec §4.1).
func (w *work) runTimeout(c messages.Config) time.Duration {
	if c.Timeout > int(maxRunTimeout/time.Second) {
		return maxRunTimeout
	}
	_, timeout := requestTimeouts(c, 0, w.cfg.ExecutionTimeout)
	return timeout
}

// ranBefore answers a MsgExecute for a request this worker already ran: its sender gets the
// result again (the function does not run twice); anyone else gets nothing, since request IDs
// are public (roll calls carry them) and the result is not theirs.
func (w *work) ranBefore(self *actor.PID, from, origin peer.ID, m messages.MsgExecute, log zerolog.Logger) {
	if from != origin {
		log.Warn().Stringer("ran_for", origin).Msg("execute repeats a request this worker ran for another peer: dropped")
		return
	}
	results, ok := w.cfg.Results.get(m.RequestID)
	res, mine := results[w.cfg.Self]
	if !ok || !mine {
		log.Warn().Msg("execute repeats a request whose result is no longer kept: dropped")
		return
	}
	log.Info().Msg("execute repeats a request this worker ran: its result sent again")
	resp := m.Response(res.Code)
	resp.Results = messages.ResultMap{w.cfg.Self: res}
	w.cfg.Tree.noteSent(self, resp, from, "")
	w.cfg.Outbox.send(from, resp, nil)
}

func (w *work) queued(requestID string) bool {
	for _, j := range w.queue {
		if j.req.RequestID == requestID {
			return true
		}
	}
	return false
}

func (w *work) start(ctx actor.Context, j *job) {
	pid, err := ctx.SpawnNamed(w.cfg.Tree.props("execution", newWorkerExecution(w.cfg, j)), j.req.RequestID)
	if err != nil {
		w.reply(ctx.Self(), j.from, j.req, messages.CodeError, executor.ExitLoadFailure, "could not start the execution")
		w.cfg.Log.Error().Err(err).Str("request", j.req.RequestID).Msg("spawn execution")
		return
	}
	w.adm.take(j.need)
	w.running[j.req.RequestID] = runningJob{pid: pid, from: j.from, need: j.need}
	w.byPID[pid.Id] = j.req.RequestID
}

func (w *work) finished(ctx actor.Context, who *actor.PID) {
	id, ok := w.byPID[who.Id]
	if !ok {
		return
	}
	w.ran.Add(id, w.running[id].from)
	w.adm.release(w.running[id].need)
	delete(w.byPID, who.Id)
	delete(w.running, id)
	w.startQueued(ctx)
}

// startQueued starts the waiting executions that fit, oldest first. One whose request's
// deadline passed while it waited is answered "408" instead: its head has stopped waiting.
func (w *work) startQueued(ctx actor.Context) {
	now := time.Now()
	for len(w.queue) > 0 {
		next := w.queue[0]
		if !now.Before(next.deadline) {
			w.queue = w.queue[1:]
			w.reply(ctx.Self(), next.from, next.req, messages.CodeTimeout, executor.ExitTimeout,
				"the request's deadline passed while it waited for room on this worker")
			continue
		}
		if !w.adm.fits(next.need) {
			return
		}
		w.queue = w.queue[1:]
		w.start(ctx, next)
	}
}

// reply refuses m with code: it did not run, so its exit code is never 0 (exit, 101 for "could
// not be loaded", the runtime's code for a module it cannot run). The refusal carries a result
// keyed by this worker, as every non-204 answer does (spec §4.5), so a head knows at once this
// worker will not run it.
func (w *work) reply(self *actor.PID, to peer.ID, m messages.MsgExecute, code messages.Code, exit int, msg string) {
	resp := refusal(w.cfg.Self, m, code, exit, msg)
	w.cfg.Tree.noteSent(self, resp, to, msg)
	w.cfg.Outbox.send(to, resp, nil)
}

// refusal is worker self's answer to m when m does not run (see work.reply).
func refusal(self peer.ID, m messages.MsgExecute, code messages.Code, exit int, msg string) messages.MsgExecuteResponse {
	resp := m.Response(code)
	resp.Results = messages.ResultMap{self: {ExecutionResult: messages.ExecutionResult{
		Code: code, Result: messages.RuntimeOutput{ExitCode: exit}}}}
	resp.Message = msg
	return resp
}

// workerExecution runs one function on a worker, in its own actor: the wazero call runs on a goroutine of its
// own and comes back as a message, so the actor can be stopped (which cancels the guest). The
// call's context ends at the request's deadline, which the executor reports as a timeout.
type workerExecution struct {
	cfg      workConfig
	job      *job
	cancel   context.CancelFunc
	reported bool
	trace    executionTrace
	started  time.Time
}

type executionDone struct {
	res executor.Result
	err error
}

// IgnoreDeadLetterLogging: a run that ends after its actor was stopped (the node stopping, a
// panic) has already been answered; its result is dropped without a log line.
func (executionDone) IgnoreDeadLetterLogging() {}

func newWorkerExecution(cfg workConfig, j *job) actor.Producer {
	return func() actor.Actor { return &workerExecution{cfg: cfg, job: j} }
}

func (e *workerExecution) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		e.run(ctx)
	case *actor.Stopping:
		if e.cancel != nil {
			e.cancel()
		}
		if !e.reported {
			// A panic (per-request actors are stopped, not restarted) or the node stopping: the
			// guest did not run to its own exit.
			e.send(ctx.Self(), messages.CodeError, messages.ExecutionResult{Code: messages.CodeError,
				Result: messages.RuntimeOutput{ExitCode: executor.ExitInterrupted}},
				"the execution was stopped before it finished")
		}
	case executionDone:
		e.report(ctx, m)
	}
}

func (e *workerExecution) run(ctx actor.Context) {
	e.started = time.Now()
	req := toExecutorRequest(e.job.req, e.job.path)
	runCtx, cancel := context.WithDeadline(context.Background(), e.job.deadline)
	e.cancel = cancel
	if e.cfg.Tracing.Enabled() {
		runCtx = e.trace.start(e.cfg.Tracing, runCtx, e.job.req)
	}
	self, root, runner := ctx.Self(), ctx.ActorSystem().Root, e.cfg.Runner
	e.cfg.Tree.note(self, inspect.Label{Type: "run", Request: e.job.req.RequestID, Detail: "executor: " + e.job.req.Method})
	go func() {
		res, err := runner.Execute(runCtx, req)
		root.Send(self, executionDone{res: res, err: err})
	}()
}

func (e *workerExecution) report(ctx actor.Context, m executionDone) {
	req := e.job.req
	if m.err != nil {
		e.cfg.Log.Debug().Err(m.err).Str("request", req.RequestID).Str("function", req.FunctionID).Msg("function did not succeed")
	}
	res := truthful(fromExecutorResult(m.res), m.err)
	switch {
	case e.job.committed:
		e.cfg.Metrics.raftExecute.WithLabelValues(req.FunctionID).Observe(float64(time.Since(e.started).Milliseconds()))
	case e.job.pbft != nil:
		// Spec §11: measured from the request timestamp.
		e.cfg.Metrics.pbftExecute.WithLabelValues(req.FunctionID).Observe(float64(time.Since(req.Timestamp).Milliseconds()))
	}
	e.send(ctx.Self(), res.Code, res, "")
	ctx.Stop(ctx.Self())
}

// truthful keeps a failed run from reading as a success, whatever the runner filled in: only
// a run without error that reports "200" keeps code "200" and exit code 0.
func truthful(res messages.ExecutionResult, err error) messages.ExecutionResult {
	if err == nil && res.Code == messages.CodeOK {
		return res
	}
	if res.Code == messages.CodeOK || res.Code == "" {
		res.Code = messages.CodeError
	}
	if res.Result.ExitCode == 0 {
		res.Result.ExitCode = executor.ExitUnknownFailure
	}
	return res
}

func (e *workerExecution) send(self *actor.PID, code messages.Code, res messages.ExecutionResult, msg string) {
	e.reported = true
	result := messages.NodeResult{ExecutionResult: res}
	if e.job.pbft != nil {
		// Spec §6 step 8: the result names the view and request it answers, signed by this node.
		result.PBFT = *e.job.pbft
		if err := result.Sign(e.cfg.Key); err != nil {
			e.cfg.Log.Error().Err(err).Str("request", e.job.req.RequestID).Msg("sign pbft result")
		}
	}
	results := messages.ResultMap{e.cfg.Self: result}
	e.cfg.Results.put(e.job.req.RequestID, results)
	resp := e.job.req.Response(code)
	resp.Results = results
	resp.Message = msg
	if e.trace.end(code, msg) {
		resp.Carrier = e.trace.work.carrier
	}
	e.cfg.Tree.noteSent(self, resp, e.job.from, msg)
	e.cfg.Outbox.send(e.job.from, resp, nil)
}

func toExecutorRequest(m messages.MsgExecute, path string) executor.Request {
	rt := m.Config.Runtime
	req := executor.Request{
		RequestID:        m.RequestID,
		FunctionID:       m.FunctionID,
		ModulePath:       path,
		Stdin:            m.Config.Stdin,
		Permissions:      m.Config.Permissions,
		Entry:            rt.Entry,
		RunTime:          time.Duration(rt.ExecutionTime) * time.Millisecond,
		MemoryLimitPages: uint32(min(rt.Memory, 65536)),
		Fuel:             rt.Fuel,
	}
	for _, p := range m.Parameters {
		req.Args = append(req.Args, p.Value)
	}
	for _, v := range m.Config.Environment {
		req.Env = append(req.Env, executor.EnvVar{Name: v.Name, Value: v.Value})
	}
	return req
}

func fromExecutorResult(r executor.Result) messages.ExecutionResult {
	return messages.ExecutionResult{
		Code:   r.Code,
		Result: messages.RuntimeOutput{Stdout: r.Stdout, Stderr: r.Stderr, ExitCode: r.ExitCode},
		Usage: messages.Usage{
			WallClockTime: r.Usage.WallClock,
			CPUUserTime:   r.Usage.CPUUser,
			CPUSysTime:    r.Usage.CPUSys,
			MemoryMaxKB:   r.Usage.MemoryMaxKB,
			FuelConsumed:  r.Usage.FuelConsumed,
		},
	}
}
