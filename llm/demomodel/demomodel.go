// Package demomodel is switchboard-demo, Switchboard's built-in offline model: an [llm.Model]
// that answers in-process, so that a server without any LLM gateway key can still chat, and
// approvals, tool results and citations can be tried without one. It reads the request a
// gateway would get and answers it by rule:
//
//   - a visitor message "/tool <name> <JSON object>" calls that tool of the agent with those
//     arguments (the engine validates, parks and runs it as it would for any model);
//   - a question calls knowledge_search with the question as a real tool call, then answers by
//     quoting the best passages of the result, or says plainly that nothing matched;
//   - anything else (a greeting, or a turn without the knowledge tool) says what this model
//     is and how to connect a real one;
//   - after any other tool's result, it reports that result.
//
// It must never reach the network, and never let the clock, randomness or map order into
// what it answers: the same request gives the same bytes. Only the pace of its tokens
// (Config.TokenDelay) depends on time.
package demomodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/llm"
)

// Name is the model name switchboard-demo answers as, and records on usage rows.
const Name = "switchboard-demo"

// KnowledgeSearch is the engine's built-in retrieval tool, which questions are answered with.
const KnowledgeSearch = "knowledge_search"

// Config tunes the model.
type Config struct {
	// TokenDelay is the pause before each token after the first (0: none), so the reply
	// streams at a readable pace.
	TokenDelay time.Duration
	// ArgumentBytes caps the argument text of a tool call, as llm.Limits.ArgumentBytes does for
	// a gateway's; 0 means llm.DefaultArgumentBytes.
	ArgumentBytes int
}

// Model is switchboard-demo. It is safe for concurrent use.
type Model struct{ cfg Config }

var _ llm.Model = (*Model)(nil)

// New returns the model.
func New(cfg Config) *Model {
	if cfg.ArgumentBytes <= 0 {
		cfg.ArgumentBytes = llm.DefaultArgumentBytes
	}
	return &Model{cfg: cfg}
}

// Stream answers one model call: its text token by token, then at most one tool call. Usage
// is reported as a gateway would: the prompt's and the answer's tokens as this model counts
// them (words), at cost 0.
func (m *Model) Stream(ctx context.Context, req llm.Request, h llm.Handler) (llm.Result, error) {
	text, call := respond(req)
	text = storable(text)
	res := llm.Result{ResponseModel: Name, Usage: llm.Usage{PromptTokens: promptTokens(req), Reported: true, CostReported: true}}
	if ctx.Err() != nil {
		return res, cancelled(ctx)
	}
	var sent strings.Builder
	for i, tok := range split(text) {
		if i > 0 && m.cfg.TokenDelay > 0 {
			if h.OnWait != nil {
				h.OnWait()
			}
			if !sleep(ctx, m.cfg.TokenDelay) {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		sent.WriteString(tok)
		res.Usage.CompletionTokens++
		if h.OnText != nil {
			h.OnText(tok)
		}
	}
	res.Text = sent.String()
	if ctx.Err() != nil {
		return res, cancelled(ctx)
	}
	res.FinishReason = "stop"
	if call != nil {
		if len(call.Arguments) > m.cfg.ArgumentBytes {
			call.Arguments, call.ArgumentsTooLong = "{}", true
		}
		res.ToolCalls = []llm.ToolCall{*call}
		res.FinishReason = "tool_calls"
		res.Usage.CompletionTokens += 1 + int64(len(strings.Fields(call.Arguments)))
	}
	return res, nil
}

// sleep waits d, or less when ctx ends first (then it returns false).
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// cancelled is the error of a call whose ctx ended: errors.Is finds both context.Canceled
// and the cause the caller cancelled with.
func cancelled(ctx context.Context) error {
	return fmt.Errorf("%s: call cancelled: %w", Name, errors.Join(ctx.Err(), context.Cause(ctx)))
}

// respond decides the answer to a request: its text, and the tool call it asks for, if any.
func respond(req llm.Request) (string, *llm.ToolCall) {
	last := -1
	for i, msg := range req.Messages {
		if msg.Role == llm.RoleUser {
			last = i
		}
	}
	if last < 0 {
		return introduction(), nil
	}
	question := req.Messages[last].Content
	turn := req.Messages[last+1:]
	// A tool result answers this turn's latest call: report it.
	if n := len(turn); n > 0 && turn[n-1].Role == llm.RoleTool {
		call, ok := callFor(turn, turn[n-1].ToolCallID)
		if !ok {
			return introduction(), nil
		}
		if call.Name == KnowledgeSearch {
			return answerFromKnowledge(searchQuery(call.Arguments, question), turn[n-1].Content), nil
		}
		return reportTool(call.Name, turn[n-1].Content), nil
	}
	callID := fmt.Sprintf("demo_call_%d", countCalls(turn)+1)
	if name, args, ok := parseToolCommand(question); ok {
		if !offered(req.Tools, name) {
			return noSuchTool(name, req.Tools), nil
		}
		return "", &llm.ToolCall{ID: callID, Name: name, Arguments: args}
	}
	if offered(req.Tools, KnowledgeSearch) && searchable(question) {
		q, _ := json.Marshal(map[string]string{"query": question}) // a string always encodes
		return "", &llm.ToolCall{ID: callID, Name: KnowledgeSearch, Arguments: string(q)}
	}
	return introduction(), nil
}

// callFor finds the call id answered among the assistant messages of the turn.
func callFor(turn []llm.Message, id string) (llm.ToolCall, bool) {
	for i := len(turn) - 1; i >= 0; i-- {
		for _, c := range turn[i].ToolCalls {
			if c.ID == id {
				return c, true
			}
		}
	}
	return llm.ToolCall{}, false
}

func countCalls(turn []llm.Message) int {
	n := 0
	for _, msg := range turn {
		n += len(msg.ToolCalls)
	}
	return n
}

func offered(tools []llm.Tool, name string) bool {
	for _, t := range tools {
		if t.Name == name {
			return true
		}
	}
	return false
}

// searchQuery is the query a knowledge_search call was made with, else the question.
func searchQuery(args, question string) string {
	var a struct {
		Query string `json:"query"`
	}
	if json.Unmarshal([]byte(args), &a) == nil && strings.TrimSpace(a.Query) != "" {
		return a.Query
	}
	return question
}

// split cuts text into the tokens it streams: each word with the spaces that follow it (the
// first token also carries any leading space). The tokens concatenate to text.
func split(text string) []string {
	var out []string
	start, inSpace := 0, true
	for i, r := range text {
		space := r == ' ' || r == '\n' || r == '\t'
		if !space && inSpace && i > start && strings.TrimSpace(text[start:i]) != "" {
			out = append(out, text[start:i])
			start = i
		}
		inSpace = space
	}
	if start < len(text) {
		out = append(out, text[start:])
	}
	return out
}

// promptTokens counts what the call sends as this model counts: words.
func promptTokens(req llm.Request) int64 {
	n := 0
	for _, msg := range req.Messages {
		n += len(strings.Fields(msg.Content))
		for _, c := range msg.ToolCalls {
			n += 1 + len(strings.Fields(c.Arguments))
		}
	}
	for _, t := range req.Tools {
		n += 1 + len(strings.Fields(t.Description)) + len(strings.Fields(string(t.Parameters)))
	}
	return int64(n)
}

// storable makes text valid UTF-8 without U+0000, as every token must be (PROTOCOL §7.3).
func storable(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "\uFFFD")
}
