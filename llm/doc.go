// Package llm is the client the turn engine uses to talk to an
// OpenAI-compatible LLM gateway: one streaming /chat/completions call per
// model iteration, with text and reasoning deltas delivered in stream order
// and tool calls, finish reason and usage returned once the stream ends.
//
// It also holds the pieces of a turn that depend only on the model call:
// classifying gateway failures into the four AGENT_ERROR messages of
// PROTOCOL §6 ([Error]), splitting deltas into UTF-8 safe tokens
// (PROTOCOL §7.3, [TokenSplitter]), estimating tokens when the gateway
// reports none ([EstimateTokens]) and pricing usage ([PriceTable]).
//
// The client is built on github.com/openai/openai-go/v3 with retries off: a
// turn never repeats a model call behind the engine's back. It deliberately
// ignores the OPENAI_* environment variables, so that the server's own
// settings never leak into a request paid for by a tenant's key.
//
// What this package must never do:
//   - log, or put in an error message, a gateway key (the key is redacted from
//     [Error.Error], and nothing here logs at all);
//   - let a gateway response body, URL or key reach a client: the only text
//     meant for the wire is [Error.Message], which is one of four fixed
//     strings. [Error.Error] carries the cause for the server log;
//   - import Fiber, the database or anything else of the server: it sees
//     requests and results, never sessions, orgs or sockets.
package llm
