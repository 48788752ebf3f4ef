package admin_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/db"
)

// usageOf writes a usage row of c straight to the database.
func (s *server) usageOf(t *testing.T, o org, agent uuid.UUID, c chat, tokens int64) {
	t.Helper()
	if err := db.New().UsageEventInsert(context.Background(), s.Pool, db.UsageEventInsertParams{
		ID: uuid.New(), OrgID: o.id, AgentID: agent, ConversationID: c.conv, SessionID: c.session,
		RequestID: "r-" + c.conv.String(), Model: "gpt-4o-mini", PromptTokens: tokens, CompletionTokens: 1, CostUsd: 0.001, Outcome: "completed",
	}); err != nil {
		t.Fatal(err)
	}
}

func (s *server) messageOf(t *testing.T, o org, c chat, text string) {
	t.Helper()
	if _, err := db.New().MessageInsertRow(context.Background(), s.Pool, db.MessageInsertRowParams{
		OrgID: o.id, ConversationID: c.conv, ParticipantID: uuid.NullUUID{UUID: c.userPart, Valid: true}, Direction: "inbound", Text: text,
	}); err != nil {
		t.Fatal(err)
	}
}

func endUserPath(ref string) string { return "/admin/end-users/" + url.PathEscape(ref) }

func TestDeleteConversationErasesItAndAuditsNoContent(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	o := s.newOrg(t, "A")
	agent := s.createAgent(t, o, "Support")
	gone := s.seedChat(t, o, agent, "jwt:visitor", "visitor@example.org", 2)
	s.messageOf(t, o, gone, "my card is 4111 1111")
	s.seedApproval(t, o, agent, gone, "refund", time.Hour)
	s.usageOf(t, o, agent, gone, 40)
	kept := s.seedChat(t, o, agent, "jwt:other", "", 2)
	usage := s.do(t, "GET", "/admin/usage?groupBy=model", o.key, nil).want(t, 200).body

	path := "/admin/conversations/" + gone.conv.String()
	curator := s.apiKey(t, o, "curator")
	s.do(t, "DELETE", path, curator, nil).wantError(t, 403, "FORBIDDEN", "-")
	s.do(t, "DELETE", path, o.key, nil).want(t, 204)
	s.do(t, "GET", path, o.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "DELETE", path, o.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "DELETE", "/admin/conversations/not-a-uuid", o.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	s.do(t, "GET", "/admin/conversations/"+kept.conv.String(), o.key, nil).want(t, 200)
	if after := s.do(t, "GET", "/admin/usage?groupBy=model", o.key, nil).want(t, 200).body; string(after) != string(usage) {
		t.Errorf("usage changed:\nbefore %s\nafter  %s", usage, after)
	}
	var left int
	if err := s.Pool.QueryRow(context.Background(), `SELECT
		(SELECT count(*) FROM messages WHERE conversation_id = $1) + (SELECT count(*) FROM sessions WHERE conversation_id = $1) +
		(SELECT count(*) FROM participants WHERE conversation_id = $1) + (SELECT count(*) FROM pending_approvals WHERE conversation_id = $1) +
		(SELECT count(*) FROM usage_events WHERE conversation_id = $1)`, gone.conv).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows of the conversation left (%v)", left, err)
	}

	entries := decode[admintest.AuditList](t, s.do(t, "GET", "/admin/audit?limit=1", o.key, nil).want(t, 200)).Entries
	if len(entries) != 1 {
		t.Fatalf("audit: %+v", entries)
	}
	got := entries[0]
	want := admintest.AuditEntry{ID: got.ID, At: got.At, Actor: got.Actor, Action: "conversation.delete", TargetType: "conversation",
		TargetID: gone.conv.String(), RequestID: got.RequestID, IP: got.IP, Details: got.Details}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("audit entry (-want +got):\n%s", d)
	}
	var details map[string]int
	if err := json.Unmarshal(got.Details, &details); err != nil {
		t.Fatal(err)
	}
	wantDetails := map[string]int{"approvals": 1, "auditEntriesScrubbed": 0, "conversations": 1, "messages": 3, "sessions": 1, "usageEventsKept": 1}
	if d := cmp.Diff(wantDetails, details); d != "" {
		t.Errorf("audit details (-want +got):\n%s", d)
	}
}

func TestEndUserExportAndErasure(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	o := s.newOrg(t, "A")
	agent := s.createAgent(t, o, "Support")
	// The user with a token whose subject holds a slash, once with the token and once by
	// verified email only; another user of the same org.
	mine := s.seedChat(t, o, agent, "jwt:team/ada", "ada@example.org", 2)
	s.messageOf(t, o, mine, "ada's secret order AXQZ")
	s.seedApproval(t, o, agent, mine, "refund", time.Hour)
	s.usageOf(t, o, agent, mine, 40)
	mineByMail := s.seedChat(t, o, agent, "", " Ada@Example.org", 0)
	theirs := s.seedChat(t, o, agent, "jwt:team/bob", "bob@example.org", 2)
	s.messageOf(t, o, theirs, "bob's secret order BZWY")
	s.usageOf(t, o, agent, theirs, 50)

	export := func(ref string) admintest.Export {
		return decode[admintest.ExportAnswer](t, s.do(t, "GET", endUserPath(ref)+"/export", o.key, nil).want(t, 200)).Export
	}
	ids := func(e admintest.Export) []string {
		var out []string
		for _, c := range e.Conversations {
			out = append(out, c.ID)
		}
		return out
	}
	byToken := export("jwt:team/ada")
	if d := cmp.Diff([]string{mine.conv.String()}, ids(byToken)); d != "" {
		t.Errorf("export by identity (-want +got):\n%s", d)
	}
	c := byToken.Conversations[0]
	if len(c.Messages) != 3 || c.Messages[2].Content.Text != "ada's secret order AXQZ" || len(c.Sessions) != 1 ||
		len(c.Approvals) != 1 || len(c.Participants) != 2 || len(byToken.Usage) != 1 || byToken.EndUser != "jwt:team/ada" {
		t.Errorf("export: %+v", byToken)
	}
	byMail := export("email:ADA@example.org")
	if d := cmp.Diff([]string{mine.conv.String(), mineByMail.conv.String()}, ids(byMail)); d != "" {
		t.Errorf("export by email (-want +got):\n%s", d)
	}
	for _, e := range []admintest.Export{byToken, byMail} {
		raw := mustJSON(e)
		for _, other := range []string{theirs.conv.String(), theirs.session.String(), "bob", "BZWY"} {
			if strings.Contains(raw, other) {
				t.Errorf("the export holds %q of another user: %s", other, raw)
			}
		}
	}
	if got := export("jwt:nobody"); len(got.Conversations) != 0 || len(got.Usage) != 0 || len(got.Audit) != 0 {
		t.Errorf("export of an unknown user: %+v", got)
	}

	totals := s.do(t, "GET", "/admin/usage?groupBy=model", o.key, nil).want(t, 200).body
	got := decode[admintest.ErasureAnswer](t, s.do(t, "DELETE", endUserPath("email:ada@example.org"), o.key, nil).want(t, 200))
	want := admintest.Erasure{Conversations: 2, Messages: 3, Sessions: 2, Approvals: 1, UsageEventsKept: 1}
	if d := cmp.Diff(want, got.Erasure); d != "" {
		t.Errorf("erasure (-want +got):\n%s", d)
	}
	for _, ch := range []chat{mine, mineByMail} {
		s.do(t, "GET", "/admin/conversations/"+ch.conv.String(), o.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	}
	s.do(t, "GET", "/admin/conversations/"+theirs.conv.String(), o.key, nil).want(t, 200)
	if after := s.do(t, "GET", "/admin/usage?groupBy=model", o.key, nil).want(t, 200).body; string(after) != string(totals) {
		t.Errorf("usage changed:\nbefore %s\nafter  %s", totals, after)
	}
	if got := export("jwt:team/ada"); len(got.Conversations) != 0 || len(got.Usage) != 0 {
		t.Errorf("export after erasure: %+v", got)
	}
	if got := export("jwt:team/bob"); len(got.Conversations) != 1 || len(got.Usage) != 1 {
		t.Errorf("the other user's export after erasure: %+v", got)
	}

	// Audited without the user or anything erased: the entries name a hash of the reference.
	rows := s.auditRows(t, o)
	var actions []string
	for _, r := range rows {
		raw := r.TargetID + string(r.Details)
		for _, leak := range []string{"team/ada", "ada@", "Ada@", "AXQZ", mine.conv.String()} {
			if strings.Contains(raw, leak) {
				t.Errorf("audit row %s names %q: %s", r.Action, leak, raw)
			}
		}
		if r.TargetType == "endUser" {
			actions = append(actions, r.Action)
			if !strings.HasPrefix(r.TargetID, "sha256:") {
				t.Errorf("end user audit target %q", r.TargetID)
			}
		}
	}
	if d := cmp.Diff([]string{"endUser.export", "endUser.export", "endUser.export", "endUser.erase", "endUser.export", "endUser.export"}, actions); d != "" {
		t.Errorf("end user audit actions (-want +got):\n%s", d)
	}
}

func TestEndUserRefsAndRoles(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	o := s.newOrg(t, "A")
	for _, ref := range []string{"ada", "jwt:", "ctx:", "email:ada", "email:", "sms:+4412345", "JWT:ada", "jwt:" + strings.Repeat("x", 257), "jwt:a\x01b"} {
		s.do(t, "DELETE", endUserPath(ref), o.key, nil).wantError(t, 400, "VALIDATION_ERROR", "ref")
		s.do(t, "GET", endUserPath(ref)+"/export", o.key, nil).wantError(t, 400, "VALIDATION_ERROR", "ref")
	}
	curator := s.apiKey(t, o, "curator")
	s.do(t, "DELETE", endUserPath("jwt:ada"), curator, nil).wantError(t, 403, "FORBIDDEN", "-")
	s.do(t, "GET", endUserPath("jwt:ada")+"/export", curator, nil).wantError(t, 403, "FORBIDDEN", "-")
	s.do(t, "DELETE", endUserPath("jwt:ada")+"?x=1", o.key, nil).wantError(t, 400, "VALIDATION_ERROR", "x")
}

// Org A erasing or exporting a user only org B holds (the same identity and email in both)
// touches and reads only A's rows.
func TestEndUserErasureNeverCrossesOrgs(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a, b := s.newOrg(t, "A"), s.newOrg(t, "B")
	agentA, agentB := s.createAgent(t, a, "Support"), s.createAgent(t, b, "Support")
	chatB := s.seedChat(t, b, agentB, "jwt:shared", "shared@example.org", 2)
	s.usageOf(t, b, agentB, chatB, 10)
	onlyB := s.seedChat(t, b, agentB, "ctx:only-b", "", 1)
	chatA := s.seedChat(t, a, agentA, "jwt:shared", "shared@example.org", 2)
	bBefore := s.do(t, "GET", "/admin/conversations/"+chatB.conv.String(), b.key, nil).want(t, 200).body

	e := decode[admintest.ExportAnswer](t, s.do(t, "GET", endUserPath("email:shared@example.org")+"/export", a.key, nil).want(t, 200)).Export
	if len(e.Conversations) != 1 || e.Conversations[0].ID != chatA.conv.String() || len(e.Usage) != 0 {
		t.Errorf("A's export: %+v", e)
	}
	none := decode[admintest.ErasureAnswer](t, s.do(t, "DELETE", endUserPath("ctx:only-b"), a.key, nil).want(t, 200))
	if none.Erasure != (admintest.Erasure{}) {
		t.Errorf("A erased B's user: %+v", none.Erasure)
	}
	s.do(t, "DELETE", endUserPath("jwt:shared"), a.key, nil).want(t, 200)
	s.do(t, "GET", "/admin/conversations/"+chatA.conv.String(), a.key, nil).wantError(t, 404, "NOT_FOUND", "-")
	if after := s.do(t, "GET", "/admin/conversations/"+chatB.conv.String(), b.key, nil).want(t, 200).body; string(after) != string(bBefore) {
		t.Errorf("B's conversation changed:\n%s\n%s", bBefore, after)
	}
	s.do(t, "GET", "/admin/conversations/"+onlyB.conv.String(), b.key, nil).want(t, 200)
	eb := decode[admintest.ExportAnswer](t, s.do(t, "GET", endUserPath("jwt:shared")+"/export", b.key, nil).want(t, 200)).Export
	if len(eb.Conversations) != 1 || len(eb.Usage) != 1 {
		t.Errorf("B's export after A's erasure: %+v", eb)
	}
	for _, r := range s.auditRows(t, b) {
		if strings.HasPrefix(r.Action, "endUser.") && r.RequestID != nil {
			// B's only end-user entry is its own export above.
			if r.Action != "endUser.export" {
				t.Errorf("B's audit has %s", r.Action)
			}
		}
	}
}
