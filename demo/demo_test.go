package demo_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tools"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func key(hash string) store.NewAPIKeyRow {
	return store.NewAPIKeyRow{Name: "bootstrap", Role: "admin", Hash: []byte(hash), Prefix: "sbk_test", Last4: "abcd"}
}

// snapshot is every row the demo's tables hold, as text, table by table.
func snapshot(t *testing.T, ctx context.Context, pool *pgxpool.Pool) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, table := range []string{"orgs", "api_keys", "agents", "agent_tools", "document_sets", "documents", "indexing_runs", "audit_log", "river_job"} {
		rows, err := pool.Query(ctx, `SELECT t::text FROM `+table+` t ORDER BY 1`)
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
		out[table], err = pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", table, err)
		}
	}
	return out
}

func TestEnsureTwiceLeavesTheSameRows(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	st := store.New(pool, nil)
	kn, err := knowledge.New(st, jobs.New(st, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	first, err := demo.Ensure(ctx, st, kn, key("first"), []string{"http://127.0.0.1:8787"})
	if err != nil || !first.Created || !first.ToolCreated || first.Run == nil || first.Queued != len(demo.Documents()) {
		t.Fatalf("first Ensure = %+v, %v", first, err)
	}
	before := snapshot(t, ctx, pool)
	if len(before["documents"]) != len(demo.Documents()) || len(before["agent_tools"]) != 1 || len(before["river_job"]) != 1 {
		t.Fatalf("first seed rows: %d documents, %d tools, %d jobs", len(before["documents"]), len(before["agent_tools"]), len(before["river_job"]))
	}

	second, err := demo.Ensure(ctx, st, kn, key("second"), []string{"https://elsewhere.example"})
	if err != nil || second.Created || second.ToolCreated || second.Run != nil || second.OrgID != first.OrgID || second.AgentID != first.AgentID {
		t.Fatalf("second Ensure = %+v, %v", second, err)
	}
	if diff := cmp.Diff(before, snapshot(t, ctx, pool)); diff != "" {
		t.Fatalf("the second Ensure changed rows (-before +after):\n%s", diff)
	}

	// The tool is a builtin: no URL, approval required, the parameters the ticket desk reads.
	var kind, url string
	var approval bool
	if err := pool.QueryRow(ctx, `SELECT kind, url, requires_approval FROM agent_tools WHERE org_id = $1 AND name = 'create_ticket'`, first.OrgID).
		Scan(&kind, &url, &approval); err != nil || kind != store.ToolKindBuiltin || url != "" || !approval {
		t.Fatalf("create_ticket: kind %q url %q approval %v (%v)", kind, url, approval, err)
	}

	// A seeded document whose text changed (a newer binary) is queued again, alone.
	if _, err := pool.Exec(ctx, `UPDATE documents SET content_hash = '\x00' WHERE org_id = $1 AND doc_id = 'switchboard-demo:approvals'`, first.OrgID); err != nil {
		t.Fatal(err)
	}
	third, err := demo.Ensure(ctx, st, kn, key("third"), nil)
	if err != nil || third.Run == nil || third.Queued != 1 {
		t.Fatalf("third Ensure = %+v, %v", third, err)
	}
}

func TestEnsureKeepsAToolThePersonChanged(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	st := store.New(pool, nil)
	kn, err := knowledge.New(st, jobs.New(st, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	d, err := demo.Ensure(ctx, st, kn, key("k"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE agent_tools SET kind = 'http', url = 'https://tickets.example.com/hook' WHERE org_id = $1`, d.OrgID); err != nil {
		t.Fatal(err)
	}
	if again, err := demo.Ensure(ctx, st, kn, key("k2"), nil); err != nil || again.ToolCreated {
		t.Fatalf("Ensure = %+v, %v", again, err)
	}
	var url string
	if err := pool.QueryRow(ctx, `SELECT url FROM agent_tools WHERE org_id = $1`, d.OrgID).Scan(&url); err != nil || url != "https://tickets.example.com/hook" {
		t.Fatalf("url %q %v", url, err)
	}
}

func TestTheTicketDeskAnswersTheSameTicketForTheSameCall(t *testing.T) {
	conv := uuid.New()
	call := tools.Call{ToolName: demo.TicketTool, ConversationID: conv, Arguments: json.RawMessage(`{"subject":"Printer on fire","priority":"high"}`)}
	a, err := demo.CreateTicket(context.Background(), call)
	if err != nil || a.IsError {
		t.Fatalf("%+v %v", a, err)
	}
	b, _ := demo.CreateTicket(context.Background(), call)
	var ticket map[string]string
	if a.Text != b.Text || json.Unmarshal([]byte(a.Text), &ticket) != nil || !strings.HasPrefix(ticket["ticket"], "DEMO-") ||
		ticket["subject"] != "Printer on fire" || ticket["priority"] != "high" || ticket["status"] != "open" {
		t.Fatalf("tickets %s / %s", a.Text, b.Text)
	}
	call.ConversationID = uuid.New()
	if c, _ := demo.CreateTicket(context.Background(), call); c.Text == a.Text {
		t.Fatal("another conversation got the same ticket number")
	}
}
