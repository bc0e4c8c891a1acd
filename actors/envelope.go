package actors

import (
	"github.com/libp2p/go-libp2p/core/peer"

	"github.com/b7s-actor/b7s/messages"
)

// inbound is raw bytes from libp2p on their way to the router.
type inbound struct {
	Pipeline pipeline
	From     peer.ID // the stream peer, or the gossipsub neighbour that forwarded the message
	Author   peer.ID // the publisher of a pubsub message; equals From for direct messages
	Data     []byte
	// Done, when set, is called once the router is through with the message: it frees the
	// listener's slot (see topicListener).
	Done func()
}

// delivery is a decoded, admitted wire message on its way to the actor that owns its type.
type delivery struct {
	Pipeline pipeline
	From     peer.ID
	Author   peer.ID
	Message  messages.Message
}
