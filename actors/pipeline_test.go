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
		messages.TypeHealthCheck:             {ok, ok, DropPipeline, DropPipeline},
		messages.TypeInstallFunction:         {ok, DropRole, ok, DropRole},
		messages.TypeInstallFunctionResponse: {DropPipeline, DropPipeline, DropRole, ok},
		messages.TypeRollCall:                {ok, DropRole, DropPipeline, DropPipeline},
		messages.TypeRollCallResponse:        {DropPipeline, DropPipeline, DropRole, ok},
		messages.TypeExecute:                 {DropPipeline, DropPipeline, ok, ok},
		messages.TypeExecuteResponse:         {DropPipeline, DropPipeline, DropRole, ok},
		messages.TypeFormCluster:             {DropPipeline, DropPipeline, ok, DropRole},
		messages.TypeFormClusterResponse:     {DropPipeline, DropPipeline, DropRole, ok},
		messages.TypeDisbandCluster:          {DropPipeline, DropPipeline, ok, DropRole},
		"MsgNoSuchThing":                     {DropUnknownType, DropUnknownType, DropUnknownType, DropUnknownType},
	}
	pubsub := Pipeline{Topic: "blockless/b7s/general"}
	direct := Pipeline{Direct: true}
	for typ, w := range cases {
		for _, c := range []struct {
			p    Pipeline
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
