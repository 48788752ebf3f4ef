package serve_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
)

var anyUUID = regexp.MustCompile(`[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}`)

func TestMetricsArePrometheusTextWithoutTenantIDs(t *testing.T) {
	const secret = "switchboard-serve-test-jwt-secret-0123456789"
	srv := servetest.Start(t, map[string]string{"AUTH_JWT_SECRET": secret})
	org := fixture.New(t, srv.Pool).Org(fixture.Org{Name: "Acme"})
	// Some tenant activity first: a published event, with its org id in the row.
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "ops", "org": org.ID.String(), "role": "admin", "exp": time.Now().Add(time.Hour).Unix(),
	}).SignedString([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL+"/admin/publish", strings.NewReader(
		`{"target":{"type":"org","id":"`+org.ID.String()+`"},"event":{"type":"notice"}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 202 {
		t.Fatalf("publish: %v %v", err, res)
	}
	res.Body.Close()

	req, _ = http.NewRequest("GET", srv.URL+"/metrics", nil)
	req.Header.Set("Origin", "https://evil.example")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %q", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatal("/metrics answers CORS")
	}
	for _, name := range []string{
		"switchboard_backplane_listener_up 1", "switchboard_backplane_published_total",
		"switchboard_backplane_delivered_total", "switchboard_backplane_listener_reconnects_total",
		"switchboard_backplane_delivery_lag_seconds_bucket", "switchboard_backplane_events_received_total",
		"switchboard_approvals_expired_total", "switchboard_turns_active 0", "switchboard_ws_connections 0",
		`switchboard_panics_total{where="turn"} 0`, `switchboard_panics_total{where="socket_writer"} 0`,
		"go_goroutines", "process_cpu_seconds_total",
	} {
		if !bytes.Contains(body, []byte("\n"+name)) {
			t.Errorf("metric %q missing", name)
		}
	}
	if id := anyUUID.Find(body); id != nil {
		t.Fatalf("a metric carries an id: %s", id)
	}

	// GET only: HEAD is 404 like every undefined method.
	res, err = http.Head(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 404 {
		t.Fatalf("HEAD /metrics: %d", res.StatusCode)
	}
}
