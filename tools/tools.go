// Package tools runs an agent's tenant-defined HTTP tools and owns every text a tool call can
// produce: it checks a tool's parameters schema (ADMIN-API §5.2), parses and validates the
// model's arguments, decides whether a call needs approval (PROTOCOL §7.5), sends the signed
// request (ADMIN-API §9.5), and builds the results of PROTOCOL §7.4, the one table of tool
// results.
//
// This package must never follow a redirect, retry a call, load a schema from a URL, reach a
// non-public address unless the operator allowed private tool URLs, put a signing secret or a
// URL's query string in a result, error or log line, or let the text a model sees differ from
// the result the wire shows (apart from the wire's 500-character cut). It knows nothing of sessions, approvals
// storage or the LLM: the turn engine calls it.
package tools

import (
	"fmt"
	"path"
	"strconv"
	"unicode/utf8"
)

// Result is the outcome of a tool call as the model and the wire see it. IsError is decided
// here, never by reading Text.
type Result struct {
	// Text is the untruncated result the model receives; WireResult(Text) is what
	// toolResult.result shows.
	Text    string
	IsError bool
	// DeliveryID is the X-Switchboard-Delivery id of an HTTP call ("" when no request was
	// sent), for logs that need to match the receiver's.
	DeliveryID string
	// Cause is why an error result happened (a dial error, a refused address…), for the
	// server's log only. It never reaches the model or the wire.
	Cause error
}

// Fixed result texts of PROTOCOL §7.4 that take no argument.
const (
	TextInvalidArguments  = "Error: invalid tool arguments"
	TextRequestFailed     = "Error: tool request failed"
	TextRejectedByVisitor = "Denied: the user rejected this action."
	TextRejectedByAdmin   = "Denied: an administrator rejected this action."
	TextAgentDeleted      = "Denied: the agent was deleted."
)

func errorResult(text string) Result { return Result{Text: text, IsError: true} }

// Success is the result of a tool that answered: its output, not an error.
func Success(text string) Result { return Result{Text: text} }

// UnknownTool is the result when the model names a tool the turn does not have. The name is
// repeated as the model sent it.
func UnknownTool(name string) Result {
	return errorResult("Error: unknown tool '" + name + "'")
}

// InvalidArguments is the result of a call whose arguments are not a JSON object (reason "")
// or do not validate against the tool's parameters (reason from Schema.Validate).
func InvalidArguments(reason string) Result {
	if reason == "" {
		return errorResult(TextInvalidArguments)
	}
	return errorResult(TextInvalidArguments + ": " + reason)
}

// HTTPStatus is the result of an HTTP tool that answered with a non-2xx status.
func HTTPStatus(status int) Result {
	return errorResult("Error: tool returned HTTP " + strconv.Itoa(status))
}

// TimedOut is the result of an HTTP tool whose exchange took longer than its timeoutMs.
func TimedOut(timeoutMs int) Result {
	return errorResult("Error: tool timed out after " + strconv.Itoa(timeoutMs) + " ms")
}

// RequestFailed is the result of an HTTP tool that could not be reached, including a refused
// non-public address (ADMIN-API §6.4). cause is kept for the log only.
func RequestFailed(cause error) Result {
	return Result{Text: TextRequestFailed, IsError: true, Cause: cause}
}

// RejectedByVisitor is the result of a call the visitor rejected (confirm_tool_action).
func RejectedByVisitor() Result { return errorResult(TextRejectedByVisitor) }

// RejectedByAdmin is the result of a call rejected through the admin API, with the
// administrator's reason appended when one was given.
func RejectedByAdmin(reason string) Result {
	if reason == "" {
		return errorResult(TextRejectedByAdmin)
	}
	return errorResult(TextRejectedByAdmin + " Reason: " + reason)
}

// ApprovalTimedOut is the result of a parked call on which nobody decided within the
// approval timeout (SWITCHBOARD_APPROVAL_TIMEOUT, in seconds).
func ApprovalTimedOut(seconds int) Result {
	return errorResult(fmt.Sprintf("Denied: no decision was made within %d seconds.", seconds))
}

// AgentDeleted is the result of a parked call whose agent was deleted.
func AgentDeleted() Result { return errorResult(TextAgentDeleted) }

// WireResultChars is how many characters of a result toolResult.result shows.
const WireResultChars = 500

// WireResult is what toolResult.result shows for a result text (PROTOCOL §7.4): the text cut
// to 500 characters (Unicode code points) with "…" appended when it was cut.
func WireResult(text string) string {
	n := 0
	for i := range text {
		if n == WireResultChars {
			return text[:i] + "…"
		}
		n++
	}
	return text
}

// NeedsApproval reports whether a call of toolName must be parked for a human decision
// (ADMIN-API §9.4, PROTOCOL §7.5): when the tool has requiresApproval, or when a confirmTools
// pattern matches the whole name with path.Match semantics, case-sensitively. A malformed
// pattern matches nothing. Patterns apply to built-in tools too.
func NeedsApproval(toolName string, requiresApproval bool, patterns []string) bool {
	if requiresApproval {
		return true
	}
	for _, p := range patterns {
		if ok, err := path.Match(p, toolName); err == nil && ok {
			return true
		}
	}
	return false
}

// MaxConfirmPatternChars is the longest confirmTools pattern the admin API accepts.
const MaxConfirmPatternChars = 128

// ValidConfirmPattern reports whether p is a confirmTools pattern the admin API may store
// (ADMIN-API §5.2): 1..128 characters of [A-Za-z0-9_*?-]. Such a pattern is never malformed
// for path.Match.
func ValidConfirmPattern(p string) bool {
	if p == "" || utf8.RuneCountInString(p) > MaxConfirmPatternChars {
		return false
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '*', c == '?', c == '-':
		default:
			return false
		}
	}
	return true
}
