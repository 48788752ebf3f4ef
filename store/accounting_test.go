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
	"APIKeyGetByHash":         "authentication finds an API key by its hash before any org is known",
	"BackplaneEventListAfter": "the backplane catch-up reads every org's events in id order",
	"BackplaneEventMaxID":     "a fresh backplane listener starts at the newest event of any org",
	"BackplaneEventPrune":     "backplane pruning deletes old events by age across orgs",
	"ApprovalExpireStale":     "the approval expiry sweeper runs across orgs",
	"InstancePrune":           "instance heartbeat housekeeping keeps any instance an approval still names",
	"AgentGetForWS":           "/ws learns the org from the agent id; the org and grants are checked right after the fetch",
	"SessionGetForWS":         "/ws looks a session up by id; the org and grants are checked right after the fetch",
	"ConversationGetForWS":    "/ws looks a conversation up by id; the org and grants are checked right after the fetch",
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

var (
	tableRef   = regexp.MustCompile(`(?i)\b(?:FROM|JOIN|INTO|UPDATE)\s+(\w+)`)
	orgFilter  = regexp.MustCompile(`(?i)\borg_id\s*=\s*(?:@org_id\b|sqlc\.arg\(\s*'?org_id'?\s*\))`)
	insertCols = regexp.MustCompile(`(?is)INSERT\s+INTO\s+\w+\s*\(([^)]*)\)`)
)

// orgScoped reports whether a query names the caller's org: a WHERE/ON condition on
// org_id = @org_id, or an INSERT whose column list carries org_id.
func orgScoped(sql string) bool {
	if orgFilter.MatchString(sql) {
		return true
	}
	if m := insertCols.FindStringSubmatch(sql); m != nil {
		for _, c := range strings.Split(m[1], ",") {
			if strings.TrimSpace(c) == "org_id" {
				return true
			}
		}
	}
	return false
}

func TestEveryTenantQueryFiltersByOrg(t *testing.T) {
	tenant := tenantTables(t)
	seen := map[string]bool{}
	for _, q := range readQueries(t) {
		if seen[q.name] {
			t.Errorf("query %s is defined twice", q.name)
		}
		seen[q.name] = true
		var touched []string
		for _, m := range tableRef.FindAllStringSubmatch(q.sql, -1) {
			if tenant[strings.ToLower(m[1])] {
				touched = append(touched, m[1])
			}
		}
		if len(touched) == 0 {
			continue
		}
		if _, ok := queryAllowList[q.name]; ok {
			continue
		}
		if !orgScoped(q.sql) {
			t.Errorf("%s (%s) touches tenant table(s) %v without an org_id = @org_id condition", q.name, q.file, touched)
		}
	}
	for name := range queryAllowList {
		if !seen[name] {
			t.Errorf("allow-listed query %s does not exist; remove it from the list", name)
		}
	}
}

func TestAccountingCheckCatchesAnUnscopedQuery(t *testing.T) {
	bad := "SELECT * FROM agents WHERE id = @id"
	if orgScoped(bad) {
		t.Fatal("a query without an org condition passed the check")
	}
	if !orgScoped("SELECT * FROM agents WHERE org_id = @org_id AND id = @id") {
		t.Fatal("a scoped query failed the check")
	}
	if !orgScoped("INSERT INTO agents (id, org_id, name) VALUES (@id, @org_id, @name)") {
		t.Fatal("an insert carrying org_id failed the check")
	}
}
