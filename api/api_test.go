package api_test

import (
	"bufio"
	"context"
	"encoding/json"
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
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/dbtest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func newApp(t *testing.T, pool *pgxpool.Pool, mounts ...api.Mount) *fiber.App {
	t.Helper()
	return api.New(api.Deps{Pool: pool, Logger: quiet}, mounts...).App()
}

func do(t *testing.T, app *fiber.App, req *http.Request) (*http.Response, map[string]any) {
	t.Helper()
	resp, err := app.Test(req, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Fatalf("body is not JSON: %q", raw)
		}
	}
	return resp, body
}

func checks(body map[string]any) map[string]any { c, _ := body["checks"].(map[string]any); return c }

func TestHealthzAndReadyzOnAMigratedDatabase(t *testing.T) {
	app := newApp(t, dbtest.NewPool(t))
	resp, body := do(t, app, httptest.NewRequest("GET", "/healthz", nil))
	if resp.StatusCode != 200 || body["status"] != "ok" {
		t.Fatalf("/healthz = %d %v", resp.StatusCode, body)
	}
	resp, body = do(t, app, httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 200 || body["status"] != "ready" || checks(body)["database"] != "ok" || checks(body)["schema"] != "ok" || body["draining"] != false {
		t.Fatalf("/readyz = %d %v", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json; charset=utf-8" {
		t.Fatalf("Content-Type = %q", ct)
	}
}

func TestReadyzIs503WhenTheSchemaIsBehind(t *testing.T) {
	pool := dbtest.Pool(t, dbtest.NewEmptyURL(t))
	resp, body := do(t, newApp(t, pool), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 || body["status"] != "unavailable" || checks(body)["database"] != "ok" || checks(body)["schema"] != "behind" {
		t.Fatalf("/readyz on an unmigrated database = %d %v", resp.StatusCode, body)
	}
}

func TestReadyzIs503WhenTheDatabaseIsUnreachable(t *testing.T) {
	// Nothing listens on port 1; the pool connects lazily, so construction succeeds.
	pool, err := pgxpool.New(context.Background(), "postgres://postgres@127.0.0.1:1/switchboard?sslmode=disable&connect_timeout=1")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	resp, body := do(t, newApp(t, pool), httptest.NewRequest("GET", "/readyz", nil))
	if resp.StatusCode != 503 || checks(body)["database"] != "down" {
		t.Fatalf("/readyz with the database down = %d %v", resp.StatusCode, body)
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
	if resp.StatusCode != 503 || body["draining"] != true {
		t.Fatalf("/readyz while draining = %d %v", resp.StatusCode, body)
	}
}

func assertEnvelope(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Fatalf("status = %d, want %d (%v)", resp.StatusCode, status, body)
	}
	e, _ := body["error"].(map[string]any)
	data, _ := body["data"].(map[string]any)
	if body["type"] != "error" || e["code"] != code || data == nil {
		t.Fatalf("body = %v, want error envelope with code %s", body, code)
	}
	if de, _ := data["error"].(map[string]any); de["code"] != code || de["message"] != e["message"] {
		t.Fatalf("data.error = %v differs from error = %v", data["error"], e)
	}
	rid := resp.Header.Get("X-Request-Id")
	if rid == "" || body["requestId"] != rid || data["requestId"] != rid {
		t.Fatalf("request id header %q, body %v", rid, body["requestId"])
	}
	if _, ok := body["timestamp"].(float64); !ok {
		t.Fatalf("timestamp missing: %v", body)
	}
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
		assertEnvelope(t, resp, body, 500, "INTERNAL_ERROR")
		if msg := body["error"].(map[string]any)["message"]; msg != "internal error" {
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
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("413 body is not JSON: %v", err)
	}
	assertEnvelope(t, resp, env, 413, "PAYLOAD_TOO_LARGE")
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
