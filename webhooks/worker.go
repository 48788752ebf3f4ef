package webhooks

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/events"
	"github.com/switchboard-dev/switchboard/netguard"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/version"
)

// deliveryWorker makes one attempt of a delivery per River attempt.
type deliveryWorker struct {
	river.WorkerDefaults[events.DeliveryArgs]
	s *Service
}

func (w *deliveryWorker) Timeout(*river.Job[events.DeliveryArgs]) time.Duration {
	return jobTimeout(w.s.opts.Timeout)
}

func (w *deliveryWorker) NextRetry(job *river.Job[events.DeliveryArgs]) time.Time {
	if d := w.s.opts.RetryDelay; d > 0 {
		return time.Now().Add(d)
	}
	return time.Now().Add(Backoff(job.Attempt))
}

// errAttempt is a failed attempt, already recorded; River retries the job.
var errAttempt = errors.New("webhook delivery failed")

// Work makes the attempt and records it. The outcome, in River's terms: nil when the
// delivery succeeded or has nothing left to do; an error to retry; JobCancel when the
// endpoint was disabled by this failure.
func (w *deliveryWorker) Work(ctx context.Context, job *river.Job[events.DeliveryArgs]) error {
	s, org, id := w.s, job.Args.OrgID, job.Args.DeliveryID
	log := s.log.With("org_id", org, "delivery_id", id, "attempt", job.Attempt)
	d, err := s.st.WebhookDeliveryForWork(ctx, org, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil // its endpoint was deleted
	}
	if err != nil {
		return err
	}
	if d.Status != "pending" {
		return nil // a retry already finished it
	}
	bg, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	disableBefore := time.Now().Add(-s.opts.DisableAfter)
	if !d.Enabled && d.Type != testEventType {
		msg := "endpoint disabled; nothing was sent"
		_, err := s.st.RecordWebhookDelivery(bg, org, d.EndpointID, id, store.DeliveryOutcome{Status: "failed", Error: &msg}, disableBefore)
		return err
	}
	res := s.attempt(ctx, d.EndpointID, org, d.SecretCiphertext, d.Url, d.EventID.String(), events.Envelope{
		Type: events.Type(d.Type), Timestamp: d.EventCreatedAt.UTC(), Data: d.Data,
	})
	if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		// This process is stopping: River hands the job on without counting the attempt.
		return ctx.Err()
	}
	out := store.DeliveryOutcome{Status: "succeeded", Attempted: true, StatusCode: res.status, Response: res.body}
	if res.err != "" {
		out.Status, out.Error = "pending", &res.err
		if job.Attempt >= job.MaxAttempts {
			out.Status = "failed"
		}
	}
	disabled, err := s.st.RecordWebhookDelivery(bg, org, d.EndpointID, id, out, disableBefore)
	if err != nil {
		return err
	}
	switch {
	case res.err == "":
		return nil
	case disabled:
		log.Warn("webhook endpoint disabled: its deliveries failed for too long", "endpoint_id", d.EndpointID)
		return river.JobCancel(fmt.Errorf("%w: %s", errAttempt, res.err))
	}
	log.Info("webhook delivery attempt failed", "endpoint_id", d.EndpointID, "err", res.err)
	return fmt.Errorf("%w: %s", errAttempt, res.err)
}

// testEventType is what POST /admin/webhooks/{id}/test sends; it is delivered to a disabled
// endpoint too, so that an admin can check it before enabling it.
const testEventType = "webhook.test"

// result is one attempt's outcome: err is empty on success (a 2xx answer).
type result struct {
	status *int32
	body   *string
	err    string
}

// attempt sends one signed request.
func (s *Service) attempt(ctx context.Context, endpointID, orgID uuid.UUID, sealed []byte, url, msgID string, env events.Envelope) result {
	secret, err := s.box.Open(sealed, SecretAAD(orgID, endpointID))
	if err != nil {
		return result{err: "the signing secret cannot be opened with this server's encryption key"}
	}
	if err := netguard.ValidateURL(url, s.opts.AllowPrivateURLs); err != nil {
		return result{err: "url " + err.Error()}
	}
	body, err := json.Marshal(env)
	if err != nil {
		return result{err: "internal error"}
	}
	ts := time.Now().Unix()
	sig, err := Sign(string(secret), msgID, ts, body)
	if err != nil {
		return result{err: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return result{err: "url is not a valid request target"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Switchboard-Webhooks/"+version.Version)
	req.Header.Set("webhook-id", msgID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := s.client.Do(req)
	if err != nil {
		return result{err: requestError(ctx, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	kept := readKept(resp.Body)
	code := int32(resp.StatusCode)
	r := result{status: &code, body: &kept}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		r.err = "endpoint answered HTTP " + strconv.Itoa(resp.StatusCode)
	}
	return r
}

// readKept reads at most MaxResponseBytes of a body, cut back to whole UTF-8 characters and
// with invalid bytes replaced, so it can be stored as text.
func readKept(r io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(r, MaxResponseBytes))
	s := strings.ToValidUTF8(string(b), "\uFFFD")
	for len(s) > MaxResponseBytes { // a replacement character is 3 bytes
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// requestError is a failed request's cause as the delivery shows it: never more of the URL
// than netguard allows.
func requestError(ctx context.Context, err error) string {
	switch {
	case errors.Is(err, netguard.ErrRefusedAddress):
		return "refused: the endpoint resolves to a non-public address (SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS)"
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return "endpoint did not answer within the timeout"
	}
	var re *redirectError
	if errors.As(err, &re) {
		return re.msg
	}
	return "request failed: could not connect to the endpoint"
}

// redirectError is why a redirect was not followed.
type redirectError struct{ msg string }

func (e *redirectError) Error() string { return e.msg }

// newClient is the delivery client: the guarded transport (every dial checked), no proxy,
// and a redirect policy that follows only 307 and 308 (which keep the method and the signed
// body), at most maxRedirects times, each target checked as the URL was.
func (s *Service) newClient() *http.Client {
	var rt http.RoundTripper = netguard.Transport(s.opts.AllowPrivateURLs)
	if s.opts.Transport != nil {
		rt = s.opts.Transport
	}
	return &http.Client{
		Transport: rt,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if c := req.Response.StatusCode; c != http.StatusTemporaryRedirect && c != http.StatusPermanentRedirect {
				return http.ErrUseLastResponse // recorded as the failed answer it is
			}
			if len(via) > maxRedirects {
				return &redirectError{msg: "redirect refused: more than " + strconv.Itoa(maxRedirects) + " redirects"}
			}
			if err := netguard.ValidateURL(req.URL.String(), s.opts.AllowPrivateURLs); err != nil {
				return &redirectError{msg: "redirect refused: target " + err.Error()}
			}
			return nil
		},
	}
}

func hmacSHA256(key, msg []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return m.Sum(nil)
}
