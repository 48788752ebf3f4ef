package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/shared"
)

// params is the conversion to openai-go's typed request that Stream sent
// before body() replaced it. It stays, in a test file, as the reference that
// body() is tested against.

// params converts r to openai-go's request type. Errors mean the request is
// malformed (a bug in the caller), never a gateway problem.
func (r Request) params() (openai.ChatCompletionNewParams, error) {
	if r.Model == "" {
		return openai.ChatCompletionNewParams{}, errNoModel
	}
	p := openai.ChatCompletionNewParams{
		Model:    shared.ChatModel(r.Model),
		Messages: make([]openai.ChatCompletionMessageParamUnion, 0, len(r.Messages)),
		// The usage chunk is the only place the gateway reports tokens and
		// cost of a streamed call.
		StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)},
	}
	if r.MaxTokens > 0 {
		p.MaxTokens = openai.Int(r.MaxTokens)
	}
	for i, m := range r.Messages {
		u, err := m.param()
		if err != nil {
			return openai.ChatCompletionNewParams{}, fmt.Errorf("message %d: %w", i, err)
		}
		p.Messages = append(p.Messages, u)
	}
	for _, t := range r.Tools {
		u, err := t.param()
		if err != nil {
			return openai.ChatCompletionNewParams{}, fmt.Errorf("tool %q: %w", t.Name, err)
		}
		p.Tools = append(p.Tools, u)
	}
	return p, nil
}

func (m Message) param() (openai.ChatCompletionMessageParamUnion, error) {
	switch m.Role {
	case RoleSystem:
		return openai.SystemMessage(m.Content), nil
	case RoleUser:
		return openai.UserMessage(m.Content), nil
	case RoleTool:
		if m.ToolCallID == "" {
			return openai.ChatCompletionMessageParamUnion{}, errors.New("tool result without tool call id")
		}
		return openai.ToolMessage(m.Content, m.ToolCallID), nil
	case RoleAssistant:
		var a openai.ChatCompletionAssistantMessageParam
		// An assistant turn that only called tools has no content, and
		// gateways expect the key to be absent rather than "".
		if m.Content != "" || len(m.ToolCalls) == 0 {
			a.Content.OfString = openai.String(m.Content)
		}
		for _, c := range m.ToolCalls {
			a.ToolCalls = append(a.ToolCalls, openai.ChatCompletionMessageToolCallUnionParam{
				OfFunction: &openai.ChatCompletionMessageFunctionToolCallParam{
					ID: c.ID,
					Function: openai.ChatCompletionMessageFunctionToolCallFunctionParam{
						Name:      c.Name,
						Arguments: c.Arguments,
					},
				},
			})
		}
		return openai.ChatCompletionMessageParamUnion{OfAssistant: &a}, nil
	default:
		return openai.ChatCompletionMessageParamUnion{}, fmt.Errorf("unknown role %q", m.Role)
	}
}

func (t Tool) param() (openai.ChatCompletionToolUnionParam, error) {
	if t.Name == "" {
		return openai.ChatCompletionToolUnionParam{}, errors.New("tool has no name")
	}
	def := shared.FunctionDefinitionParam{Name: t.Name}
	if t.Description != "" {
		def.Description = openai.String(t.Description)
	}
	if len(bytes.TrimSpace(t.Parameters)) > 0 {
		// openai-go wants a map. Its values stay raw JSON, so the schema
		// goes out exactly as written (a decoded json.Number would be sent
		// as a string, a float64 could round a large integer).
		var schema map[string]json.RawMessage
		if err := json.Unmarshal(t.Parameters, &schema); err != nil {
			return openai.ChatCompletionToolUnionParam{}, fmt.Errorf("parameters are not a JSON object: %w", err)
		}
		if schema == nil {
			return openai.ChatCompletionToolUnionParam{}, errors.New("parameters are not a JSON object: null")
		}
		params := make(shared.FunctionParameters, len(schema))
		for k, v := range schema {
			params[k] = v
		}
		def.Parameters = params
	}
	return openai.ChatCompletionFunctionTool(def), nil
}
