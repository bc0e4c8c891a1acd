package actors

import (
	"context"
	"fmt"
	"time"

	"github.com/asynkron/protoactor-go/actor"
	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/rs/zerolog"

	"github.com/b7s-actor/b7s/actors/inspect"
	"github.com/b7s-actor/b7s/attest"
	"github.com/b7s-actor/b7s/executor"
	"github.com/b7s-actor/b7s/internal/tracing"
	"github.com/b7s-actor/b7s/messages"
)

// FunctionRunner runs one execution (executor.Executor implements it).
type FunctionRunner interface {
	Execute(ctx context.Context, req executor.Request) (executor.Result, error)
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
	QueueSize   int // executions waiting beyond Concurrency; more are refused with 503
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
	Drain       *drainState       // draining: silent on roll calls, MsgExecute refused "503"
	Tracing     *tracing.Provider // nil: off
}

// work is a worker's side of execution: it answers roll calls, admits MsgExecute within the
// concurrency limit and a bounded queue, and runs each admitted execution in a workerExecution
// child.
type work struct {
	cfg     workConfig
	running map[string]*actor.PID // request ID -> child
	byPID   map[string]string     // child ID -> request ID
	queue   []*delivery           // admitted, waiting for a slot
	// roll calls waiting for the installer, by function
	pendingRollCalls map[string][]messages.MsgRollCall
	drainWaiters     drainWaiters
}

func newWork(cfg workConfig) actor.Producer {
	return func() actor.Actor { return &work{cfg: cfg} }
}

// Receive implements actor.Actor.
func (w *work) Receive(ctx actor.Context) {
	switch m := ctx.Message().(type) {
	case *actor.Started:
		w.running = make(map[string]*actor.PID)
		w.byPID = make(map[string]string)
		w.pendingRollCalls = make(map[string][]messages.MsgRollCall)
	case *delivery:
		switch wm := m.Message.(type) {
		case messages.MsgRollCall:
			w.rollCall(ctx, wm)
		case messages.MsgExecute:
			w.execute(ctx, m, wm)
		}
	case *installResult:
		w.installed(ctx.Self(), m)
	case *actor.Terminated:
		w.finished(ctx, m.Who)
		w.drainWaiters.notify(ctx, w.idle())
	case *drainWait:
		w.drainWaiters.add(ctx, w.idle())
	}
}

// idle: nothing running or queued, so a drain can end.
func (w *work) idle() bool { return len(w.running) == 0 && len(w.queue) == 0 }

func (w *work) busy() bool {
	return len(w.running) >= w.cfg.Concurrency && len(w.queue) >= w.cfg.QueueSize
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
	if rc.Consensus != messages.ConsensusNone {
		// Consensus clusters are not implemented yet: volunteering would only fail later.
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
	if _, dup := w.running[m.RequestID]; dup || w.queued(m.RequestID) {
		log.Warn().Msg("execute for a request already running dropped")
		return
	}
	if w.cfg.Drain.active() {
		w.reply(ctx.Self(), d.From, m, messages.CodeNotAvailable, drainingMessage)
		return
	}
	if !installed {
		w.reply(ctx.Self(), d.From, m, messages.CodeNotFound, "function not installed")
		return
	}
	if c, err := m.Config.Consensus(); err != nil || c != messages.ConsensusNone {
		w.reply(ctx.Self(), d.From, m, messages.CodeError, "consensus execution is not supported by this worker")
		return
	}
	if len(w.running) < w.cfg.Concurrency {
		w.start(ctx, d)
		return
	}
	if len(w.queue) < w.cfg.QueueSize {
		w.queue = append(w.queue, d)
		return
	}
	w.reply(ctx.Self(), d.From, m, messages.CodeNotAvailable, fmt.Sprintf("worker busy: %d running, %d queued", len(w.running), len(w.queue)))
}

func (w *work) queued(requestID string) bool {
	for _, d := range w.queue {
		if d.Message.(messages.MsgExecute).RequestID == requestID {
			return true
		}
	}
	return false
}

func (w *work) start(ctx actor.Context, d *delivery) {
	m := d.Message.(messages.MsgExecute)
	pid, err := ctx.SpawnNamed(w.cfg.Tree.props("execution", newWorkerExecution(w.cfg, d.From, m)), m.RequestID)
	if err != nil {
		w.reply(ctx.Self(), d.From, m, messages.CodeError, "could not start the execution")
		w.cfg.Log.Error().Err(err).Str("request", m.RequestID).Msg("spawn execution")
		return
	}
	w.running[m.RequestID] = pid
	w.byPID[pid.Id] = m.RequestID
}

func (w *work) finished(ctx actor.Context, who *actor.PID) {
	id, ok := w.byPID[who.Id]
	if !ok {
		return
	}
	delete(w.byPID, who.Id)
	delete(w.running, id)
	for len(w.queue) > 0 && len(w.running) < w.cfg.Concurrency {
		next := w.queue[0]
		w.queue = w.queue[1:]
		w.start(ctx, next)
	}
}

// reply refuses m with code. The refusal carries a result keyed by this worker, as every
// non-204 answer does (spec §4.5), so a head knows at once this worker will not run it.
func (w *work) reply(self *actor.PID, to peer.ID, m messages.MsgExecute, code messages.Code, msg string) {
	resp := m.Response(code)
	resp.Results = messages.ResultMap{w.cfg.Self: {ExecutionResult: messages.ExecutionResult{Code: code}}}
	resp.Message = msg
	w.cfg.Tree.noteSent(self, resp, to, msg)
	w.cfg.Outbox.send(to, resp, nil)
}

// workerExecution runs one function on a worker, in its own actor: the wazero call runs on a goroutine of its
// own and comes back as a message, so the actor can be stopped (which cancels the guest).
type workerExecution struct {
	cfg      workConfig
	from     peer.ID
	req      messages.MsgExecute
	cancel   context.CancelFunc
	reported bool
	trace    executionTrace
}

type executionDone struct {
	res executor.Result
	err error
}

func newWorkerExecution(cfg workConfig, from peer.ID, req messages.MsgExecute) actor.Producer {
	return func() actor.Actor { return &workerExecution{cfg: cfg, from: from, req: req} }
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
			// A panic (per-request actors are stopped, not restarted) or the node stopping.
			e.send(ctx.Self(), messages.CodeError, messages.ExecutionResult{Code: messages.CodeError}, "the execution was stopped before it finished")
		}
	case executionDone:
		e.report(ctx, m)
	}
}

func (e *workerExecution) run(ctx actor.Context) {
	path, err := e.cfg.Functions.FunctionPath(e.req.FunctionID, e.req.Method)
	if err != nil {
		e.fail(ctx, err)
		return
	}
	req := toExecutorRequest(e.req, path)
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if e.cfg.Tracing.Enabled() {
		runCtx = e.trace.start(e.cfg.Tracing, runCtx, e.req)
	}
	self, root, runner := ctx.Self(), ctx.ActorSystem().Root, e.cfg.Runner
	e.cfg.Tree.note(self, inspect.Label{Type: "run", Request: e.req.RequestID, Detail: "executor: " + e.req.Method})
	go func() {
		res, err := runner.Execute(runCtx, req)
		root.Send(self, executionDone{res: res, err: err})
	}()
}

func (e *workerExecution) fail(ctx actor.Context, err error) {
	e.cfg.Log.Warn().Err(err).Str("request", e.req.RequestID).Msg("execution failed to start")
	e.send(ctx.Self(), messages.CodeError, messages.ExecutionResult{Code: messages.CodeError}, err.Error())
	ctx.Stop(ctx.Self())
}

func (e *workerExecution) report(ctx actor.Context, m executionDone) {
	if m.err != nil {
		e.cfg.Log.Debug().Err(m.err).Str("request", e.req.RequestID).Str("function", e.req.FunctionID).Msg("function did not succeed")
	}
	res := fromExecutorResult(m.res)
	e.send(ctx.Self(), res.Code, res, "")
	ctx.Stop(ctx.Self())
}

func (e *workerExecution) send(self *actor.PID, code messages.Code, res messages.ExecutionResult, msg string) {
	e.reported = true
	results := messages.ResultMap{e.cfg.Self: {ExecutionResult: res}}
	e.cfg.Results.put(e.req.RequestID, results)
	resp := e.req.Response(code)
	resp.Results = results
	resp.Message = msg
	if e.trace.end(code, msg) {
		resp.Carrier = e.trace.work.carrier
	}
	e.cfg.Tree.noteSent(self, resp, e.from, msg)
	e.cfg.Outbox.send(e.from, resp, nil)
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
