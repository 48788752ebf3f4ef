package admin_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
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
		ids, c := listField(t, s.do(t, "GET", path+q, tok, nil).want(t, 200), key, "id")
		pages = append(pages, ids)
		if c == nil {
			return pages
		}
		if len(*c) > 512 {
			t.Fatalf("cursor of %d characters", len(*c))
		}
		cursor = *c
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
	var order, ids []string
	for _, ag := range decode[admintest.AgentList](t, s.do(t, "GET", "/admin/agents", a.key, nil).want(t, 200)).Agents {
		order = append(order, ag.Name)
		ids = append(ids, ag.ID)
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
	first, next := listField(t, r, "conversations", "id")
	if diff := cmp.Diff([]string{made[3], made[2]}, first); diff != "" {
		t.Fatalf("first page, newest first (-want +got):\n%s", diff)
	}
	if next == nil {
		t.Fatalf("first page has no nextCursor: %s", r.body)
	}
	newer := s.seedChat(t, a, agent, "", "", 0).conv.String()
	r2 := s.do(t, "GET", "/admin/conversations?limit=2&cursor="+*next, a.key, nil).want(t, 200)
	got, next := listField(t, r2, "conversations", "id")
	if diff := cmp.Diff([]string{made[1], made[0]}, got); diff != "" {
		t.Fatalf("second page (-want +got):\n%s", diff)
	}
	if next != nil {
		t.Fatalf("second page has a nextCursor: %s", r2.body)
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
	page := decode[admintest.MessageList](t, r)
	if len(page.Messages) != 1 || page.NextCursor == nil {
		t.Fatalf("first page %s", r.body)
	}
	m := page.Messages[0]
	want := admintest.Message{ID: m.ID, ConversationID: c.conv.String(), Direction: "inbound",
		Content: admintest.MessageContent{Items: []admintest.MessageItem{{Type: "text", Text: "message a"}}, Text: "message a"},
		From:    &admintest.MessageFrom{ID: c.userPart.String(), Type: "user", Name: "Visitor"}, CreatedAt: m.CreatedAt}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Fatalf("message (-want +got):\n%s", diff)
	}
	s.do(t, "GET", "/admin/conversations/"+c2.conv.String()+"/messages?cursor="+*page.NextCursor, a.key, nil).
		wantError(t, 400, "VALIDATION_ERROR", "cursor")
	conv := decode[admintest.ConversationAnswer](t, s.do(t, "GET", "/admin/conversations/"+c.conv.String(), a.key, nil).want(t, 200)).Conversation
	if conv.MessageCount != 5 || conv.Title != nil || conv.LastMessageAt == nil || len(conv.Participants) != 2 {
		t.Fatalf("conversation %+v", conv)
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
		want, _ := listField(t, s.do(t, "GET", l.path, a.key, nil).want(t, 200), l.key, "id")
		if got := flatten(pageAll(t, s, a.key, l.path, l.key, 2)); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Fatalf("%s paged %v, want %v", l.path, got, want)
		}
	}
	// Audit is newest first.
	var at []time.Time
	for _, e := range decode[admintest.AuditList](t, s.do(t, "GET", "/admin/audit", a.key, nil).want(t, 200)).Entries {
		ts, err := time.Parse(time.RFC3339, e.At)
		if err != nil {
			t.Fatalf("audit at %q: %v", e.At, err)
		}
		at = append(at, ts)
	}
	for i := 1; i < len(at); i++ {
		if at[i].After(at[i-1]) {
			t.Fatalf("audit not newest first: %v", at)
		}
	}
}

// offsetWalk pages path in the smooth-operator dialect: cursor=0 first, then each integer
// nextCursor, until it is null. It returns the ids of every page and fails on a nextCursor
// that is not the next offset.
func offsetWalk(t *testing.T, s *server, tok, path, key string, n int) [][]string {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	var pages [][]string
	offset := 0
	for i := 0; i < 200; i++ {
		r := s.do(t, "GET", fmt.Sprintf("%s%slimit=%d&cursor=%d", path, sep, n, offset), tok, nil).want(t, 200)
		pages = append(pages, listItems(t, r, key, "id"))
		switch next := r.get(t, "nextCursor").(type) {
		case nil:
			return pages
		case json.Number:
			if next.String() != fmt.Sprint(offset+n) {
				t.Fatalf("%s: nextCursor %s after offset %d and limit %d", path, next, offset, n)
			}
			offset += n
		default:
			t.Fatalf("%s: nextCursor %T after an offset request: %s", path, next, r.body)
		}
	}
	t.Fatalf("%s: offset paging does not end", path)
	return nil
}

func TestOffsetPagingWalks120ConversationsOnce(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	agent := s.createAgent(t, a, "Support")
	for i := 0; i < 120; i++ {
		s.seedChat(t, a, agent, "", "", 0)
	}
	pages := offsetWalk(t, s, a.key, "/admin/conversations", "conversations", 25)
	sizes := []int{}
	for _, p := range pages {
		sizes = append(sizes, len(p))
	}
	if fmt.Sprint(sizes) != "[25 25 25 25 20]" {
		t.Fatalf("page sizes %v", sizes)
	}
	seen := map[string]bool{}
	for _, id := range flatten(pages) {
		if seen[id] {
			t.Fatalf("conversation %s listed twice", id)
		}
		seen[id] = true
	}
	// The same rows in the same order as the opaque cursors give.
	if got, want := strings.Join(flatten(pages), ","), strings.Join(flatten(pageAll(t, s, a.key, "/admin/conversations", "conversations", 50)), ","); got != want {
		t.Fatal("offset and keyset paging disagree")
	}
	// The console's first request: cursor=0 and the default limit.
	first := s.do(t, "GET", "/admin/conversations?cursor=0", a.key, nil).want(t, 200)
	if len(first.list(t, "conversations")) != 50 || first.get(t, "nextCursor") != json.Number("50") {
		t.Fatalf("cursor=0: nextCursor %v", first.get(t, "nextCursor"))
	}
	if past := s.do(t, "GET", "/admin/conversations?cursor=120", a.key, nil).want(t, 200); len(past.list(t, "conversations")) != 0 || past.get(t, "nextCursor") != nil {
		t.Fatalf("past the end %s", past.body)
	}
	if last := s.do(t, "GET", "/admin/conversations?cursor=10000", a.key, nil).want(t, 200); len(last.list(t, "conversations")) != 0 {
		t.Fatalf("offset 10000 %s", last.body)
	}
	for _, c := range []string{"10001", "99999999999999999999999"} {
		r := s.do(t, "GET", "/admin/conversations?cursor="+c, a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
		if !strings.Contains(r.str(t, "error.message"), "at most 10000") || !strings.Contains(r.str(t, "error.message"), "opaque cursors") {
			t.Fatalf("message %q", r.str(t, "error.message"))
		}
	}
	for _, c := range []string{"007", "-1", "1.5", "+3"} {
		r := s.do(t, "GET", "/admin/conversations?cursor="+url.QueryEscape(c), a.key, nil).wantError(t, 400, "VALIDATION_ERROR", "cursor")
		if r.str(t, "error.message") != "cursor is not valid for this request" {
			t.Fatalf("%s: message %q", c, r.str(t, "error.message"))
		}
	}
}

// TestEveryListSpeaksTheOffsetDialect walks each paged list of one org with opaque cursors
// and with offsets: both give the same rows in the same order, each once.
func TestEveryListSpeaksTheOffsetDialect(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	tn := s.seedTenant(t, "A")
	for i := 0; i < 2; i++ {
		s.seedChat(t, tn.org, tn.agent, "", "", 0)
		s.seedApproval(t, tn.org, tn.agent, tn.chat, "refund", time.Hour)
		s.createAgent(t, tn.org, fmt.Sprintf("Extra %d", i))
		s.do(t, "POST", "/admin/agents/"+tn.agent.String()+"/tools", tn.key, map[string]any{
			"name": fmt.Sprintf("extra_%d", i), "description": "Extra.", "url": "https://api.example.com/extra"}).want(t, 201)
		s.do(t, "POST", "/admin/connectors", tn.key, map[string]any{"name": fmt.Sprintf("Extra %d", i), "kind": "web",
			"config": map[string]any{"urls": []string{"https://docs.example.com/extra"}}, "documentSet": "extra"}).want(t, 201)
		s.do(t, "POST", "/admin/gateway-keys", tn.key, map[string]any{"label": "extra", "key": fmt.Sprintf("sk-extra-%d-secret", i)}).want(t, 201)
	}
	s.ingestAndWait(t, tn.key, "more", doc{"id": "m1", "title": "M1", "content": "Moose swim."}, doc{"id": "m2", "title": "M2", "content": "Mink dive."})
	lists := []struct{ path, key, id string }{
		{"/admin/api-keys", "apiKeys", "id"}, {"/admin/agents", "agents", "id"}, {"/admin/agents/" + tn.agent.String() + "/tools", "tools", "id"},
		{"/admin/conversations", "conversations", "id"}, {"/admin/conversations/" + tn.chat.conv.String() + "/messages", "messages", "id"},
		{"/admin/approvals", "approvals", "id"}, {"/admin/document-sets", "documentSets", "name"},
		{"/admin/document-sets/more/documents", "documents", "id"}, {"/admin/connectors", "connectors", "id"},
		{"/admin/indexing/runs", "runs", "id"}, {"/admin/gateway-keys", "gatewayKeys", "id"}, {"/admin/audit", "entries", "id"},
	}
	for _, l := range lists {
		t.Run(l.path, func(t *testing.T) {
			keyset := s.pageAll(t, tn.key, l.path, l.key, l.id)
			var offset []string
			sep := "?"
			for off := 0; ; off++ {
				r := s.do(t, "GET", l.path+sep+"limit=1&cursor="+fmt.Sprint(off), tn.key, nil).want(t, 200)
				offset = append(offset, listItems(t, r, l.key, l.id)...)
				if n := r.get(t, "nextCursor"); n == nil {
					break
				} else if n != json.Number(fmt.Sprint(off+1)) {
					t.Fatalf("nextCursor %v after offset %d", n, off)
				}
				if off > 100 {
					t.Fatal("offset paging does not end")
				}
			}
			if len(keyset) < 2 || strings.Join(offset, ",") != strings.Join(keyset, ",") {
				t.Fatalf("offsets gave %v, cursors %v", offset, keyset)
			}
		})
	}
}
