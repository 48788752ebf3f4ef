package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/testkit/fixture"
	"github.com/switchboard-dev/switchboard/webhooks"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

// verify checks a request the way the Standard Webhooks specification says a receiver does,
// written here independently of the package: HMAC-SHA256 keyed with the base64-decoded part
// of the whsec_ secret, over "<webhook-id>.<webhook-timestamp>.<body>", base64, after "v1,".
func verify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(h.Get("webhook-id") + "." + h.Get("webhook-timestamp") + "." + string(body)))
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, sig := range strings.Fields(h.Get("webhook-signature")) {
		if hmac.Equal([]byte(sig), []byte(want)) {
			return true
		}
	}
	return false
}

// receiver is a tenant's endpoint: it fails the first failures requests with 503, then
// accepts, counting accepted deliveries per webhook-id.
type receiver struct {
	mu       sync.Mutex
	failures int
	calls    int
	badSig   int
	accepted map[string]int
	bodies   map[string]events.Envelope
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.calls++
	if !verify(fixture.WebhookSecret, r.Header, body) {
		rc.badSig++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if rc.failures > 0 {
		rc.failures--
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = io.WriteString(w, strings.Repeat("x", 5000))
		return
	}
	var env events.Envelope
	_ = json.Unmarshal(body, &env)
	rc.accepted[r.Header.Get("webhook-id")]++
	rc.bodies[r.Header.Get("webhook-id")] = env
	w.WriteHeader(http.StatusNoContent)
}

func (rc *receiver) snapshot() (calls, badSig int, accepted map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	accepted = map[string]int{}
	for k, v := range rc.accepted {
		accepted[k] = v
	}
	return rc.calls, rc.badSig, accepted
}

type env struct {
	t    *testing.T
	pool *pgxpool.Pool
	st   *store.Store
	fx   *fixture.Factory
	org  uuid.UUID
	conv uuid.UUID
}

func newEnv(t *testing.T) *env {
	pool := dbtest.NewPool(t)
	fx := fixture.New(t, pool)
	org := fx.Org(fixture.Org{Name: "acme"}).ID
	agent := fx.Agent(org, fixture.Agent{Name: "Support"})
	conv := fx.Conversation(org, agent.ID, fixture.Conversation{}).Conversation.ID
	return &env{t: t, pool: pool, st: store.New(pool, nil), fx: fx, org: org, conv: conv}
}

// start runs a job runner with the webhooks worker, as one process would.
func (e *env) start(opts webhooks.Options, rescue time.Duration) {
	e.t.Helper()
	r := jobs.New(e.st, jobs.Options{Logger: slog.New(slog.DiscardHandler), RescueStuckJobsAfter: rescue, TestOnly: true})
	opts.Logger = slog.New(slog.DiscardHandler)
	if opts.RetryDelay == 0 {
		opts.RetryDelay = 20 * time.Millisecond
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Second
	}
	if _, err := webhooks.New(e.st, r, fixture.Box(e.t, fixture.EncryptionKey), opts); err != nil {
		e.t.Fatal(err)
	}
	if err := r.Start(context.Background()); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = r.Stop(ctx)
	})
}

type delivery struct {
	Status    string
	Attempts  int
	LastError *string
	Response  *string
}

func (e *env) deliveries() []delivery {
	e.t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT status, attempts, last_error, last_response FROM webhook_deliveries WHERE org_id = $1 ORDER BY created_at`, e.org)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	var out []delivery
	for rows.Next() {
		var d delivery
		if err := rows.Scan(&d.Status, &d.Attempts, &d.LastError, &d.Response); err != nil {
			e.t.Fatal(err)
		}
		out = append(out, d)
	}
	return out
}

func TestDownReceiverGetsRetriesThenEachEventOncePerWebhookID(t *testing.T) {
	e := newEnv(t)
	rc := &receiver{failures: 4, accepted: map[string]int{}, bodies: map[string]events.Envelope{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.fx.Webhook(e.org, fixture.Webhook{URL: srv.URL + "/hook", Events: []string{"turn.failed"}})
	for i := 0; i < 3; i++ {
		if err := e.st.Emit(context.Background(), e.org, events.TurnFailed{ConversationID: e.conv, Error: "boom"}); err != nil {
			t.Fatal(err)
		}
	}
	e.start(webhooks.Options{AllowPrivateURLs: true}, time.Minute)
	testkit.Eventually(t, "three events accepted", func() bool {
		_, _, acc := rc.snapshot()
		return len(acc) == 3
	})
	testkit.Eventually(t, "every delivery recorded succeeded", func() bool {
		for _, d := range e.deliveries() {
			if d.Status != "succeeded" {
				return false
			}
		}
		return true
	})
	calls, badSig, acc := rc.snapshot()
	if badSig != 0 {
		t.Fatalf("%d requests failed signature verification", badSig)
	}
	for id, n := range acc {
		if n != 1 {
			t.Fatalf("webhook-id %s accepted %d times, want once", id, n)
		}
		if env := rc.bodies[id]; env.Type != "turn.failed" || !strings.Contains(string(env.Data), e.conv.String()) {
			t.Fatalf("body of %s = %+v", id, env)
		}
	}
	if calls != 3+4 {
		t.Fatalf("receiver saw %d requests, want 3 deliveries and 4 refused attempts", calls)
	}
	attempts := 0
	for _, d := range e.deliveries() {
		attempts += d.Attempts
		if d.Response == nil || len(*d.Response) != 0 {
			t.Fatalf("a succeeded delivery keeps the body of its 204: %+v", d)
		}
	}
	if attempts != 7 {
		t.Fatalf("deliveries count %d attempts, want 7", attempts)
	}
}

func TestLoopbackEndpointIsRefusedUnlessAllowed(t *testing.T) {
	e := newEnv(t)
	rc := &receiver{accepted: map[string]int{}, bodies: map[string]events.Envelope{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.fx.Webhook(e.org, fixture.Webhook{URL: srv.URL + "/hook", Events: []string{"turn.failed"}})
	if err := e.st.Emit(context.Background(), e.org, events.TurnFailed{ConversationID: e.conv}); err != nil {
		t.Fatal(err)
	}
	e.start(webhooks.Options{}, time.Minute)
	testkit.Eventually(t, "the attempt recorded refused", func() bool {
		ds := e.deliveries()
		return len(ds) == 1 && ds[0].Attempts >= 1 && ds[0].LastError != nil
	})
	d := e.deliveries()[0]
	if !strings.Contains(*d.LastError, "non-public") && !strings.Contains(*d.LastError, "url ") {
		t.Fatalf("last error = %q, want a refusal", *d.LastError)
	}
	if calls, _, _ := rc.snapshot(); calls != 0 {
		t.Fatalf("a refused endpoint received %d requests", calls)
	}
}

// A process killed mid-delivery leaves its job running under its name; another process's
// River rescues it and delivers, under the same webhook-id.
func TestDeliveryOfAKilledProcessIsPickedUpByAnother(t *testing.T) {
	e := newEnv(t)
	rc := &receiver{accepted: map[string]int{}, bodies: map[string]events.Envelope{}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	e.fx.Webhook(e.org, fixture.Webhook{URL: srv.URL + "/hook", Events: []string{"turn.failed"}})
	if err := e.st.Emit(context.Background(), e.org, events.TurnFailed{ConversationID: e.conv}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(context.Background(), `UPDATE river_job SET state = 'running', attempt = 1,
		attempted_at = now() - interval '1 hour', attempted_by = ARRAY['dead-process']
		WHERE kind = 'webhook_delivery'`); err != nil {
		t.Fatal(err)
	}
	e.start(webhooks.Options{AllowPrivateURLs: true}, 15*time.Second)
	testkit.Eventually(t, "the rescued delivery accepted", func() bool {
		_, _, acc := rc.snapshot()
		return len(acc) == 1
	})
	testkit.Eventually(t, "the delivery recorded succeeded", func() bool {
		ds := e.deliveries()
		return len(ds) == 1 && ds[0].Status == "succeeded"
	})
}
