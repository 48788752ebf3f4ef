// Package webhooks delivers events (package events) to the HTTP endpoints orgs register
// (ADMIN-API §12): one River job per event and endpoint, signed per the Standard Webhooks
// specification, at least once, retried with exponential backoff over about a day.
//
// It must never send a request to an address the SSRF guard refuses (netguard, on the URL
// and on every redirect), never follow a redirect other than 307 and 308, never keep more
// than 1 KiB of a response, and never log or return a signing secret.
package webhooks

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

// Production settings.
const (
	// DefaultTimeout bounds one delivery request, redirects included.
	DefaultTimeout = 10 * time.Second
	// DefaultDisableAfter: an endpoint whose deliveries have failed for this long, without a
	// success in between, is disabled.
	DefaultDisableAfter = 72 * time.Hour
	// DefaultWorkers deliver at once on each process.
	DefaultWorkers = 4
	// MaxResponseBytes of a response body are kept with the delivery.
	MaxResponseBytes = 1024
	// maxRedirects a delivery follows (307 and 308 only).
	maxRedirects = 5
)

// Options configure a Service. Zero values take the defaults above.
type Options struct {
	Logger *slog.Logger
	// AllowPrivateURLs is SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS.
	AllowPrivateURLs bool
	Workers          int
	Timeout          time.Duration
	DisableAfter     time.Duration
	// RetryDelay, when set, replaces the backoff between attempts (tests).
	RetryDelay time.Duration
	// Transport, when set, replaces the guarded transport; the URL checks stay (tests).
	Transport http.RoundTripper
}

// Service delivers webhooks on a process's jobs.Runner.
type Service struct {
	st     *store.Store
	box    *seal.Box
	log    *slog.Logger
	opts   Options
	client *http.Client
}

// New builds a Service and registers its queue and delivery worker on r.
func New(st *store.Store, r *jobs.Runner, box *seal.Box, opts Options) (*Service, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.DisableAfter <= 0 {
		opts.DisableAfter = DefaultDisableAfter
	}
	if jobTimeout(opts.Timeout) > r.RescueStuckJobsAfter() {
		return nil, fmt.Errorf("webhooks: delivery timeout %s must stay below the stuck-job rescue %s", opts.Timeout, r.RescueStuckJobsAfter())
	}
	s := &Service{st: st, box: box, log: opts.Logger, opts: opts}
	s.client = s.newClient()
	if err := r.Queue(events.DeliveryQueue, opts.Workers); err != nil {
		return nil, err
	}
	if err := jobs.Add(r, &deliveryWorker{s: s}); err != nil {
		return nil, err
	}
	return s, nil
}

// jobTimeout bounds an attempt: the request, and the reads and writes around it.
func jobTimeout(request time.Duration) time.Duration { return request + 10*time.Second }

// SecretPrefix starts every signing secret (Standard Webhooks).
const SecretPrefix = "whsec_"

// NewSecret returns a fresh signing secret: whsec_ and the base64 of 32 random bytes.
func NewSecret() string {
	key := make([]byte, 32)
	_, _ = rand.Read(key) // crypto/rand.Read never fails (Go 1.24)
	return SecretPrefix + base64.StdEncoding.EncodeToString(key)
}

// SecretAAD binds an endpoint's sealed secret to its row.
func SecretAAD(orgID, endpointID uuid.UUID) []byte {
	return seal.AAD("webhook_endpoints", "secret_ciphertext", orgID, endpointID)
}

// Sign returns the webhook-signature header value of a message: v1, and the base64 of the
// HMAC-SHA256, keyed with the secret's decoded bytes, of "<id>.<timestamp>.<body>".
func Sign(secret, id string, timestamp int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhooks: malformed signing secret")
	}
	return "v1," + base64.StdEncoding.EncodeToString(hmacSHA256(key, fmt.Appendf(nil, "%s.%d.%s", id, timestamp, body))), nil
}

// Backoff is the delay before retry n (n = 1 after the first failed attempt): 10 s times 3
// to the power n-1, at most 6 hours, give or take 10 %. With events.DeliveryMaxAttempts
// attempts the last comes about 27 hours after the first.
func Backoff(n int) time.Duration {
	d := 6 * time.Hour
	if n <= 9 { // 10 s × 3^8 is past the cap already
		d = min(10*time.Second*time.Duration(math.Pow(3, float64(max(n-1, 0)))), d)
	}
	jitter := 0.9 + 0.2*mrand.Float64() //nolint:gosec // jitter spreads retries; it guards nothing
	return time.Duration(float64(d) * jitter)
}
