package ws

import "errors"

// Error codes and fixed messages of PROTOCOL §6.
const (
	codeValidation         = "VALIDATION_ERROR"
	codeUnsupported        = "UNSUPPORTED_ACTION"
	codeAgentNotFound      = "AGENT_NOT_FOUND"
	codeOrigin             = "ORIGIN_NOT_ALLOWED"
	codeAgentNotAuthorized = "AGENT_NOT_AUTHORIZED"
	codeAuthContext        = "AUTH_CONTEXT_INVALID"
	codeSessionNF          = "SESSION_NOT_FOUND"
	codeConversationNF     = "CONVERSATION_NOT_FOUND"
	codeTurnInProgress     = "TURN_IN_PROGRESS"
	codeSkillNF            = "SKILL_NOT_FOUND"
	codeLLMUnavailable     = "LLM_UNAVAILABLE"
	codeQuota              = "QUOTA_EXCEEDED"
	codeNoPending          = "NO_PENDING_CONFIRMATION"
	codeAgentError         = "AGENT_ERROR"
	codeShuttingDown       = "SERVER_SHUTTING_DOWN"
	codeStorage            = "STORAGE_ERROR"
	codeInternal           = "INTERNAL_ERROR"

	msgShuttingDown   = "server is shutting down; reconnect and retry"
	msgStorage        = "storage is temporarily unavailable; try again"
	msgInternal       = "internal error"
	msgTurnInProgress = "a turn is already in progress on this connection; cancel it or wait for it to complete"
)

// protocolError is the answer to a frame that fails: one `error` event (PROTOCOL §5.9). Its
// exported fields are the wire error object, sent at `error` and at `data.error`, so a field
// added here (such as PROTOCOL-1.1's retryAfterMs, with omitempty) reaches both.
type protocolError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMs is set with RATE_LIMITED only (PROTOCOL-1.1 §5.9).
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`

	// unechoed answers without the frame's requestId, where the spec says so (PROTOCOL §4.11
	// rows 1–4, send_message's missing requestId).
	unechoed bool
}

func (e *protocolError) Error() string { return e.Code + ": " + e.Message }

func newError(code, message string) *protocolError {
	return &protocolError{Code: code, Message: message}
}

// unechoedError is an error answered without a requestId.
func unechoedError(code, message string) *protocolError {
	return &protocolError{Code: code, Message: message, unechoed: true}
}

var (
	errShuttingDown   = newError(codeShuttingDown, msgShuttingDown)
	errTurnInProgress = newError(codeTurnInProgress, msgTurnInProgress)
	errStorage        = newError(codeStorage, msgStorage)
	errInternal       = newError(codeInternal, msgInternal)
)

func unsupported(action string) *protocolError {
	return newError(codeUnsupported, "action '"+echo(action)+"' is not supported by this server")
}

func sessionNotFound(sid string) *protocolError {
	return newError(codeSessionNF, "session '"+echo(sid)+"' not found")
}

// storageError is a database failure: the client gets STORAGE_ERROR, the log gets err.
type storageError struct{ err error }

func (e *storageError) Error() string { return "storage: " + e.err.Error() }
func (e *storageError) Unwrap() error { return e.err }

// storageFailure marks err, a failure of the database, for the answer STORAGE_ERROR.
func storageFailure(err error) error { return &storageError{err: err} }

// fail writes the one error event a frame gets. A protocol error is answered as it is; a
// storage failure as STORAGE_ERROR and any other error as INTERNAL_ERROR, their causes logged
// here, once, and never sent (PROTOCOL §6). It returns the code sent.
func (c *conn) fail(f *frame, err error) (code string) {
	var pe *protocolError
	var se *storageError
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &se):
		c.logger().Error("ws: storage failure", "action", f.action, "ws_request_id", f.requestID, "err", se.err)
		pe = errStorage
	default:
		c.logger().Error("ws: internal failure", "action", f.action, "ws_request_id", f.requestID, "err", err)
		pe = errInternal
	}
	requestID := f.requestID
	if pe.unechoed {
		requestID = ""
	}
	c.send(errorEvent(requestID, pe))
	return pe.Code
}
