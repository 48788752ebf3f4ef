package admin_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// pageAll follows nextCursor from path with limit n and returns the ids of every item
// under key, page by page.
func pageAll(t *testing.T, s *server, tok, path, key string, n int) [][]string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var pages [][]string
	cursor := ""
	for i := 0; i < 100; i++ {
		q := fmt.Sprintf("%slimit=%d", sep, n)
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := s.do(t, "GET", path+q, tok, nil).want(t, 200)
		var ids []string
		for _, it := range r.list(t, key) {
			ids = append(ids, it.(map[string]any)["id"].(string))
		}
		pages = append(pages, ids)
		c, _ := r.get(t, "nextCursor").(string)
		if c == "" {
			return pages
		}
		if len(c) > 512 {
			t.Fatalf("cursor of %d characters", len(c))
		}
		cursor = c
	}
	t.Fatal("paging does not end")
	return nil
}

func flatten(pages [][]string) []string {
	var out []string
	for _, p := range pages {
		out = append(out, p...)
	}
	return out
}

func TestPagingIsKeysetOrderedAndComplete(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	names := []string{"delta", "Alpha", "charlie", "Bravo", "echo", "ALPHA-2", strings.Repeat("語", 128)}
	for _, n := range names {
		s.createAgent(t, a, n)
	}
	all := s.do(t, "GET", "/admin/agents", a.key, nil).want(t, 200)
	var order []string
	var ids []string
	for _, it := range all.list(t, "agents") {
		order = append(order, it.(map[string]any)["name"].(string))
		ids = append(ids, it.(map[string]any)["id"].(string))
	}
	if strings.Join(order[:6], ",") != "Alpha,ALPHA-2,Bravo,charlie,delta,echo" {
		t.Fatalf("order %v", order)
	}
	for _, n := range []int{1, 2, 3, 7} {
		pages := pageAll(t, s, a.key, "/admin/agents", "agents", n)
		if got := strings.Join(flatten(pages), ","); got != strings.Join(ids, ",") {
			t.Fatalf("limit %d pages %v, want %v", n, pages, ids)
		}
		// nextCursor is non-null exactly when another row existed.
		if last := pages[len(pages)-1]; len(last) == 0 {
			t.Fatalf("limit %d: an empty last page", n)
		}
	}
	t.Run("a cursor is bound to its endpoint and filters", func(t *testing.T) {
		cur := s.do(t, "GET", "/admin/agents?limit=1", a.key, nil).want(t, 200).str(t, "nextCursor")
		s.do(t, "GET", "/admin/api-keys?cursor="+cur, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
		s.do(t, "GET", "/admin/audit?cursor="+cur, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
		agent := s.createAgent(t, a, "Convs")
		other := s.createAgent(t, a, "Other")
		for i := 0; i < 3; i++ {
			s.seedChat(t, a, agent, "", "", 0)
		}
		c := s.do(t, "GET", "/admin/conversations?limit=1&agentId="+agent.String(), a.key, nil).want(t, 200).str(t, "nextCursor")
		s.do(t, "GET", "/admin/conversations?agentId="+agent.String()+"&cursor="+c, a.key, nil).want(t, 200)
		s.do(t, "GET", "/admin/conversations?agentId="+strings.ToUpper(agent.String())+"&cursor="+c, a.key, nil).want(t, 200)
		s.do(t, "GET", "/admin/conversations?agentId="+other.String()+"&cursor="+c, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
		s.do(t, "GET", "/admin/conversations?cursor="+c, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
	})
}

func TestConversationPagesDoNotSeeRowsInsertedBehindTheCursor(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	var made []string
	for i := 0; i < 4; i++ {
		made = append(made, s.seedChat(t, a, agent, "", "", 0).conv.String())
	}
	r := s.do(t, "GET", "/admin/conversations?limit=2", a.key, nil).want(t, 200)
	first := r.list(t, "conversations")
	if first[0].(map[string]any)["id"] != made[3] || first[1].(map[string]any)["id"] != made[2] {
		t.Fatalf("newest first: %s", r.body)
	}
	newer := s.seedChat(t, a, agent, "", "", 0).conv.String()
	r2 := s.do(t, "GET", "/admin/conversations?limit=2&cursor="+r.str(t, "nextCursor"), a.key, nil).want(t, 200)
	got := r2.list(t, "conversations")
	if len(got) != 2 || got[0].(map[string]any)["id"] != made[1] || got[1].(map[string]any)["id"] != made[0] || r2.get(t, "nextCursor") != nil {
		t.Fatalf("second page %s", r2.body)
	}
	if strings.Contains(string(r2.body), newer) {
		t.Fatal("a row inserted behind the cursor was returned")
	}
}

func TestMessagesPageOldestFirst(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 5)
	c2 := s.seedChat(t, a, agent, "", "", 1)
	pages := pageAll(t, s, a.key, "/admin/conversations/"+c.conv.String()+"/messages", "messages", 2)
	if len(pages) != 3 || len(flatten(pages)) != 5 {
		t.Fatalf("pages %v", pages)
	}
	r := s.do(t, "GET", "/admin/conversations/"+c.conv.String()+"/messages?limit=1", a.key, nil).want(t, 200)
	m := r.get(t, "messages.0").(map[string]any)
	content := m["content"].(map[string]any)
	from := m["from"].(map[string]any)
	if m["direction"] != "inbound" || content["text"] != "message a" || content["items"].([]any)[0].(map[string]any)["type"] != "text" ||
		from["type"] != "user" || from["id"] != c.userPart.String() || m["conversationId"] != c.conv.String() {
		t.Fatalf("message %s", r.body)
	}
	s.do(t, "GET", "/admin/conversations/"+c2.conv.String()+"/messages?cursor="+r.str(t, "nextCursor"), a.key, nil).
		wantError(t, 400, "VALIDATION_ERROR", "cursor")
	conv := s.do(t, "GET", "/admin/conversations/"+c.conv.String(), a.key, nil).want(t, 200)
	if conv.get(t, "conversation.messageCount").(interface{ String() string }).String() != "5" || conv.get(t, "conversation.title") != nil ||
		conv.get(t, "conversation.lastMessageAt") == nil || len(conv.list(t, "conversation.participants")) != 2 {
		t.Fatalf("conversation %s", conv.body)
	}
}

func TestApprovalAuditAndKeyListsPage(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	c := s.seedChat(t, a, agent, "", "", 0)
	var approvals []string
	for i := 0; i < 3; i++ {
		approvals = append(approvals, s.seedApproval(t, a, agent, c, "x", time.Hour).String())
	}
	if got := flatten(pageAll(t, s, a.key, "/admin/approvals", "approvals", 2)); strings.Join(got, ",") != strings.Join(approvals, ",") {
		t.Fatalf("approvals oldest first: %v want %v", got, approvals)
	}
	for i := 0; i < 3; i++ {
		s.do(t, "POST", "/admin/gateway-keys", a.key, map[string]any{"label": "k", "key": "sk-" + uuid.NewString()}).want(t, 201)
		s.apiKey(t, a, "basic")
	}
	for _, l := range []struct{ path, key string }{{"/admin/gateway-keys", "gatewayKeys"}, {"/admin/api-keys", "apiKeys"}, {"/admin/audit", "entries"}} {
		whole := s.do(t, "GET", l.path, a.key, nil).want(t, 200)
		var want []string
		for _, it := range whole.list(t, l.key) {
			want = append(want, it.(map[string]any)["id"].(string))
		}
		if got := flatten(pageAll(t, s, a.key, l.path, l.key, 2)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s paged %v, want %v", l.path, got, want)
		}
	}
	// Audit is newest first.
	var at []time.Time
	for _, e := range s.do(t, "GET", "/admin/audit", a.key, nil).want(t, 200).list(t, "entries") {
		ts, _ := time.Parse(time.RFC3339, e.(map[string]any)["at"].(string))
		at = append(at, ts)
	}
	for i := 1; i < len(at); i++ {
		if at[i].After(at[i-1]) {
			t.Fatalf("audit not newest first: %v", at)
		}
	}
}
