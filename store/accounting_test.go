package store_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// queryAllowList names, up front, the queries that may touch a tenant table without an
// org_id condition, each with its reason (ADMIN-API §4.2, invariant 35).
var queryAllowList = map[string]string{
	"APIKeyGetByHash":          "authentication finds an API key by its hash before any org is known",
	"BackplaneEventListAfter":  "the backplane catch-up reads every org's events in id order",
	"BackplaneEventMaxID":      "a fresh backplane listener starts at the newest event of any org",
	"BackplaneEventPrune":      "backplane pruning deletes old events by age across orgs",
	"ApprovalExpireStale":      "the approval expiry sweeper runs across orgs",
	"InteractionExpireStale":   "the interaction expiry sweeper runs across orgs",
	"ToolListReservedNamed":    "at start the server warns about tools of any org stored under a name reserved since PROTOCOL-1.1",
	"OrgSettingsListRetention": "the retention job visits every org that set a retention period",
	"OTPChallengeExpireStale":  "the one-time-code expiry sweeper runs across orgs (PROTOCOL-1.1 §7.14)",
	"OTPChallengeAddressSends": "the per-address send limit counts across orgs on purpose: it protects the address owner's inbox (PROTOCOL-1.1 §7.14)",
	"InstancePrune":            "instance heartbeat housekeeping keeps any instance an approval, an interaction or a challenge still names",
	"AgentGetForWS":            "/ws learns the org from the agent id; the org and grants are checked right after the fetch",
	"SessionGetForWS":          "/ws looks a session up by id; the org and grants are checked right after the fetch",
	"ConversationGetForWS":     "/ws looks a conversation up by id; the org and grants are checked right after the fetch",
}

// tenantTables reads the migrations and returns every table with an org_id column.
func tenantTables(t *testing.T) map[string]bool {
	t.Helper()
	files, err := filepath.Glob("../migrations/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no migrations found: %v", err)
	}
	create := regexp.MustCompile(`(?is)CREATE TABLE\s+(\w+)\s*\((.*?)\n\);`)
	out := map[string]bool{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		up := strings.SplitN(string(b), "-- +goose Down", 2)[0]
		for _, m := range create.FindAllStringSubmatch(up, -1) {
			if regexp.MustCompile(`(?m)^\s*org_id\s`).MatchString(m[2]) {
				out[m[1]] = true
			}
		}
	}
	if !out["agents"] || !out["sessions"] || out["orgs"] || out["instances"] {
		t.Fatalf("tenant table detection is off: %v", out)
	}
	return out
}

type namedQuery struct{ name, file, sql string }

func readQueries(t *testing.T) []namedQuery {
	t.Helper()
	files, err := filepath.Glob("../queries/*.sql")
	if err != nil || len(files) == 0 {
		t.Fatalf("no query files: %v", err)
	}
	sort.Strings(files)
	header := regexp.MustCompile(`(?m)^-- name: (\w+) :\w+`)
	var out []namedQuery
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		idx := header.FindAllStringSubmatchIndex(s, -1)
		for i, m := range idx {
			end := len(s)
			if i+1 < len(idx) {
				end = idx[i+1][0]
			}
			out = append(out, namedQuery{name: s[m[2]:m[3]], file: filepath.Base(f), sql: stripComments(s[m[1]:end])})
		}
	}
	return out
}

func stripComments(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.Index(line, "--"); i >= 0 {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	return b.String()
}

func TestEveryTenantQueryFiltersByOrg(t *testing.T) {
	tenant := tenantTables(t)
	seen := map[string]bool{}
	for _, q := range readQueries(t) {
		if seen[q.name] {
			t.Errorf("query %s is defined twice", q.name)
		}
		seen[q.name] = true
		toks, err := tokenize(q.sql)
		if err != nil {
			t.Errorf("%s (%s): %v", q.name, q.file, err)
			continue
		}
		if !touchesAnywhere(toks, tenant) {
			continue
		}
		if _, ok := queryAllowList[q.name]; ok {
			continue
		}
		if why := statementScope(toks, tenant); why != "" {
			t.Errorf("%s (%s) is not scoped to the caller's org: %s", q.name, q.file, why)
		}
	}
	for name := range queryAllowList {
		if !seen[name] {
			t.Errorf("allow-listed query %s does not exist; remove it from the list", name)
		}
	}
}

// The check must refuse every query whose outermost statement reaches a tenant table
// without naming the caller's org itself, wherever else the condition appears.
func TestAccountingCheckRefusesQueriesScopedOnlyInside(t *testing.T) {
	tenant := map[string]bool{"agents": true, "agent_tools": true, "messages": true}
	bad := map[string]string{
		"no condition":                                              `SELECT * FROM agents WHERE id = @id`,
		"no WHERE at all":                                           `SELECT count(*) FROM agents`,
		"condition only in a subquery":                              `SELECT * FROM agents WHERE id IN (SELECT agent_id FROM agent_tools WHERE org_id = @org_id)`,
		"condition only in EXISTS":                                  `SELECT * FROM agents a WHERE EXISTS (SELECT 1 FROM agent_tools t WHERE t.agent_id = a.id AND t.org_id = @org_id)`,
		"condition only in a CTE":                                   `WITH mine AS (SELECT id FROM agents WHERE org_id = @org_id) SELECT * FROM agents WHERE id IN (SELECT id FROM mine)`,
		"condition only in a join's select":                         `SELECT a.* FROM agents a JOIN (SELECT agent_id FROM agent_tools WHERE org_id = @org_id) t ON t.agent_id = a.id WHERE a.id = @id`,
		"condition only in a join's ON":                             `SELECT a.* FROM agent_tools t JOIN agents a ON a.id = t.agent_id AND a.org_id = @org_id WHERE t.id = @id`,
		"condition in a select list":                                `SELECT a.*, (SELECT count(*) FROM agent_tools WHERE org_id = @org_id) FROM agents a`,
		"condition ORed away":                                       `SELECT * FROM agents WHERE org_id = @org_id OR id = @id`,
		"condition ORed in parentheses":                             `SELECT * FROM agents WHERE (org_id = @org_id OR true) AND id = @id`,
		"condition on another parameter":                            `SELECT * FROM agents WHERE org_id = @other_org AND id = @id`,
		"condition compared otherwise":                              `SELECT * FROM agents WHERE org_id <> @org_id`,
		"condition in a string":                                     `SELECT * FROM agents WHERE name = 'org_id = @org_id'`,
		"condition in a comment":                                    "SELECT * FROM agents WHERE id = @id -- AND org_id = @org_id",
		"condition after the WHERE":                                 `SELECT * FROM agents WHERE id = @id ORDER BY org_id = @org_id`,
		"one branch of a UNION unscoped":                            `SELECT id FROM agents WHERE org_id = @org_id UNION ALL SELECT id FROM agent_tools WHERE id = @id`,
		"a CTE unscoped":                                            `WITH gone AS (DELETE FROM messages WHERE id = @id RETURNING id) SELECT count(*) FROM gone`,
		"an update in a CTE, scoped only in its RETURNING's reader": `WITH u AS (UPDATE agents SET name = @name WHERE id = @id RETURNING org_id) SELECT * FROM u WHERE org_id = @org_id`,
		"a derived table unscoped":                                  `SELECT * FROM (SELECT * FROM agents) a WHERE a.org_id = @org_id`,
		"an insert without org_id":                                  `INSERT INTO messages (id, text) SELECT @id, text FROM messages WHERE org_id = @org_id`,
		"an update of another table's org":                          `UPDATE agents SET name = @name FROM agent_tools t WHERE t.agent_id = agents.id AND t.id = @id AND EXISTS (SELECT 1 WHERE t.org_id = @org_id)`,
		"a lateral join correlated to an unscoped derived table": `SELECT a.*, t.name FROM (SELECT * FROM agents WHERE id = @id) a
			LEFT JOIN LATERAL (SELECT name FROM agent_tools x WHERE x.org_id = a.org_id) t ON true`,
		"a lateral join correlated to nothing scoped": `SELECT a.*, t.name FROM (SELECT * FROM agents WHERE org_id = @org_id) a
			LEFT JOIN LATERAL (SELECT name FROM agent_tools x WHERE x.org_id = x.org_id) t ON true`,
		"a lateral join correlated by another column": `SELECT a.*, t.name FROM (SELECT * FROM agents WHERE org_id = @org_id) a
			LEFT JOIN LATERAL (SELECT name FROM agent_tools x WHERE x.agent_id = a.id) t ON true`,
		"a BETWEEN that hides an OR": `SELECT * FROM messages WHERE id BETWEEN @a AND @b OR org_id = @org_id`,
		// A statement scoped itself must not read another org's rows into what it returns or
		// writes, nor test for them: each of its subqueries is scoped as well.
		"an insert filled from an unscoped subquery": `INSERT INTO agent_tools (id, org_id, agent_id, name)
			VALUES (@id, @org_id, @agent_id, coalesce((SELECT a.name FROM agents a WHERE a.id = @agent_id), 'x'))`,
		"an insert copying another org's row":          `INSERT INTO messages (id, org_id, text) SELECT @id, @org_id, text FROM messages WHERE id = @other`,
		"an upsert updating from an unscoped subquery": `INSERT INTO agents (id, org_id, name) VALUES (@id, @org_id, @name) ON CONFLICT (id) DO UPDATE SET name = (SELECT name FROM agents WHERE id = @other)`,
		"an insert returning an unscoped subquery":     `INSERT INTO agents (id, org_id, name) VALUES (@id, @org_id, @name) RETURNING (SELECT count(*) FROM agent_tools WHERE agent_id = @other)`,
		"a select list reading an unscoped subquery":   `SELECT a.*, (SELECT count(*) FROM agent_tools t WHERE t.agent_id = @other) FROM agents a WHERE a.org_id = @org_id`,
		"an update setting from an unscoped subquery":  `UPDATE agents SET name = (SELECT x.name FROM agents x WHERE x.id = @other) WHERE org_id = @org_id AND id = @id`,
		"an EXISTS probing another org":                `SELECT * FROM agents WHERE org_id = @org_id AND EXISTS (SELECT 1 FROM agent_tools WHERE id = @other)`,
		"a subquery correlated to an unscoped alias": `SELECT a.*, (SELECT count(*) FROM agent_tools t WHERE t.org_id = m.org_id) FROM agents a JOIN messages m ON m.id = @m
			WHERE a.org_id = @org_id`,
	}
	for name, sql := range bad {
		t.Run(name, func(t *testing.T) {
			toks, err := tokenize(sql)
			if err != nil {
				t.Fatal(err)
			}
			if why := statementScope(toks, tenant); why == "" {
				t.Fatalf("passed the check: %s", sql)
			}
		})
	}
	good := map[string]string{
		"plain":                          `SELECT * FROM agents WHERE org_id = @org_id AND id = @id`,
		"reversed, qualified, cast":      `SELECT * FROM agents a WHERE @org_id::uuid = a.org_id AND a.id = @id`,
		"sqlc.arg":                       `SELECT * FROM agents WHERE org_id = sqlc.arg(org_id) AND id = @id`,
		"inside nested ANDs":             `SELECT * FROM agents WHERE (id = @id AND (org_id = @org_id)) AND deleted_at IS NULL`,
		"after a BETWEEN":                `SELECT * FROM messages WHERE created_at BETWEEN @a AND @b AND org_id = @org_id`,
		"an insert carrying org_id":      `INSERT INTO agents (id, org_id, name) VALUES (@id, @org_id, @name)`,
		"an update":                      `UPDATE agents SET name = @name WHERE org_id = @org_id AND id = @id RETURNING *`,
		"a delete":                       `DELETE FROM messages WHERE org_id = @org_id AND id = @id`,
		"scoped CTE, scoped main":        `WITH t AS (SELECT agent_id FROM agent_tools WHERE org_id = @org_id) SELECT * FROM agents WHERE org_id = @org_id AND id IN (SELECT agent_id FROM t)`,
		"main reads only a scoped CTE":   `WITH t AS (SELECT * FROM agents WHERE org_id = @org_id) SELECT count(*) FROM t`,
		"a scalar select of scoped ones": `SELECT EXISTS (SELECT 1 FROM agents WHERE org_id = @org_id AND id = @id)::bool`,
		"every UNION branch scoped":      `SELECT id FROM agents WHERE org_id = @org_id UNION SELECT id FROM agent_tools WHERE org_id = @org_id`,
		"a lateral join correlated to a scoped derived table": `SELECT a.*, t.name FROM (SELECT * FROM agents WHERE org_id = @org_id LIMIT 10) a
			LEFT JOIN LATERAL (SELECT name FROM agent_tools x WHERE x.org_id = a.org_id AND x.agent_id = a.id LIMIT 1) t ON true`,
		"a select-list subquery correlated to a scoped derived table": `SELECT (SELECT count(*) FROM messages m WHERE m.org_id = a.org_id) AS n
			FROM (SELECT * FROM agents WHERE org_id = @org_id) AS a`,
		"an insert filled from a scoped subquery": `INSERT INTO agent_tools (id, org_id, agent_id, name)
			VALUES (@id, @org_id, @agent_id, coalesce((SELECT a.name FROM agents a WHERE a.org_id = @org_id AND a.id = @agent_id), 'x'))`,
		"an insert from a scoped select":                `INSERT INTO messages (id, org_id, text) SELECT @id, org_id, text FROM messages WHERE org_id = @org_id AND id = @other`,
		"a subquery correlated to the scoped table":     `SELECT a.*, (SELECT count(*) FROM agent_tools t WHERE t.org_id = a.org_id AND t.agent_id = a.id) AS n FROM agents a WHERE a.org_id = @org_id`,
		"an EXISTS correlated to the unqualified scope": `SELECT * FROM agents WHERE org_id = @org_id AND EXISTS (SELECT 1 FROM agent_tools t WHERE t.org_id = agents.org_id AND t.agent_id = agents.id)`,
		"a scoped EXISTS, param on the left":            `SELECT * FROM agents a WHERE sqlc.arg(org_id) = a.org_id AND NOT EXISTS (SELECT 1 FROM agent_tools t WHERE t.org_id = a.org_id)`,
	}
	for name, sql := range good {
		t.Run(name, func(t *testing.T) {
			toks, err := tokenize(sql)
			if err != nil {
				t.Fatal(err)
			}
			if why := statementScope(toks, tenant); why != "" {
				t.Fatalf("refused: %s\n%s", why, sql)
			}
		})
	}
}
