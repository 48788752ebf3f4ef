package demomodel

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"unicode"

	"github.com/switchboard-dev/switchboard/llm"
)

// toolCommand is the documented way to ask for a tool: "/tool <name> <JSON object>", the
// arguments optional ({} when left out).
var toolCommand = regexp.MustCompile(`^/tool\s+([A-Za-z0-9_-]{1,64})(?:\s+([\s\S]*))?$`)

// parseToolCommand reads a "/tool" message. The arguments are passed on as written, so the
// engine's own checks (a JSON object, the tool's parameters) answer a malformed one.
func parseToolCommand(msg string) (name, args string, ok bool) {
	m := toolCommand.FindStringSubmatch(strings.TrimSpace(msg))
	if m == nil {
		return "", "", false
	}
	args = strings.TrimSpace(m[2])
	if args == "" {
		args = "{}"
	}
	return m[1], args, true
}

// ToolCommand is the usage line of the "/tool" message, for texts that explain it.
const ToolCommand = "`/tool <name> {\"argument\": \"value\"}`"

// introduction is the answer to anything that is neither a question for the knowledge base
// nor a tool command.
func introduction() string {
	return "I am **" + Name + "**, the offline demo model built into Switchboard. I do not understand " +
		"free text: I answer questions by quoting this organization's knowledge base, and I call one " +
		"of the agent's tools when you write " + ToolCommand + ".\n\n" + connectHint()
}

// connectHint says how to give the server a real model.
func connectHint() string {
	return "To talk to a real model, give Switchboard a gateway key: set `SWITCHBOARD_GATEWAY_KEY` " +
		"(any OpenAI-compatible gateway, chosen with `SWITCHBOARD_GATEWAY_URL`), add a key for this " +
		"organization with `POST /admin/gateway-keys`, or point `SWITCHBOARD_GATEWAY_URL` at a local " +
		"OpenAI-compatible server such as Ollama (`http://127.0.0.1:11434/v1`)."
}

func noSuchTool(name string, tools []llm.Tool) string {
	var names []string
	for _, t := range tools {
		names = append(names, "`"+t.Name+"`")
	}
	if len(names) == 0 {
		return "There is no tool named `" + name + "` that I can call in this turn: the agent offers none."
	}
	return "There is no tool named `" + name + "` on this agent. Its tools are " + strings.Join(names, ", ") +
		"; call one with " + ToolCommand + "."
}

// maxReported is how much of a tool's result the report quotes.
const maxReported = 1500

// reportTool tells what a tool call gave. Failures and refusals carry the fixed texts of
// PROTOCOL §7.4, which start with "Error:" or "Denied:".
func reportTool(name, result string) string {
	if strings.HasPrefix(result, "Error:") || strings.HasPrefix(result, "Denied:") {
		return "The tool `" + name + "` did not run to completion:\n\n> " + oneLine(result)
	}
	body := result
	var pretty bytes.Buffer
	if json.Indent(&pretty, []byte(result), "", "  ") == nil {
		body = pretty.String()
	}
	if len([]rune(body)) > maxReported {
		body = string([]rune(body)[:maxReported]) + "\n…"
	}
	return "I called `" + name + "`. It answered:\n\n" + fence(body)
}

// fence puts text in a code block whose fence no backtick run inside it can close.
func fence(text string) string {
	longest, run := 0, 0
	for _, r := range text {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	f := strings.Repeat("`", max(3, longest+1))
	return f + "\n" + text + "\n" + f
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// stopWords are words a question is made of that say nothing about its subject, and the
// greetings and small talk that ask for no knowledge at all.
var stopWords = setOf(`a about after again all am an and any are as at be been being but by can
	could did do does doing for from had has have having he her here hers him his how i if in into
	is it its just me more most my no nor not now of off on once only or other our ours out over
	own same she should so some such than that the their them then there these they this those
	through to too under until up very was we were what when where which while who whom why will
	with would you your yours yourself
	hi hello hey hiya thanks thank cheers please ok okay yes yeah nope bye goodbye good morning
	afternoon evening day help anyone tell know want need like name`)

func setOf(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// words are the lowercased runs of letters and digits of s.
func words(s string) []string {
	return strings.FieldsFunc(strings.ToLower(s), func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
}

// terms are the words of s that can select knowledge, in order, without repeats.
func terms(s string) []string {
	var out []string
	seen := map[string]bool{}
	for _, w := range words(s) {
		if stopWords[w] || len([]rune(w)) < 2 || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
	}
	return out
}

// searchable reports whether a message asks about something, rather than only greeting.
func searchable(msg string) bool { return len(terms(msg)) > 0 }
