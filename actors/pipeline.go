package actors

import "github.com/b7s-actor/b7s/messages"

// Role is what a node does in the network.
type Role string

// The two roles of spec §1.
const (
	RoleHead   Role = "head"
	RoleWorker Role = "worker"
)

// pipeline says how a message arrived: on a gossipsub topic or on a direct stream.
type pipeline struct {
	Direct bool
	Topic  string // set when !Direct
}

// String names the pipeline for logs and metric labels.
func (p pipeline) String() string {
	if p.Direct {
		return "direct"
	}
	return "pubsub"
}

// route is one row of spec §2.1's table.
type route struct {
	pubsub, direct bool
	worker, head   bool
}

var routes = map[string]route{
	messages.TypeHealthCheck:             {pubsub: true, direct: false, worker: true, head: true},
	messages.TypeInstallFunction:         {pubsub: true, direct: true, worker: true, head: false},
	messages.TypeInstallFunctionResponse: {pubsub: false, direct: true, worker: false, head: true},
	messages.TypeRollCall:                {pubsub: true, direct: false, worker: true, head: false},
	messages.TypeRollCallResponse:        {pubsub: false, direct: true, worker: false, head: true},
	messages.TypeExecute:                 {pubsub: false, direct: true, worker: true, head: true},
	messages.TypeExecuteResponse:         {pubsub: false, direct: true, worker: false, head: true},
	messages.TypeFormCluster:             {pubsub: false, direct: true, worker: true, head: false},
	messages.TypeFormClusterResponse:     {pubsub: false, direct: true, worker: false, head: true},
	messages.TypeDisbandCluster:          {pubsub: false, direct: true, worker: true, head: false},
}

// Drop reasons, used as the `reason` label of b7s_node_messages_dropped.
const (
	dropMalformed   = "malformed"
	dropTooLarge    = "too_large"
	dropUnknownType = "unknown_type"
	dropPipeline    = "not_allowed_on_pipeline"
	dropRole        = "not_allowed_for_role"
	dropInvalid     = "invalid"
	dropNoOwner     = "no_owner"
)

// admit applies spec §2.1's two filters to a message type. It returns "" when the message may
// pass, or the drop reason.
func admit(typ string, p pipeline, role Role) string {
	r, ok := routes[typ]
	if !ok {
		return dropUnknownType
	}
	if (p.Direct && !r.direct) || (!p.Direct && !r.pubsub) {
		return dropPipeline
	}
	if (role == RoleHead && !r.head) || (role == RoleWorker && !r.worker) {
		return dropRole
	}
	return ""
}
