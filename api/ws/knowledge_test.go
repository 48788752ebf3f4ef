package ws_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/api/ws/wstest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

// End-to-end knowledge: documents go in through the admin API, a worker indexes them, and
// a widget turn retrieves them (knowledge context and knowledge_search) and cites them.

// admin calls the admin API as an admin JWT of org and returns the status and the body.
func (e *env) admin(org uuid.UUID, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", "Bearer "+jwtToken(e.t, map[string]any{"sub": "admin", "org": org.String(), "role": "admin"}))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return res.StatusCode, raw
}

// ingest pushes docs into set of org through the API and waits for the run, returning it.
func (e *env) ingest(org uuid.UUID, set string, docs ...map[string]any) admintest.Run {
	e.t.Helper()
	status, body := e.admin(org, "POST", "/admin/document-sets/"+set+"/documents", map[string]any{"documents": docs})
	if status != 202 {
		e.t.Fatalf("ingest: %d %s", status, body)
	}
	id := testkit.DecodeJSON[admintest.Ingested](e.t, body).Run.ID
	var run admintest.Run
	testkit.Eventually(e.t, "run "+id+" to end", func() bool {
		status, body := e.admin(org, "GET", "/admin/indexing/runs/"+id, nil)
		if status != 200 {
			e.t.Fatalf("run %s: %d %s", id, status, body)
		}
		run = testkit.DecodeJSON[admintest.RunAnswer](e.t, body).Run
		switch run.Status {
		case "succeeded":
			return true
		case "failed", "cancelled":
			e.t.Fatalf("ingestion run %+v", run)
		}
		return false
	})
	return run
}

// citedIDs returns the ids of the citations of an eventual_response, and whether the
// citations key was present.
func citedIDs(t *testing.T, ev wstest.Event) ([]string, bool) {
	t.Helper()
	cites := reply(t, ev).Citations
	var ids []string
	for _, c := range cites {
		ids = append(ids, c.ID)
	}
	return ids, cites != nil
}

// searchResultIDs decodes a knowledge_search result as the model received it.
func searchResultIDs(t *testing.T, content string) []string {
	t.Helper()
	var hits []struct {
		DocID   string  `json:"docId"`
		Snippet string  `json:"snippet"`
		Score   float64 `json:"score"`
	}
	if err := json.Unmarshal([]byte(content), &hits); err != nil {
		t.Fatalf("knowledge_search result is not the hit list: %q", content)
	}
	ids := []string{}
	for _, h := range hits {
		if h.Snippet == "" || h.Score <= 0 {
			t.Fatalf("hit %+v", h)
		}
		if !slices.Contains(ids, h.DocID) {
			ids = append(ids, h.DocID)
		}
	}
	return ids
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func knowledgeSearch(id, args string) llmtest.Response {
	return llmtest.ToolCalls(llmtest.Call{ID: id, Name: "knowledge_search", Arguments: args}).WithUsage(50, 5)
}

func TestTurnAnswersFromIngestedDocumentsAndCitesThem(t *testing.T) {
	e := newEnv(t, fixture.Agent{Name: "Support"}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	e.ingest(e.org, "support",
		map[string]any{"id": "return-policy", "title": "Return policy", "url": "https://shop.example.com/returns",
			"content": "Returns are accepted within 30 days of delivery, in the original packaging."},
		map[string]any{"id": "shipping", "title": "Shipping times", "content": "Orders ship within two business days."})
	// A set the agent does not search mentions the same words.
	e.ingest(e.org, "internal", map[string]any{"id": "internal-returns", "title": "Internal", "content": "The return policy review is due in March."})
	if status, body := e.admin(e.org, "PUT", "/admin/agents/"+e.agent.ID.String(), map[string]any{"name": "Support", "documentSets": []string{"support"}}); status != 200 {
		t.Fatalf("restrict the agent's sets: %d %s", status, body)
	}

	before := e.gw.RequestCount()
	e.gw.Push(knowledgeSearch("call_1", `{"query":"shipping business days","limit":1}`), textReply("Returns are accepted within 30 days."))
	c, ack := e.session()
	r := send(t, c, ack.Str("sessionId"), "What is the return policy?")
	evs := c.Terminal(r)
	last := evs[len(evs)-1]

	// Citations: the knowledge context first, then the tool's hits; each document once.
	ids, _ := citedIDs(t, last)
	if !slices.Equal(ids, []string{"return-policy", "shipping"}) {
		t.Fatalf("citations %v: %s", ids, last.Raw)
	}
	cites := reply(t, last).Citations
	url := "https://shop.example.com/returns"
	want := []wstest.Citation{
		{ID: "return-policy", Title: "Return policy", URL: &url, Snippet: "Returns are accepted within 30 days of delivery, in the original packaging."},
		{ID: "shipping", Title: "Shipping times"}, // a document without a URL is cited without one
	}
	if diff := cmp.Diff(want, cites, cmpopts.IgnoreFields(wstest.Citation{}, "Score", "Snippet")); diff != "" {
		t.Fatalf("citations (-want +got):\n%s", diff)
	}
	if cites[0].Snippet != want[0].Snippet || cites[0].Score <= 0 {
		t.Fatalf("first citation %+v: want the document's text and a positive score", cites[0])
	}

	// The model received the retrieved text as context, and the tool's hits as JSON.
	call1 := e.gw.Request(before)
	if sys := call1.Chat.Messages[0]; sys.Role != "system" || !strings.Contains(sys.Content, "Returns are accepted within 30 days of delivery") ||
		strings.Contains(sys.Content, "review is due in March") {
		t.Fatalf("system message %q", sys.Content)
	}
	var offered bool
	for _, tool := range call1.Chat.Tools {
		if tool.Name == "knowledge_search" && strings.Contains(string(tool.Parameters), `"limit"`) {
			offered = true
		}
	}
	if !offered {
		t.Fatalf("knowledge_search {query, limit} not offered: %+v", call1.Chat.Tools)
	}
	msgs := e.gw.Request(before + 1).Chat.Messages
	toolMsg := msgs[len(msgs)-1]
	if toolMsg.Role != "tool" || toolMsg.ToolCallID != "call_1" {
		t.Fatalf("last message %+v", toolMsg)
	}
	if got := searchResultIDs(t, toolMsg.Content); !slices.Equal(got, []string{"shipping"}) || strings.Contains(toolMsg.Content, `"url"`) {
		t.Fatalf("tool result %s", toolMsg.Content)
	}
	if res := toolResult(t, chunks(t, evs)[1]); res.IsError || !strings.HasPrefix(res.Result, `[{"docId":"shipping"`) {
		t.Fatalf("toolResult chunk %+v", res)
	}

	// With knowledge_search out of the org's defaultTools there is neither context nor tool.
	if status, body := e.admin(e.org, "PUT", "/admin/settings", map[string]any{"model": "gpt-4o-mini", "systemPrompt": "Be brief.", "defaultTools": []string{}}); status != 200 {
		t.Fatalf("settings: %d %s", status, body)
	}
	before = e.gw.RequestCount()
	e.gw.Push(textReply("I don't know."))
	r = send(t, c, ack.Str("sessionId"), "What is the return policy?")
	evs = c.Terminal(r)
	if ids, has := citedIDs(t, evs[len(evs)-1]); has {
		t.Fatalf("citations without knowledge_search: %v", ids)
	}
	if req := e.gw.Request(before); len(req.Chat.Tools) != 0 || strings.Contains(req.Chat.Messages[0].Content, "Returns are accepted") {
		t.Fatalf("knowledge reached a turn without knowledge_search: %+v", req.Chat)
	}
}

// viewer is one way of connecting to a widget session.
type viewer struct {
	name   string
	claims map[string]any // ?token= claims; nil: no token
	ctxID  string         // authContext userId; "": none
	want   []string       // the documents it may see
}

func TestRetrievalHonoursDocumentACLsAndNeverCrossesOrgs(t *testing.T) {
	const secret = "widget-secret-0123456789"
	e := newEnv(t, fixture.Agent{WidgetSecret: secret}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	e.ingest(e.org, "kb",
		map[string]any{"id": "open", "title": "Open", "content": "Zebra notes for every visitor."},
		map[string]any{"id": "public", "title": "Public", "content": "Zebra notes marked public.", "acl": map[string]any{"public": true, "groups": []string{"x"}}},
		map[string]any{"id": "staff", "title": "Staff", "content": "Zebra notes for the staff group.", "acl": map[string]any{"groups": []string{"staff"}}},
		map[string]any{"id": "jwt-ada", "title": "Token Ada", "content": "Zebra notes for the token holder Ada.", "acl": map[string]any{"users": []string{"jwt:ada"}}},
		map[string]any{"id": "ctx-ada", "title": "Site Ada", "content": "Zebra notes for the site account Ada.", "acl": map[string]any{"users": []string{"ada"}}},
		map[string]any{"id": "locked", "title": "Locked", "content": "Zebra notes nobody reads.", "acl": map[string]any{}},
	)
	orgB := e.fx.Org(fixture.Org{Name: "Beta"}).ID
	agentB := e.fx.Agent(orgB, fixture.Agent{})
	e.ingest(orgB, "kb", map[string]any{"id": "open", "title": "Beta open", "content": "Zebra notes of another org."})

	org := e.org.String()
	viewers := []viewer{
		{name: "anonymous", want: []string{"open", "public"}},
		{name: "token with the group", claims: map[string]any{"sub": "ada", "org": org, "groups": []string{"staff"}}, want: []string{"open", "public", "staff", "jwt-ada"}},
		{name: "token without groups", claims: map[string]any{"sub": "bob", "org": org}, want: []string{"open", "public"}},
		{name: "token whose sub matches only a ctx entry", claims: map[string]any{"sub": "ctx:ada", "org": org, "groups": []string{"Staff"}}, want: []string{"open", "public"}},
		{name: "authContext user", ctxID: "ada", want: []string{"open", "public", "ctx-ada"}},
		{name: "authContext whose id matches only a jwt entry", ctxID: "jwt:ada", want: []string{"open", "public"}},
		{name: "token and authContext", claims: map[string]any{"sub": "ada", "org": org}, ctxID: "ada", want: []string{"open", "public", "jwt-ada", "ctx-ada"}},
	}
	secretTexts := map[string]string{"staff": "staff group", "jwt-ada": "token holder", "ctx-ada": "site account", "locked": "nobody reads", "B": "another org"}
	for _, v := range viewers {
		t.Run(v.name, func(t *testing.T) {
			url := e.srv.WSURL
			if v.claims != nil {
				url += "?token=" + jwtToken(t, v.claims)
			}
			c := wstest.Dial(t, url, nil)
			frame := map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": e.agent.ID.String()}
			if v.ctxID != "" {
				now := time.Now().Unix()
				frame["authContext"] = map[string]any{"userId": v.ctxID, "signature": sign(secret, v.ctxID, now), "timestamp": now}
			}
			ack := c.Request(frame)
			if ack.Status() != 200 {
				t.Fatalf("session: %s", ack.Raw)
			}
			before := e.gw.RequestCount()
			e.gw.Push(knowledgeSearch("call_z", `{"query":"zebra notes","limit":10}`), textReply("Here they are."))
			evs := c.Terminal(send(t, c, ack.Str("sessionId"), "Show me the zebra notes"))
			cited, _ := citedIDs(t, evs[len(evs)-1])
			if !slices.Equal(sorted(cited), sorted(v.want)) {
				t.Fatalf("citations %v, want %v", cited, v.want)
			}
			msgs := e.gw.Request(before + 1).Chat.Messages
			if got := searchResultIDs(t, msgs[len(msgs)-1].Content); !slices.Equal(sorted(got), sorted(v.want)) {
				t.Fatalf("knowledge_search hits %v, want %v", got, v.want)
			}
			// Hidden documents reach neither the model nor the wire.
			for id, text := range secretTexts {
				if slices.Contains(v.want, id) {
					continue
				}
				for _, req := range []llmtest.Request{e.gw.Request(before), e.gw.Request(before + 1)} {
					if strings.Contains(string(req.Body), text) {
						t.Fatalf("hidden document %s reached the model", id)
					}
				}
				for _, ev := range evs {
					if strings.Contains(string(ev.Raw), text) {
						t.Fatalf("hidden document %s reached the wire: %s", id, ev.Raw)
					}
				}
			}
		})
	}

	t.Run("another org's agent sees only its own documents", func(t *testing.T) {
		c := e.dial(nil)
		ack := c.Request(map[string]any{"action": "create_conversation_session", "requestId": "c-1", "agentId": agentB.ID.String()})
		if ack.Status() != 200 {
			t.Fatalf("session: %s", ack.Raw)
		}
		before := e.gw.RequestCount()
		e.gw.Push(knowledgeSearch("call_b", `{"query":"zebra notes"}`), textReply("Here."))
		evs := c.Terminal(send(t, c, ack.Str("sessionId"), "Show me the zebra notes"))
		last := evs[len(evs)-1]
		cited, _ := citedIDs(t, last)
		if !slices.Equal(cited, []string{"open"}) || !strings.Contains(string(last.Raw), "Beta open") {
			t.Fatalf("B's citations %s", last.Raw)
		}
		for _, req := range []llmtest.Request{e.gw.Request(before), e.gw.Request(before + 1)} {
			if strings.Contains(string(req.Body), "for every visitor") || strings.Contains(string(req.Body), "marked public") {
				t.Fatal("A's documents reached B's turn")
			}
		}
	})
}

func TestReindexingAndDeletionReachRetrievalAtOnce(t *testing.T) {
	e := newEnv(t, fixture.Agent{}, map[string]string{"AUTH_JWT_SECRET": testJWTSecret})
	c, ack := e.session()
	sid := ack.Str("sessionId")
	// ask runs a turn without tool calls and returns its citations and the system prompt.
	ask := func(question string) ([]string, string) {
		t.Helper()
		before := e.gw.RequestCount()
		e.gw.Push(textReply("ok"))
		evs := c.Terminal(send(t, c, sid, question))
		ids, _ := citedIDs(t, evs[len(evs)-1])
		return ids, e.gw.Request(before).Chat.Messages[0].Content
	}
	hours := map[string]any{"id": "hours", "title": "Opening hours", "content": "The shop opens at nine every weekday."}
	e.ingest(e.org, "kb", hours, map[string]any{"id": "other", "title": "Other", "content": "Parking is free on Sundays."})
	if ids, sys := ask("When does the shop open?"); !slices.Equal(ids, []string{"hours"}) || !strings.Contains(sys, "opens at nine") {
		t.Fatalf("before: %v %q", ids, sys)
	}

	if run := e.ingest(e.org, "kb", hours); run.DocumentsSkipped != 1 || run.DocumentsIndexed != 0 {
		t.Fatalf("unchanged content was indexed again: %+v", run)
	}
	changed := map[string]any{"id": "hours", "title": "Opening hours", "content": "The boutique welcomes visitors from ten."}
	if run := e.ingest(e.org, "kb", changed); run.DocumentsIndexed != 1 {
		t.Fatalf("changed content was not indexed: %+v", run)
	}
	if ids, sys := ask("When does the shop open?"); len(ids) != 0 || strings.Contains(sys, "opens at nine") {
		t.Fatalf("old chunks still retrieved: %v %q", ids, sys)
	}
	if ids, sys := ask("Which visitors does the boutique welcome?"); !slices.Equal(ids, []string{"hours"}) || !strings.Contains(sys, "from ten") {
		t.Fatalf("new chunks not retrieved: %v %q", ids, sys)
	}

	if status, body := e.admin(e.org, "DELETE", "/admin/documents/hours", nil); status != 204 {
		t.Fatalf("delete: %d %s", status, body)
	}
	ids, sys := ask("Which visitors does the boutique welcome?")
	if len(ids) != 0 || strings.Contains(sys, "boutique") {
		t.Fatalf("deleted document still retrieved: %v %q", ids, sys)
	}
	if ids, _ := ask("Is parking free?"); !slices.Equal(ids, []string{"other"}) {
		t.Fatalf("the other document: %v", ids)
	}
}
