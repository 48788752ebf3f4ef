package scalebench

import (
	"context"
	"io"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/store"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// statements records every statement a pool runs, batched or not, with its arguments.
type statements struct {
	mu   sync.Mutex
	list []recorded
}

type recorded struct {
	sql  string
	args []any
}

func (s *statements) add(sql string, args []any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var data []any
	for _, a := range args {
		if _, mode := a.(pgx.QueryExecMode); !mode {
			data = append(data, a)
		}
	}
	s.list = append(s.list, recorded{sql, data})
}

func (s *statements) take() []recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.list
	s.list = nil
	return out
}

func (s *statements) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	s.add(d.SQL, d.Args)
	return ctx
}
func (s *statements) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (s *statements) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (s *statements) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	s.add(d.SQL, d.Args)
}
func (s *statements) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// growing are the tables whose rows keep arriving: no hot read may scan one whole.
var growing = []string{"messages", "conversations", "participants", "sessions", "usage_events", "usage_days",
	"chunks", "documents", "audit_log", "backplane_events", "org_usage_months"}

var seqScan = regexp.MustCompile(`Seq Scan on (\w+)`)

// TestHotQueriesUseTheirIndexes fills a database with the scale generator at a tiny size,
// runs the requests the scale benchmark times through the real store and knowledge code,
// records every statement they send, and EXPLAINs each (with sequential scans disabled, so
// that a plan shows a whole-table scan only when no index can serve it). It fails when a
// statement scans a growing table whole or when the index a request depends on is no longer
// in its plans: what keeps each request's cost independent of other tenants' data.
func TestHotQueriesUseTheirIndexes(t *testing.T) {
	ctx := context.Background()
	url := dbtest.NewEmptyURL(t)
	tiny := Size{Name: "XS", Orgs: 20, Conversations: 400, Messages: 4000, Chunks: 400, UsageRows: 4000, AuditRows: 400}
	if _, err := generate(ctx, url, tiny, 1, func(string, ...any) {}); err != nil {
		t.Fatal(err)
	}
	rec := &statements{}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = rec
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool, nil)
	kn, err := knowledge.New(st, jobs.New(st, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	explainer, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer explainer.Close(ctx)
	if _, err := explainer.Exec(ctx, "SET enable_seqscan = off"); err != nil {
		t.Fatal(err)
	}

	small, big := Probes(1)
	month := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	deep := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, p := range []Probe{small, big} {
		q := Questions(1, p, 1)[0]
		for _, c := range []struct {
			name string
			call func() error
			want []string // indexes that must appear in the request's plans
		}{
			{"knowledge search", func() error {
				_, err := kn.Search(ctx, p.OrgID, nil, knowledge.Viewer{}, q, knowledge.DefaultSearchLimit)
				return err
			}, []string{"chunks_org_tsv_idx"}},
			{"usage by day", func() error { _, err := st.Usage(ctx, p.OrgID, "day", month, month.AddDate(0, 1, 0)); return err },
				[]string{"usage_days_pkey"}},
			{"usage by agent, partial days", func() error {
				_, err := st.Usage(ctx, p.OrgID, "agent", month.Add(6*time.Hour), month.AddDate(0, 1, 0).Add(-time.Hour))
				return err
			}, []string{"usage_days_pkey", "usage_events_org_created_idx"}},
			{"conversations first page", func() error {
				_, err := st.ListConversations(ctx, p.OrgID, uuid.NullUUID{}, store.Viewer{All: true}, store.Page{Limit: 51})
				return err
			}, []string{"conversations_org_created_idx"}},
			{"conversations deep page", func() error {
				_, err := st.ListConversations(ctx, p.OrgID, uuid.NullUUID{}, store.Viewer{All: true},
					store.Page{AfterAt: &deep, AfterID: uuid.NullUUID{UUID: uuid.Max, Valid: true}, Limit: 51})
				return err
			}, []string{"conversations_org_created_idx"}},
			{"messages page", func() error {
				_, err := st.ConversationMessages(ctx, p.OrgID, p.ConversationID, store.Page{Limit: 51})
				return err
			}, []string{"messages_org_conversation_seq_idx"}},
			{"audit page", func() error { _, err := st.ListAudit(ctx, p.OrgID, store.Page{Limit: 51}); return err },
				[]string{"audit_log_org_at_idx"}},
			{"turn inputs", func() error {
				_, err := st.LoadTurnInputs(ctx, p.OrgID, p.AgentID, uuid.Nil, p.ConversationID, 50)
				return err
			},
				[]string{"messages_org_conversation_seq_idx", "org_usage_months_pkey"}},
			{"session resume", func() error {
				if _, err := st.ConversationForWS(ctx, p.ConversationID); err != nil {
					return err
				}
				_, err := st.ResumeTokenValid(ctx, p.OrgID, p.ConversationID, auth.HashResumeToken(p.ResumeToken))
				return err
			}, []string{"sessions_org_conversation_idx"}},
		} {
			t.Run(p.Label+"/"+c.name, func(t *testing.T) {
				rec.take()
				if err := c.call(); err != nil {
					t.Fatal(err)
				}
				var plans []string
				for _, s := range rec.take() {
					var lines []string
					rows, err := explainer.Query(ctx, "EXPLAIN "+s.sql, s.args...)
					if err == nil {
						lines, err = pgx.CollectRows(rows, pgx.RowTo[string])
					}
					if err != nil {
						t.Fatalf("EXPLAIN %s: %v", s.sql, err)
					}
					plan := strings.Join(lines, "\n")
					for _, m := range seqScan.FindAllStringSubmatch(plan, -1) {
						for _, g := range growing {
							if m[1] == g {
								t.Errorf("%s scans %s whole:\n%s\n%s", c.name, g, s.sql, plan)
							}
						}
					}
					plans = append(plans, plan)
				}
				all := strings.Join(plans, "\n")
				for _, idx := range c.want {
					if !strings.Contains(all, " "+idx+" ") && !strings.Contains(all, " "+idx+"\n") && !strings.HasSuffix(all, " "+idx) {
						t.Errorf("%s no longer uses %s; its plans:\n%s", c.name, idx, all)
					}
				}
				if len(plans) == 0 {
					t.Fatalf("%s sent no statement", c.name)
				}
			})
		}
	}
}
