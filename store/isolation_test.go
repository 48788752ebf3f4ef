package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

var q = db.New()

// world is org A with one of everything and org B with nothing but its existence, in a
// rolled-back transaction.
type world struct {
	ctx          context.Context
	tx           pgx.Tx
	fx           *fixture.Factory
	orgA, orgB   db.Org
	agentA       db.Agent
	sessionA     db.Session
	connectorA   db.Connector
	gatewayKeyA  db.GatewayKey
	conversation db.Conversation
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	tx := dbtest.TestTx(t)
	fx := fixture.New(t, tx)
	f := &world{ctx: ctx, tx: tx, fx: fx, orgA: fx.Org(fixture.Org{Name: "A"}), orgB: fx.Org(fixture.Org{Name: "B"})}
	f.agentA = fx.Agent(f.orgA.ID, fixture.Agent{Name: "Support"})
	chat := fx.Conversation(f.orgA.ID, f.agentA.ID, fixture.Conversation{})
	f.conversation, f.sessionA = chat.Conversation, chat.Session
	var err error
	f.connectorA, err = q.ConnectorCreate(ctx, tx, db.ConnectorCreateParams{
		OrgID: f.orgA.ID, Name: "Docs", Kind: "web", Config: []byte(`{"urls":["https://example.com"]}`),
		DocumentSet: "docs", Enabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.gatewayKeyA = fx.GatewayKey(f.orgA.ID, fixture.GatewayKey{Secret: "sk-prod-abcd", Label: "prod"})
	return f
}

func TestOrgBNeverReadsOrgARows(t *testing.T) {
	f := newWorld(t)
	ctx, tx, a, b := f.ctx, f.tx, f.orgA.ID, f.orgB.ID
	reads := []struct {
		name string
		read func(org uuid.UUID) error
	}{
		{"agent", func(org uuid.UUID) error {
			_, err := q.AgentGet(ctx, tx, db.AgentGetParams{OrgID: org, ID: f.agentA.ID})
			return err
		}},
		{"session", func(org uuid.UUID) error {
			_, err := q.SessionGet(ctx, tx, db.SessionGetParams{OrgID: org, ID: f.sessionA.ID})
			return err
		}},
		{"conversation", func(org uuid.UUID) error {
			_, err := q.ConversationGet(ctx, tx, db.ConversationGetParams{OrgID: org, ID: f.conversation.ID})
			return err
		}},
		{"connector", func(org uuid.UUID) error {
			_, err := q.ConnectorGet(ctx, tx, db.ConnectorGetParams{OrgID: org, ID: f.connectorA.ID})
			return err
		}},
		{"gateway key", func(org uuid.UUID) error {
			_, err := q.GatewayKeyGet(ctx, tx, db.GatewayKeyGetParams{OrgID: org, ID: f.gatewayKeyA.ID})
			return err
		}},
		{"newest active gateway key", func(org uuid.UUID) error {
			_, err := q.GatewayKeyNewestActive(ctx, tx, org)
			return err
		}},
	}
	for _, r := range reads {
		t.Run(r.name, func(t *testing.T) {
			if err := r.read(a); err != nil {
				t.Fatalf("org A reading its own %s: %v", r.name, err)
			}
			if err := store.Classify(r.read(b)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("org B reading org A's %s: err = %v, want not found", r.name, err)
			}
		})
	}
}

func TestOrgBListsNoneOfOrgARows(t *testing.T) {
	f := newWorld(t)
	ctx, tx, b := f.ctx, f.tx, f.orgB.ID
	agents, err := q.AgentList(ctx, tx, db.AgentListParams{OrgID: b, Lim: 100})
	if err != nil || len(agents) != 0 {
		t.Fatalf("org B lists agents %v (err %v)", agents, err)
	}
	connectors, err := q.ConnectorList(ctx, tx, db.ConnectorListParams{OrgID: b, Lim: 100})
	if err != nil || len(connectors) != 0 {
		t.Fatalf("org B lists connectors %v (err %v)", connectors, err)
	}
	keys, err := q.GatewayKeyList(ctx, tx, db.GatewayKeyListParams{OrgID: b, Lim: 100})
	if err != nil || len(keys) != 0 {
		t.Fatalf("org B lists gateway keys %v (err %v)", keys, err)
	}
	convs, err := q.ConversationList(ctx, tx, db.ConversationListParams{OrgID: b, AllVisible: true, Lim: 100})
	if err != nil || len(convs) != 0 {
		t.Fatalf("org B lists conversations %v (err %v)", convs, err)
	}
}

func TestOrgBWritesNeverTouchOrgARows(t *testing.T) {
	f := newWorld(t)
	ctx, tx, b := f.ctx, f.tx, f.orgB.ID
	if n, err := q.AgentSoftDelete(ctx, tx, db.AgentSoftDeleteParams{OrgID: b, ID: f.agentA.ID}); err != nil || n != 0 {
		t.Fatalf("org B deleting org A's agent: %d rows, %v", n, err)
	}
	if n, err := q.ConnectorDelete(ctx, tx, db.ConnectorDeleteParams{OrgID: b, ID: f.connectorA.ID}); err != nil || n != 0 {
		t.Fatalf("org B deleting org A's connector: %d rows, %v", n, err)
	}
	if _, err := q.GatewayKeyRevoke(ctx, tx, db.GatewayKeyRevokeParams{OrgID: b, ID: f.gatewayKeyA.ID}); !errors.Is(store.Classify(err), store.ErrNotFound) {
		t.Fatalf("org B revoking org A's gateway key: %v", err)
	}
	if _, err := q.AgentGet(ctx, tx, db.AgentGetParams{OrgID: f.orgA.ID, ID: f.agentA.ID}); err != nil {
		t.Fatalf("org A's agent gone after org B's delete: %v", err)
	}
	k, err := q.GatewayKeyNewestActive(ctx, tx, f.orgA.ID)
	if err != nil || k.ID != f.gatewayKeyA.ID {
		t.Fatalf("org A's gateway key no longer active: %v", err)
	}
}

func TestNamesAreUniquePerOrgOnly(t *testing.T) {
	f := newWorld(t)
	ctx, tx := f.ctx, f.tx
	// The same name in another org is fine.
	f.fx.Agent(f.orgB.ID, fixture.Agent{Name: "Support"})
	if _, err := q.ConnectorCreate(ctx, tx, db.ConnectorCreateParams{
		OrgID: f.orgB.ID, Name: "docs", Kind: "web", Config: []byte(`{}`), DocumentSet: "docs", Enabled: true,
	}); err != nil {
		t.Fatalf("same connector name in org B: %v", err)
	}

	// The same name, in any case, in the same org conflicts.
	sp, err := tx.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = q.AgentCreate(ctx, sp, db.AgentCreateParams{ID: uuid.New(), OrgID: f.orgA.ID, Name: "SUPPORT",
		ConfirmTools: []string{}, DocumentSets: []string{}, AllowedOrigins: []string{}})
	if !errors.Is(store.Classify(err), store.ErrConflict) {
		t.Fatalf("duplicate agent name in org A: err = %v, want conflict", err)
	}
	sp.Rollback(ctx)

	// A deleted agent's name is free again at once.
	if _, err := q.AgentSoftDelete(ctx, tx, db.AgentSoftDeleteParams{OrgID: f.orgA.ID, ID: f.agentA.ID}); err != nil {
		t.Fatal(err)
	}
	f.fx.Agent(f.orgA.ID, fixture.Agent{Name: "support"})

	// Document-set names are case-sensitive: faq and FAQ are two sets.
	for _, name := range []string{"faq", "FAQ"} {
		if _, err := q.DocumentSetEnsure(ctx, tx, db.DocumentSetEnsureParams{OrgID: f.orgA.ID, Name: name}); err != nil {
			t.Fatalf("document set %s: %v", name, err)
		}
	}
	var sets int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM document_sets WHERE org_id = $1", f.orgA.ID).Scan(&sets); err != nil || sets != 2 {
		t.Fatalf("document sets = %d (%v), want 2", sets, err)
	}
}

func TestResolveOrgProvisionsOnlyWhenAsked(t *testing.T) {
	ctx := context.Background()
	pool := dbtest.NewPool(t)
	st := store.New(pool, nil)
	meta := store.Meta{Actor: store.Actor{Type: "user", ID: "u1"}, RequestID: "r-1"}

	if _, err := st.ResolveOrg(ctx, "acme", false, meta); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("/ws-style resolve of an unknown org: %v, want not found", err)
	}
	id, err := st.ResolveOrg(ctx, "acme", true, meta)
	if err != nil {
		t.Fatal(err)
	}
	again, err := st.ResolveOrg(ctx, "acme", false, meta)
	if err != nil || again != id {
		t.Fatalf("second resolve = %v, %v; want %v", again, err, id)
	}
	want := uuid.New()
	got, err := st.ResolveOrg(ctx, want.String(), true, meta)
	if err != nil || got != want {
		t.Fatalf("UUID claim provisioned as %v (%v), want %v", got, err, want)
	}
	var audits int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = 'org.create' AND request_id = 'r-1'").Scan(&audits); err != nil || audits != 2 {
		t.Fatalf("org.create audit rows = %d (%v), want 2", audits, err)
	}
}
