package api_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin/admintest"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/testkit"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func newApp(t *testing.T, pool *pgxpool.Pool, mounts ...api.Mount) *fiber.App {
	t.Helper()
	return api.New(api.Deps{Pool: pool, Logger: quiet}, mounts...).App()
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, raw
}

// health is the body of /healthz ({"status"}) and of /readyz (all three keys).
type health struct {
	Status   string            `json:"status"`
	Checks   map[string]string `json:"checks,omitempty"`
	Draining *bool             `json:"draining,omitempty"`
}

// wantHealth fails unless the answer has status code and exactly the body want.
func wantHealth(t *testing.T, what string, resp *http.Response, raw []byte, code int, want health) {
	t.Helper()
	if resp.StatusCode != code {
		t.Fatalf("%s = %d, want %d: %s", what, resp.StatusCode, code, raw)
	}
	if diff := cmp.Diff(want, testkit.DecodeJSON[health](t, raw)); diff != "" {
		t.Fatalf("%s (-want +got):\n%s", what, diff)
	}
}

func ptr[T any](v T) *T { return &v }

func TestHealthzAndReadyzOnAMigratedDatabase(t *testing.T) {
	app := newApp(t, dbtest.NewPool(t))
	resp, body := do(t, app, httptest.NewRequest("GET", "/healthz", nil))
	wantHealth(t, "/healthz", resp, body, 200, health{Status: "ok"})
	resp, body = do(t, app, httptest.NewRequest("GET", "/readyz", nil))
	wantHealth(t, "/readyz", resp, body, 200, health{Status: "ready", Checks: map[string]string{"database": "ok", "schema": "ok"}, Draining: ptr(false)})
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestReadyzIs503WhenTheSchemaIsBehind(t *testing.T) {
	pool := dbtest.Pool(t, dbtest.NewEmptyURL(t))
	resp, body := do(t, newApp(t, pool), httptest.NewRequest("GET", "/readyz", nil))
	wantHealth(t, "/readyz on an unmigrated database", resp, body, 503,
		health{Status: "unavailable", Checks: map[string]string{"database": "ok", "schema": "behind"}, Draining: ptr(false)})
}

func TestReadyzIs503WhenTheDatabaseIsUnreachable(t *testing.T) {
	// Nothing listens on port 1; the pool connects lazily, so construction succeeds.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/switchboard?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	resp, body := do(t, newApp(t, pool), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz with the database down = %d %s", resp.StatusCode, body)
	}
	if db := testkit.DecodeJSON[health](t, body).Checks["database"]; db != "down" {
		t.Fatalf("/readyz with the database down reports the database %q: %s", db, body)
	}
	// Liveness does not depend on the database.
	if resp, _ := do(t, newApp(t, pool), httptest.NewRequest("GET", "/healthz", nil)); resp.StatusCode != 200 {
		t.Fatalf("/healthz with the database down = %d", resp.StatusCode)
	}
}

func TestReadyzIs503WhileDraining(t *testing.T) {
	s := api.New(api.Deps{Pool: dbtest.NewPool(t), Logger: quiet})
	s.SetDraining()
	resp, body := do(t, s.App(), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 {
		t.Fatalf("/readyz while draining = %d %s", resp.StatusCode, body)
	}
	if d := testkit.DecodeJSON[health](t, body).Draining; d == nil || !*d {
		t.Fatalf("/readyz while draining: %s", body)
	}
}

// assertEnvelope requires the error envelope (ADMIN-API §4.1) with status and code, the
// error repeated at data.error and the request id of the X-Request-Id header; it returns
// the envelope.
func assertEnvelope(t *testing.T, resp *http.Response, raw []byte, status int, code string) admintest.Error {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, status, raw)
	}
	got := testkit.DecodeJSON[admintest.Error](t, raw)
	rid := resp.Header.Get("X-Request-Id")
	if rid == "" {
		t.Fatal("no X-Request-Id header")
	}
	if got.Timestamp <= 0 {
		t.Fatalf("timestamp missing: %s", raw)
	}
	if got.Error.Code != code {
		t.Fatalf("error code %q, want %s: %s", got.Error.Code, code, raw)
	}
	want := admintest.Error{Type: "error", RequestID: rid, Error: got.Error, Timestamp: got.Timestamp}
	want.Data.RequestID, want.Data.Error = rid, got.Error
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("error envelope (-want +got):\n%s", diff)
	}
	return got
}

func TestUnknownRouteIsAnEnveloped404(t *testing.T) {
	app := newApp(t, dbtest.NewPool(t))
	for _, req := range []*http.Request{
		httptest.NewRequest("GET", "/nope", nil),
		httptest.NewRequest("POST", "/healthz", nil), // known path, undefined method
	} {
		resp, body := do(t, app, req)
		assertEnvelope(t, resp, body, 404, "NOT_FOUND")
	}
}

func TestRequestIDIsAdoptedOnlyWhenWellFormed(t *testing.T) {
	app := newApp(t, dbtest.NewPool(t))
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-Id", "client.id:1-A")
	resp, _ := do(t, app, req)
	if got := resp.Header.Get("X-Request-Id"); got != "client.id:1-A" {
		t.Fatalf("adopted id = %q", got)
	}
	req = httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-Id", "has spaces and/slashes")
	resp, _ = do(t, app, req)
	if got := resp.Header.Get("X-Request-Id"); got == "has spaces and/slashes" || len(got) != 36 {
		t.Fatalf("malformed client id not replaced by a UUID: %q", got)
	}
}

func TestPanicsBecomeAnEnveloped500WithoutInternals(t *testing.T) {
	boom := func(app *fiber.App) {
		app.Get("/boom", func(c *fiber.Ctx) error { panic("secret internals") })
		app.Get("/fail", func(c *fiber.Ctx) error { return errors.New("pq: relation does not exist") })
	}
	app := newApp(t, dbtest.NewPool(t), boom)
	for _, path := range []string{"/boom", "/fail"} {
		resp, body := do(t, app, httptest.NewRequest("GET", path, nil))
		if msg := assertEnvelope(t, resp, body, 500, "INTERNAL_ERROR").Error.Message; msg != "internal error" {
			t.Fatalf("%s message = %q", path, msg)
		}
	}
}

func TestOversizedBodyIsAnEnveloped413(t *testing.T) {
	echo := func(app *fiber.App) { app.Post("/admin/echo", func(c *fiber.Ctx) error { return c.SendStatus(204) }) }
	app := newApp(t, dbtest.NewPool(t), echo)
	ln := httptest.NewUnstartedServer(nil).Listener // a free loopback port
	go func() { _ = app.Listener(ln) }()
	defer func() { _ = app.Shutdown() }()
	// Announce one byte over the limit: the server answers from the headers, before
	// reading any body, exactly as a client that waits for 100-continue sees it.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /admin/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", api.BodyLimit+1)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	assertEnvelope(t, resp, raw, 413, "PAYLOAD_TOO_LARGE")
	if resp.Header.Get("Cache-Control") != "no-store" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("413 under /admin lacks the /admin headers: %v", resp.Header)
	}

	resp, err = http.Post("http://"+ln.Addr().String()+"/admin/echo", "application/json", strings.NewReader(strings.Repeat("x", api.BodyLimit)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Fatalf("a body of exactly the limit got %d", resp.StatusCode)
	}
}
