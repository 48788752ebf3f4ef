package widget_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
)

func TestMain(m *testing.M) {
	stop, err := startBrowser()
	if err != nil {
		fmt.Fprintln(os.Stderr, "widget e2e:", err)
		os.Exit(1)
	}
	code := dbtest.Main(m)
	stop()
	os.Exit(code)
}

// env is one test's world: a scripted gateway, a server, and the demo org and agent that the
// page at / embeds, allowed on the server's own origin (as `switchboard demo` does).
type env struct {
	t     *testing.T
	gw    *llmtest.Gateway
	srv   *servetest.Server
	demo  store.Demo
	key   string // the demo org's admin API key
	agent uuid.UUID
}

func newEnv(t *testing.T, extra map[string]string) *env {
	t.Helper()
	gw := llmtest.New(t)
	vars := map[string]string{
		"SWITCHBOARD_GATEWAY_URL": gw.BaseURL(),
		"SWITCHBOARD_GATEWAY_KEY": "sk-server-test-key",
	}
	for k, v := range extra {
		if v == "" {
			delete(vars, k)
		} else {
			vars[k] = v
		}
	}
	srv := servetest.Start(t, vars)
	k, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	d, err := srv.Store.EnsureDemo(context.Background(), store.NewAPIKeyRow{
		Name: "bootstrap", Role: "admin", Hash: k.Hash, Prefix: k.Prefix, Last4: k.Last4,
	}, []string{srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	return &env{t: t, gw: gw, srv: srv, demo: d, key: k.Plaintext, agent: d.AgentID}
}

// admin calls the admin API with the demo org's key, requires a 2xx and returns the body.
func (e *env) admin(method, path string, body any) []byte {
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
	req.Header.Set("Authorization", "Bearer "+e.key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	if res.StatusCode >= 300 {
		e.t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
	}
	return raw
}

// ingest adds documents to the demo org's knowledge and waits for them to be indexed.
func (e *env) ingest(docs ...map[string]any) {
	e.t.Helper()
	id := testkit.DecodeJSON[admintest.Ingested](e.t, e.admin("POST", "/admin/document-sets/help/documents", map[string]any{"documents": docs})).Run.ID
	testkit.Eventually(e.t, "the indexing run to succeed", func() bool {
		r := testkit.DecodeJSON[admintest.RunAnswer](e.t, e.admin("GET", "/admin/indexing/runs/"+id, nil)).Run
		switch r.Status {
		case "succeeded":
			return true
		case "failed", "cancelled":
			e.t.Fatalf("indexing run %+v", r)
		}
		return false
	})
}

// count runs a COUNT query.
func (e *env) count(sql string, args ...any) int {
	e.t.Helper()
	var n int
	if err := e.srv.Pool.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		e.t.Fatal(err)
	}
	return n
}

// toolServer is a tenant HTTP tool that counts its calls.
type toolServer struct {
	*httptest.Server
	n atomic.Int64
}

func newToolServer(t *testing.T, body string) *toolServer {
	ts := &toolServer{}
	ts.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(ts.Close)
	return ts
}

func (ts *toolServer) calls() int { return int(ts.n.Load()) }
