package demo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/switchboard-dev/switchboard/tools"
)

// TicketTool is the demo agent's approval-gated tool, served by the binary (kind builtin).
const TicketTool = "create_ticket"

const ticketDescription = "Open a support ticket with the team. This is the demo ticket desk built into " +
	"Switchboard: it answers with a ticket number and sends nothing anywhere."

var ticketParameters = json.RawMessage(`{"type":"object","properties":{` +
	`"subject":{"type":"string","minLength":1,"maxLength":200,"description":"One line saying what the ticket is about"},` +
	`"details":{"type":"string","maxLength":4000,"description":"What happened, in the visitor's words"},` +
	`"priority":{"type":"string","enum":["low","normal","high"],"description":"How urgent it is (default normal)"}},` +
	`"required":["subject"],"additionalProperties":false}`)

// Builtins are the tools the binary serves for the seeded demo, for agent.Deps.Builtins.
func Builtins() map[string]tools.Builtin {
	return map[string]tools.Builtin{TicketTool: CreateTicket}
}

// CreateTicket is the demo's ticket desk. It keeps nothing and calls nothing: it answers with
// the ticket as a real desk would, numbered from the conversation and the arguments, so the
// same request gets the same ticket.
func CreateTicket(ctx context.Context, c tools.Call) (tools.Result, error) {
	if err := ctx.Err(); err != nil {
		return tools.Result{}, err
	}
	var in struct {
		Subject  string `json:"subject"`
		Details  string `json:"details"`
		Priority string `json:"priority"`
	}
	// The engine validated the arguments against ticketParameters before the call.
	if err := json.Unmarshal(c.Arguments, &in); err != nil {
		return tools.InvalidArguments(""), nil
	}
	if in.Priority == "" {
		in.Priority = "normal"
	}
	sum := sha256.Sum256([]byte(c.ConversationID.String() + "\n" + string(c.Arguments)))
	out, err := json.Marshal(map[string]string{
		"ticket":   "DEMO-" + strings.ToUpper(hex.EncodeToString(sum[:3])),
		"status":   "open",
		"subject":  in.Subject,
		"priority": in.Priority,
		"note":     "Opened on the demo ticket desk built into Switchboard; nothing was sent anywhere.",
	})
	if err != nil { // strings always encode
		return tools.Result{}, err
	}
	return tools.Success(string(out)), nil
}
