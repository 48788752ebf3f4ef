package knowledge

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/uuid"
)

func webInput(name string, config string) ConnectorInput {
	return ConnectorInput{Name: name, Kind: KindWeb, Config: json.RawMessage(config), DocumentSet: strp("docs-site")}
}

func TestConnectorWritesAreValidated(t *testing.T) {
	e := newEnv(t)
	opts := testOptions()
	opts.AllowPrivateURLs = false
	s := e.service(opts, false)
	org := e.org("acme")
	for _, tc := range []struct {
		name  string
		in    ConnectorInput
		field string
		msg   string
	}{
		{"github is reserved", ConnectorInput{Name: "gh", Kind: "github", Config: json.RawMessage(`{"owner":"a","repo":"b"}`), DocumentSet: strp("x")},
			"kind", "connector kind 'github' is not supported yet"},
		{"unknown kind", ConnectorInput{Name: "n", Kind: "ftp", Config: json.RawMessage(`{}`), DocumentSet: strp("x")}, "kind", ""},
		{"file never reads the server's disk", ConnectorInput{Name: "n", Kind: "file", Config: json.RawMessage(`{"path":"/etc"}`)}, "kind", MsgFileUnsupported},
		{"url and urls", webInput("n", `{"urls":["https://example.com/"],"url":"https://example.com/b"}`), "config.url", "config must set exactly one of urls (or url) and sitemap"},
		{"url and sitemap", webInput("n", `{"url":"https://example.com/","sitemap":"https://example.com/s.xml"}`), "config.sitemap", ""},
		{"url not a string", webInput("n", `{"url":["https://example.com/"]}`), "config.url", "config.url must be a string"},
		{"private single url", webInput("n", `{"url":"http://127.0.0.1:8080/"}`), "config.url", ""},
		{"blank name", webInput("   ", `{"urls":["https://example.com/"]}`), "name", ""},
		{"long name", webInput(strings.Repeat("n", 129), `{"urls":["https://example.com/"]}`), "name", ""},
		{"unknown config key", webInput("n", `{"urls":["https://example.com/"],"depth":2}`), "config.depth", "unknown field 'config.depth'"},
		{"unknown acl key", webInput("n", `{"urls":["https://example.com/"],"acl":{"roles":[]}}`), "config.acl.roles", ""},
		{"config not an object", webInput("n", `[]`), "config", ""},
		{"neither urls nor sitemap", webInput("n", `{}`), "config", ""},
		{"both urls and sitemap", webInput("n", `{"urls":["https://example.com/"],"sitemap":"https://example.com/s.xml"}`), "config.sitemap", ""},
		{"empty urls", webInput("n", `{"urls":[]}`), "config.urls", ""},
		{"urls entry not a string", webInput("n", `{"urls":[1]}`), "config.urls[0]", ""},
		{"private url", webInput("n", `{"urls":["https://example.com/","http://127.0.0.1:8080/"]}`), "config.urls[1]", ""},
		{"localhost sitemap", webInput("n", `{"sitemap":"http://localhost/sitemap.xml"}`), "config.sitemap", ""},
		{"userinfo", webInput("n", `{"urls":["https://u:p@example.com/"]}`), "config.urls[0]", ""},
		{"maxPages without sitemap", webInput("n", `{"urls":["https://example.com/"],"maxPages":3}`), "config.maxPages", ""},
		{"maxPages not an integer", webInput("n", `{"sitemap":"https://example.com/s.xml","maxPages":1.0}`), "config.maxPages", ""},
		{"maxPages too big", webInput("n", `{"sitemap":"https://example.com/s.xml","maxPages":2001}`), "config.maxPages", ""},
		{"acl public not boolean", webInput("n", `{"urls":["https://example.com/"],"acl":{"public":"true"}}`), "config.acl.public", ""},
		{"bad set name", ConnectorInput{Name: "n", Kind: KindWeb, Config: json.RawMessage(`{"urls":["https://example.com/"]}`), DocumentSet: strp("a/b")}, "documentSet", ""},
		{"bad schedule", func() ConnectorInput {
			in := webInput("n", `{"urls":["https://example.com/"]}`)
			in.Schedule = strp("@every 5m")
			return in
		}(), "schedule", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.CreateConnector(context.Background(), org, tc.in, testMeta)
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tc.field || (tc.msg != "" && fe.Message != tc.msg) {
				t.Fatalf("got %v (%+v), want field %s %q", err, fe, tc.field, tc.msg)
			}
		})
	}
	cs, _, _ := s.ListConnectors(context.Background(), org, nil, 50, 0)
	if len(cs) != 0 {
		t.Fatalf("refused writes stored %+v", cs)
	}
}

func TestConnectorLifecycle(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org, other := e.org("acme"), e.org("other")
	ctx := context.Background()
	in := webInput("Docs site", `{"sitemap":"https://docs.acme.com/sitemap.xml"}`)
	in.Schedule = strp("@daily")
	c, err := s.CreateConnector(ctx, org, in, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Config) != `{"urls":null,"url":null,"sitemap":"https://docs.acme.com/sitemap.xml","maxPages":200,"acl":null}` ||
		!c.Enabled || *c.Schedule != "@daily" || c.DocumentSet != "docs-site" {
		t.Fatalf("connector = %+v config %s", c, c.Config)
	}
	if _, err := s.CreateConnector(ctx, org, webInput("DOCS SITE", `{"urls":["https://a.example/"]}`), testMeta); !errors.Is(err, ErrConflict) {
		t.Fatalf("case-insensitive duplicate name: %v", err)
	}
	if _, err := s.CreateConnector(ctx, other, in, testMeta); err != nil {
		t.Fatalf("another org may reuse the name: %v", err)
	}
	sets, _, _ := s.ListDocumentSets(ctx, org, "", 50, 0)
	if len(sets) != 1 || sets[0].Name != "docs-site" || sets[0].DocumentCount != 0 || sets[0].UpdatedAt != nil {
		t.Fatalf("a connector's target set is listed with no documents: %+v", sets)
	}

	up := webInput("Docs", `{"urls":["https://docs.acme.com/a","https://docs.acme.com/b"],"acl":{"groups":["staff"]}}`)
	up.Enabled = new(bool)
	u, err := s.UpdateConnector(ctx, org, c.ID, up, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if u.Enabled || u.Schedule != nil || u.Name != "Docs" ||
		string(u.Config) != `{"urls":["https://docs.acme.com/a","https://docs.acme.com/b"],"url":"https://docs.acme.com/a","sitemap":null,"maxPages":null,"acl":{"public":false,"users":[],"groups":["staff"]}}` {
		t.Fatalf("updated = %+v config %s", u, u.Config)
	}
	var details string
	if err := e.pool.QueryRow(ctx, "SELECT details::text FROM audit_log WHERE org_id = $1 AND action = 'connector.update'", org).Scan(&details); err != nil {
		t.Fatal(err)
	}
	if details != `{"fields": ["name", "config", "enabled", "schedule"]}` {
		t.Fatalf("update audit details = %s", details)
	}
	gh := up
	gh.Kind = KindGitHub
	var fe *FieldError
	if _, err := s.UpdateConnector(ctx, org, c.ID, gh, testMeta); !errors.As(err, &fe) || fe.Message != MsgGitHubUnsupported {
		t.Fatalf("PUT with github: %v", err)
	}
	if _, err := s.UpdateConnector(ctx, other, c.ID, up, testMeta); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign PUT: %v", err)
	}
	if _, err := s.GetConnector(ctx, other, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign GET: %v", err)
	}
	if _, _, err := s.IndexConnector(ctx, other, c.ID, testMeta); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign index: %v", err)
	}

	// Index now, twice: one run (the connector is disabled: manual runs still go).
	r1, created, err := s.IndexConnector(ctx, org, c.ID, testMeta)
	if err != nil || !created || r1.Status != StatusQueued || *r1.ConnectorID != c.ID {
		t.Fatalf("index: %+v %v %v", r1, created, err)
	}
	r2, created, err := s.IndexConnector(ctx, org, c.ID, testMeta)
	if err != nil || created || r2.ID != r1.ID {
		t.Fatalf("second index: %+v %v %v", r2, created, err)
	}
	runs, _, _ := s.ListRuns(ctx, org, RunFilter{ConnectorID: &c.ID}, nil, 50, 0)
	if len(runs) != 1 {
		t.Fatalf("runs = %+v", runs)
	}
	if runs, _, _ := s.ListRuns(ctx, other, RunFilter{ConnectorID: &c.ID}, nil, 50, 0); len(runs) != 0 {
		t.Fatalf("another org lists acme's runs: %+v", runs)
	}

	if err := s.DeleteConnector(ctx, other, c.ID, testMeta); !errors.Is(err, ErrNotFound) {
		t.Fatalf("foreign delete: %v", err)
	}
	if err := s.DeleteConnector(ctx, org, c.ID, testMeta); err != nil {
		t.Fatal(err)
	}
	r, _ := s.GetRun(ctx, org, r1.ID)
	if r.Status != StatusCancelled || r.FinishedAt == nil {
		t.Fatalf("run after connector delete = %+v", r)
	}
	if _, err := s.GetConnector(ctx, org, c.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted connector: %v", err)
	}
	var actions []string
	rows, _ := e.pool.Query(ctx, "SELECT action FROM audit_log WHERE org_id = $1 ORDER BY at, action", org)
	for rows.Next() {
		var a string
		if err := rows.Scan(&a); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, a)
	}
	if strings.Join(actions, ",") != "connector.create,connector.update,connector.index,connector.delete" {
		t.Fatalf("audit actions = %v", actions)
	}
}

func TestConnectorsPageByNameCaseInsensitively(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org := e.org("acme")
	for _, n := range []string{"beta", "Alpha", "gamma", "Delta"} {
		if _, err := s.CreateConnector(context.Background(), org, webInput(n, `{"urls":["https://example.com/"]}`), testMeta); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	var after *ConnectorKey
	for {
		page, more, err := s.ListConnectors(context.Background(), org, after, 3, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page {
			got = append(got, c.Name)
		}
		if !more {
			break
		}
		k := page[len(page)-1].Key()
		after = &k
	}
	if strings.Join(got, ",") != "Alpha,beta,Delta,gamma" {
		t.Fatalf("order = %v", got)
	}
}

func TestRunsListNewestFirstWithFilters(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org := e.org("acme")
	var ids []uuid.UUID
	for i := 0; i < 5; i++ {
		r, _, err := s.Ingest(context.Background(), org, "kb", []DocumentInput{{Title: "t", Content: "c"}}, testMeta)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	var got []uuid.UUID
	var after *RunKey
	for {
		page, more, err := s.ListRuns(context.Background(), org, RunFilter{Status: StatusQueued}, after, 2, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			got = append(got, r.ID)
		}
		if !more {
			break
		}
		k := page[len(page)-1].Key()
		after = &k
	}
	if len(got) != 5 || got[0] != ids[4] || got[4] != ids[0] {
		t.Fatalf("runs = %v, ingested %v", got, ids)
	}
	if page, _, _ := s.ListRuns(context.Background(), org, RunFilter{Status: StatusSucceeded}, nil, 50, 0); len(page) != 0 {
		t.Fatalf("status filter: %+v", page)
	}
}

func TestDefaultSetName(t *testing.T) {
	// "" means: connector- and 8 hex digits of the name's digest.
	for name, want := range map[string]string{
		"docs-site":               "docs-site",
		"Docs":                    "Docs",
		"Docs site":               "Docs-site",
		"  Help / FAQ (v2)!  ":    "Help-FAQ-v2",
		"Café menu":               "Caf-menu",
		"_internal.notes":         "internal.notes",
		strings.Repeat("ab ", 40): strings.Repeat("ab-", 21) + "a",
		"文档":                      "",
		"!!!":                     "",
	} {
		got := DefaultSetName(name)
		if !ValidSetName(got) {
			t.Errorf("%q: %q is not a valid set name", name, got)
		}
		if want == "" {
			if !regexp.MustCompile(`^connector-[0-9a-f]{8}$`).MatchString(got) || got == DefaultSetName(name+"x") {
				t.Errorf("%q: %q, want connector- and a digest of the name", name, got)
			}
		} else if got != want {
			t.Errorf("%q: %q, want %q", name, got, want)
		}
	}
}

func TestAConnectorWithoutASetTargetsItsNameAndKeepsItsSet(t *testing.T) {
	e := newEnv(t)
	s := e.service(testOptions(), false)
	org := e.org("acme")
	ctx := context.Background()
	in := ConnectorInput{Name: "Help center", Kind: KindWeb, Config: json.RawMessage(`{"url":"https://help.acme.com/"}`)}
	c, err := s.CreateConnector(ctx, org, in, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if c.DocumentSet != "Help-center" || string(c.Config) != `{"urls":["https://help.acme.com/"],"url":"https://help.acme.com/","sitemap":null,"maxPages":null,"acl":null}` {
		t.Fatalf("created %+v config %s", c, c.Config)
	}
	var stored string
	if err := e.pool.QueryRow(ctx, "SELECT config::text FROM connectors WHERE org_id = $1 AND id = $2", org, c.ID).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stored, `"url"`) {
		t.Fatalf("url is stored: %s", stored)
	}
	// A replace without a set keeps the current one, whatever the new name.
	in.Name = "Support center"
	u, err := s.UpdateConnector(ctx, org, c.ID, in, testMeta)
	if err != nil {
		t.Fatal(err)
	}
	if u.DocumentSet != "Help-center" || u.Name != "Support center" {
		t.Fatalf("after replace %+v", u)
	}
	in.DocumentSet = strp("support")
	if u, err = s.UpdateConnector(ctx, org, c.ID, in, testMeta); err != nil || u.DocumentSet != "support" {
		t.Fatalf("an explicit set: %+v %v", u, err)
	}
}
