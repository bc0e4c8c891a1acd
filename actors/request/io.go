package request

import (
	"time"

	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// Input is what the wrapping actor feeds to Step.
type Input interface{ isInput() }

// RollCallAnswer is a worker's MsgRollCallResponse for this request.
type RollCallAnswer struct {
	From       peer.ID
	Code       messages.Code
	FunctionID string
}

// Tick says "the current time may be past the deadline". The actor sends it when the deadline it
// was told arrives; a spurious or early Tick does nothing.
type Tick struct{}

// SendFailed says the message of the current phase could not be sent to To: MsgFormCluster during
// FormCluster (formation fails at once), MsgExecute during Execute (To will not answer). A failed
// MsgDisbandCluster needs no report: the request is over by then.
type SendFailed struct {
	To  peer.ID
	Err error
}

// WorkerResult is a worker's result, already extracted from its MsgExecuteResponse.
type WorkerResult struct {
	From   peer.ID
	Result messages.NodeResult
}

// ClusterFormed is a worker's MsgFormClusterResponse for this request: "200" means it joined
// the cluster; any other code means it did not, and Message (if any) says why.
type ClusterFormed struct {
	From    peer.ID
	Code    messages.Code
	Message string
}

// Cancel ends the request early: the client went away or the node is stopping.
type Cancel struct{ Reason string }

func (RollCallAnswer) isInput() {}
func (Tick) isInput()           {}
func (SendFailed) isInput()     {}
func (WorkerResult) isInput()   {}
func (ClusterFormed) isInput()  {}
func (Cancel) isInput()         {}

// Effect is what the wrapping actor must carry out, in the order returned.
type Effect interface{ isEffect() }

// PublishRollCall asks the actor to publish MsgRollCall for the request.
type PublishRollCall struct{}

// Deadline (re)arms the single timer: the actor sends Tick at (or after) At. It replaces any
// earlier Deadline.
type Deadline struct{ At time.Time }

// SendFormCluster asks the actor to send MsgFormCluster to the chosen workers, in the order they
// answered the roll call (the order MsgFormCluster.Peers needs).
type SendFormCluster struct{ To []peer.ID }

// SendDisband asks the actor to send MsgDisbandCluster to every worker MsgFormCluster went to,
// in the same order. It is returned at most once, directly before Finish.
type SendDisband struct{ To []peer.ID }

// SendExecute asks the actor to send MsgExecute to the chosen workers, in the order they answered.
type SendExecute struct{ To []peer.ID }

// Finish is the request's answer. It is returned exactly once; the timer is void afterwards.
type Finish struct{ Response messages.MsgExecuteResponse }

func (PublishRollCall) isEffect() {}
func (Deadline) isEffect()        {}
func (SendFormCluster) isEffect() {}
func (SendExecute) isEffect()     {}
func (SendDisband) isEffect()     {}
func (Finish) isEffect()          {}
