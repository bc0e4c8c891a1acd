// Package request is the pure core of the head's per-request supervisor (spec §4.3, with §4.6
// for consensus): roll call, cluster formation (consensus only), execute, gather, disband, and
// the one answer to the client.
//
// # What it owns
//
// A Machine owns the state of one request: the roll-call answers accepted so far, the workers
// chosen, which of them joined the cluster, the results gathered, and the single pending
// deadline. It takes one Input at a time, together with the current time, and returns the
// Effects the wrapping actor must carry out (publish the roll call, arm the timer, send
// MsgFormCluster, MsgExecute or MsgDisbandCluster, answer). It is the etcd-raft pattern: the hard
// rules live here and are tested by scripts in testdata (see interaction_test.go).
//
// # Phases
//
// RollCall → Execute → Done without consensus (Params.Consensus is messages.ConsensusNone);
// RollCall → FormCluster → Execute → Done with Raft or PBFT. Any phase may end in Done directly.
//
// # What it must never do
//
// No actors, no goroutines, no I/O, no logging, no clock reads, no randomness. Time only enters as
// the now argument; a Tick is only a hint that the deadline may have passed. Whatever it returns
// is a plain value the caller may keep: effects never alias the machine's state (except Finish's
// ResultMap, which the machine never touches again).
//
// # Rules
//
// Roll call. An answer is accepted when its code is "202", its function ID matches, and its
// sender has not been accepted before; accepted senders are kept in arrival order. Anything else,
// and every answer after the roll call, is ignored.
//   - NodeCount ≥ 1: as soon as NodeCount answers are accepted, the first NodeCount are chosen:
//     SendExecute, then Deadline{now+ExecutionTimeout} (with consensus: cluster formation, below).
//   - NodeCount == -1: the first accepted answer re-arms the deadline to
//     min(now+SettleWindow, roll-call deadline). When that passes, every worker accepted so far
//     is chosen. (Unlike b7s, which always waits the full roll-call timeout — quirk Q1.)
//   - The roll-call deadline passing with too few answers (fewer than NodeCount; none for -1)
//     finishes with "408" and a message saying how many answered, even when some did (Q1).
//
// Cluster formation (consensus only). When the roll call chose its workers: SendFormCluster to
// all of them, in the order they answered, then Deadline{now+FormTimeout}. ClusterFormed counts
// only from chosen workers, the first per worker: "200" means the worker joined; when every chosen
// worker has joined, SendExecute and Deadline{now+ExecutionTimeout}, exactly as without consensus.
// Formation fails at once, with "500" and a message naming the worker and why and those that had
// not answered, when a chosen worker that has not joined answers any other code or SendFailed
// reports it unreachable. The formation deadline passing fails it too ("500", naming the workers
// that did not form). Answers from other workers, second answers and answers in other phases
// are ignored; so are results during formation.
//
// Gather. Results count only from chosen workers, the first per worker. SendFailed marks a
// chosen worker as one that will not answer; a worker is settled by its first result or send
// failure, and later reports about it are ignored. When every chosen worker is settled the
// machine finishes at once; otherwise the gather deadline decides. With n chosen and got results:
//   - got == n: "200", no message;
//   - every send failed: "500", "could not send the request to any worker";
//   - got == 0: "204";
//   - got/n < Threshold: "206", the message names the threshold;
//   - otherwise "200", with a message naming how many answered and how many did not.
//
// The gather is the same with consensus: a replica lost after the cluster formed is a missing
// result (or a SendFailed), judged by the ratio rules, not a formation failure.
//
// Per-result codes change the overall code in one case: when every result received is a failure
// (a code other than "200"), the request failed, and the overall code is that code when all
// results share it, else "500", with a message counting the codes ("every result is a failure:
// 2 × 500, 1 × 404"). The original answers "200" there (quirk Q4): a client that reads only the
// overall code, as most do, took a run where no worker ran the function for a success. A run
// with at least one "200" keeps the ratio rules above; the per-peer codes are in Results.
//
// Cancel finishes in any phase with "408" and "request cancelled: <reason>", keeping the chosen
// cluster and the results received so far.
//
// Disband. Once SendFormCluster was returned, every way the request ends — success, gather
// deadline, formation failure or timeout, send failure, cancel — returns SendDisband to the same
// workers (those that joined and those that did not) directly before Finish. It is returned at
// most once, never without consensus, and never when the request ends during the roll call
// (nothing was asked to form). The original does not disband when formation fails; we do.
// ClusterPeers says whom a disband is still owed to, for an actor that stops before Finish.
//
// Time. Every phase has exactly one deadline, always absolute; each Deadline effect replaces the
// previous one. Time is observed from every input, not only Tick: an input whose now is at or past
// the deadline lets the deadline pass and is itself dropped. So an answer arriving after the
// settle window, or a result arriving at the gather deadline, is excluded even if it reaches the
// machine before the Tick does. Cancel is the exception: it finishes the request whatever the
// time. A Tick before the deadline does nothing.
//
// Finish. It is returned exactly once, always as the last effect of its step (after SendDisband
// when there is one); afterwards Phase
// is Done, Deadline is zero and every Step returns nil. The response carries RequestID, Code,
// Results (the results received), Cluster.Peers (the chosen workers, empty if the roll call
// failed) and Message, which is set whenever the code is not "200" and whenever a "200" is
// missing results. The message is ours (b7s sets it only for roll-call timeouts, quirk Q5); the
// actor decides which request ID the client sees (quirk Q16).
//
// Start with invalid Params returns a machine that is already Done, with a "500" Finish that
// carries the validation error.
package request
