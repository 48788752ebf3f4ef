package serve_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"testing"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

func get(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("%s: %v", url, err)
	}
	return resp.StatusCode, body
}

func TestServeAnswersHealthAndReadinessAndRegistersItsInstance(t *testing.T) {
	srv := servetest.Start(t, nil)
	if code, body := get(t, srv.URL+"/healthz"); code != 200 || body["status"] != "ok" {
		t.Fatalf("/healthz = %d %v", code, body)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 || body["status"] != "ready" {
		t.Fatalf("/readyz = %d %v", code, body)
	}
	var live int
	if err := srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM instances WHERE stopped_at IS NULL AND heartbeat_at > now() - interval '15 seconds'`).Scan(&live); err != nil || live != 1 {
		t.Fatalf("live instances = %d (%v), want 1", live, err)
	}
	if err := srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := srv.Pool.QueryRow(context.Background(), `SELECT count(*) FROM instances WHERE stopped_at IS NULL`).Scan(&live); err != nil || live != 0 {
		t.Fatalf("instances not marked stopped after shutdown: %d (%v)", live, err)
	}
}
