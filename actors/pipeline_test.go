package actors

import (
	"testing"

	"github.com/b7s-actor/b7s/messages"
)

// TestAdmit_EveryTypePipelineAndRole pins spec §2.1's table cell by cell.
func TestAdmit_EveryTypePipelineAndRole(t *testing.T) {
	type want struct{ pubsubWorker, pubsubHead, directWorker, directHead string }
	ok := ""
	cases := map[string]want{
		messages.TypeHealthCheck:             {ok, ok, dropPipeline, dropPipeline},
		messages.TypeInstallFunction:         {ok, dropRole, ok, dropRole},
		messages.TypeInstallFunctionResponse: {dropPipeline, dropPipeline, dropRole, ok},
		messages.TypeRollCall:                {ok, dropRole, dropPipeline, dropPipeline},
		messages.TypeRollCallResponse:        {dropPipeline, dropPipeline, dropRole, ok},
		messages.TypeExecute:                 {dropPipeline, dropPipeline, ok, ok},
		messages.TypeExecuteResponse:         {dropPipeline, dropPipeline, dropRole, ok},
		messages.TypeFormCluster:             {dropPipeline, dropPipeline, ok, dropRole},
		messages.TypeFormClusterResponse:     {dropPipeline, dropPipeline, dropRole, ok},
		messages.TypeDisbandCluster:          {dropPipeline, dropPipeline, ok, dropRole},
		"MsgNoSuchThing":                     {dropUnknownType, dropUnknownType, dropUnknownType, dropUnknownType},
	}
	pubsub := pipeline{Topic: "blockless/b7s/general"}
	direct := pipeline{Direct: true}
	for typ, w := range cases {
		for _, c := range []struct {
			p    pipeline
			role Role
			want string
		}{
			{pubsub, RoleWorker, w.pubsubWorker},
			{pubsub, RoleHead, w.pubsubHead},
			{direct, RoleWorker, w.directWorker},
			{direct, RoleHead, w.directHead},
		} {
			if got := admit(typ, c.p, c.role); got != c.want {
				t.Errorf("admit(%s, %s, %s) = %q, want %q", typ, c.p, c.role, got, c.want)
			}
		}
	}
	if len(cases)-1 != len(routes) {
		t.Fatalf("table covers %d types, routes has %d", len(cases)-1, len(routes))
	}
}
