package backplane

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/interaction"
)

// InteractionEventType is the internal event that carries a committed answer to a card
// (PROTOCOL-1.1 §9) to the instance whose turn is parked on it. It carries the id and the
// outcome only: the turn reads the values from the row, so no contact value enters the
// outbox. Tenants cannot publish it: /admin/publish never addresses an instance.
const InteractionEventType = "switchboard.interactionAnswer"

type interactionEvent struct {
	Type          string              `json:"type"`
	InteractionID uuid.UUID           `json:"interactionId"`
	Outcome       interaction.Outcome `json:"outcome"`
}

// PublishInteraction publishes a to the instance owning the parked turn. Call it in the
// transaction of the conditional update that answered the card, so it leaves only if that
// commits.
func (h *Hub) PublishInteraction(ctx context.Context, tx db.DBTX, owner uuid.UUID, a interaction.Answer) (int64, error) {
	payload, err := json.Marshal(interactionEvent{Type: InteractionEventType, InteractionID: a.InteractionID, Outcome: a.Outcome})
	if err != nil {
		return 0, fmt.Errorf("encode interaction answer: %w", err)
	}
	return h.Publish(ctx, tx, a.OrgID, Target{Type: Instance, ID: owner.String()}, payload)
}

// DeliverInteractions hands every answer addressed to this instance to to, on the dispatch
// goroutine (to.DeliverInteraction must not block). remove unregisters it.
func (h *Hub) DeliverInteractions(to interaction.Deliverer) (remove func()) {
	return h.Handle(InteractionEventType, func(ctx context.Context, ev Event) {
		var ie interactionEvent
		if err := json.Unmarshal(ev.Payload, &ie); err != nil {
			h.log.Error("backplane: undecodable interaction answer", "event_id", ev.ID, "org_id", ev.OrgID, "err", err)
			return
		}
		to.DeliverInteraction(ctx, interaction.Answer{InteractionID: ie.InteractionID, OrgID: ev.OrgID, Outcome: ie.Outcome})
	})
}
