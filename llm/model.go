package llm

import "context"

// Model is the seam between the turn engine and whatever answers a model call: the
// OpenAI-compatible gateway ([Client]), or a model this process serves itself (the offline
// switchboard-demo, package llm/demomodel). The engine makes one Stream call per iteration
// of a turn and cannot tell the implementations apart; a wrapper (tracing, say) is one more
// Model.
//
// An implementation keeps the contract of [Client.Stream]: deltas in order on the calling
// goroutine, every token non-empty valid UTF-8, OnWait before it waits, no delta once it has
// seen ctx cancelled (errors.Is(err, context.Cause(ctx)) then holds), and a Result whose Text
// is the concatenation of the tokens and whose Usage counts the call.
type Model interface {
	Stream(ctx context.Context, req Request, h Handler) (Result, error)
}

var _ Model = (*Client)(nil)
