package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
)

// JWKS cache rules of ADMIN-API §2.3.
const (
	jwksFetchTimeout = 5 * time.Second
	jwksMaxBytes     = 256 << 10
	jwksDefaultTTL   = 5 * time.Minute
	jwksMinTTL       = time.Minute
	jwksMaxTTL       = time.Hour
	// At most one unknown-kid refetch per period per process.
	jwksUnknownKidPeriod = 30 * time.Second
	// After a failed fetch, a stale set is not refreshed in the background
	// again before this, so a JWKS outage is not hit by every request.
	jwksRetryAfterFailure = 30 * time.Second

	maxLoggedKidChars = 128
)

// jwksCache holds the JWK Set of AUTH_JWKS_URL. keyfunc/v3 and jwkset's own
// HTTP client refresh on a fixed interval and rate-limit unknown kids
// differently, so the fetching and caching rules live here; jwkset only
// parses and validates each key.
type jwksCache struct {
	url    string
	logURL string // without query or credentials
	client *http.Client
	log    *slog.Logger
	now    func() time.Time

	ctx    context.Context // parent of every fetch; cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup // one per running fetch goroutine

	mu           sync.Mutex
	set          *keySet    // nil until the first successful fetch
	expires      time.Time  // set is stale from then on
	retryAt      time.Time  // no background refresh before this
	inflight     *jwksFetch // the one running fetch, shared by all waiters
	lastKidFetch time.Time  // start of the last unknown-kid refetch
	closed       bool

	// onWait, when set by a test, is called each time a request starts
	// waiting for a fetch.
	onWait func()
}

type jwksFetch struct {
	done chan struct{} // closed once the result is in the cache
}

// jwk is one usable key of the set, with the algorithm it is pinned to.
type jwk struct {
	kid string
	alg string
	key any
}

type keySet struct {
	keys []jwk
}

func newJWKSCache(u *url.URL, client *http.Client, log *slog.Logger, now func() time.Time) *jwksCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &jwksCache{
		url:    u.String(),
		logURL: (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}).String(),
		client: client,
		log:    log,
		now:    now,
		ctx:    ctx,
		cancel: cancel,
	}
}

// initialFetch fetches the set at startup. A failure is logged by the fetch
// itself and is not fatal: the unknown-kid path fetches again on demand.
func (c *jwksCache) initialFetch(ctx context.Context) {
	c.mu.Lock()
	f := c.startLocked()
	c.mu.Unlock()
	c.wait(ctx, f)
}

func (c *jwksCache) close() {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// key returns the public key for a token's kid and alg, refetching the set
// once when the kid is unknown (subject to the 30 s limit).
func (c *jwksCache) key(ctx context.Context, kid, alg string) (any, error) {
	if key, miss, terr := c.current().find(kid, alg); !miss {
		return keyOrError(key, terr)
	}
	f := c.refetchForMiss()
	if f != nil && !c.wait(ctx, f) {
		return nil, InvalidToken("key set unavailable")
	}
	// Look again even without a refetch of our own: another request's may
	// have brought the key in the meantime.
	if key, miss, terr := c.snapshot().find(kid, alg); !miss {
		return keyOrError(key, terr)
	}
	// refetched is false when the 30 s limit held the refetch back.
	if kid == "" {
		c.log.Error("JWT without kid rejected: JWKS has no usable key", "jwks_url", c.logURL, "refetched", f != nil)
		return nil, InvalidToken("no usable key")
	}
	c.log.Error("JWT kid not found in JWKS", "kid", truncate(kid, maxLoggedKidChars), "jwks_url", c.logURL, "refetched", f != nil)
	return nil, InvalidToken("unknown kid")
}

func keyOrError(key any, terr *TokenError) (any, error) {
	if terr != nil {
		return nil, terr
	}
	return key, nil
}

// current returns the cached set and, when it is stale, starts a refresh in
// the background; requests keep using the stale set meanwhile.
func (c *jwksCache) current() *keySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if !now.Before(c.expires) && !now.Before(c.retryAt) {
		c.startLocked()
	}
	return c.set
}

func (c *jwksCache) snapshot() *keySet {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.set
}

// refetchForMiss returns the fetch an unknown kid waits for: the one already
// running, or a new one unless an unknown-kid refetch started less than 30 s
// ago, in which case it returns nil.
func (c *jwksCache) refetchForMiss() *jwksFetch {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inflight != nil {
		return c.inflight
	}
	now := c.now()
	if !c.lastKidFetch.IsZero() && now.Sub(c.lastKidFetch) < jwksUnknownKidPeriod {
		return nil
	}
	c.lastKidFetch = now
	return c.startLocked()
}

// startLocked returns the running fetch or starts one. c.mu must be held.
func (c *jwksCache) startLocked() *jwksFetch {
	if c.inflight != nil {
		return c.inflight
	}
	f := &jwksFetch{done: make(chan struct{})}
	if c.closed {
		close(f.done)
		return f
	}
	c.inflight = f
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		set, ttl, err := c.fetch()
		c.mu.Lock()
		now := c.now()
		if err != nil {
			// The previous set, stale or not, stays in use.
			c.retryAt = now.Add(jwksRetryAfterFailure)
		} else {
			c.set, c.expires, c.retryAt = set, now.Add(ttl), time.Time{}
		}
		c.inflight = nil
		c.mu.Unlock()
		if err != nil {
			c.log.Error("JWKS fetch failed, keeping the previous key set", "jwks_url", c.logURL, "error", err)
		}
		close(f.done)
	}()
	return f
}

// wait blocks until f is done or ctx ends; it reports whether f is done.
// The fetch itself is bound to the cache's context, not to ctx, so one
// request giving up does not cancel a fetch other requests share.
func (c *jwksCache) wait(ctx context.Context, f *jwksFetch) bool {
	if c.onWait != nil {
		c.onWait()
	}
	select {
	case <-f.done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (c *jwksCache) fetch() (*keySet, time.Duration, error) {
	ctx, cancel := context.WithTimeout(c.ctx, jwksFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		// url.Error repeats the full URL, query included; logURL names it.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, 0, fmt.Errorf("get: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwksMaxBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read body: %w", err)
	}
	if len(body) > jwksMaxBytes {
		return nil, 0, fmt.Errorf("body larger than %d bytes", jwksMaxBytes)
	}
	set, err := parseKeySet(body)
	if err != nil {
		return nil, 0, err
	}
	return set, cacheTTL(resp.Header.Values("Cache-Control")), nil
}

// cacheTTL is the Cache-Control max-age clamped to 60 s … 1 h, or 5 min when
// there is no usable max-age.
func cacheTTL(cacheControl []string) time.Duration {
	for _, header := range cacheControl {
		for _, directive := range strings.Split(header, ",") {
			name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
			if !strings.EqualFold(strings.TrimSpace(name), "max-age") {
				continue
			}
			secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(value), `"`), 10, 64)
			// Beyond int64 is still "very long" (RFC 9111 §1.2.2): ParseInt
			// then returns MaxInt64, which the clamp below turns into 1 h.
			if err != nil && !(errors.Is(err, strconv.ErrRange) && secs > 0) || secs < 0 {
				continue
			}
			switch {
			case secs < int64(jwksMinTTL/time.Second):
				return jwksMinTTL
			case secs > int64(jwksMaxTTL/time.Second):
				return jwksMaxTTL
			}
			return time.Duration(secs) * time.Second
		}
	}
	return jwksDefaultTTL
}

// parseKeySet parses a JWK Set document, keeping only usable keys. A body
// that is not a JWK Set is an error, so the previous set stays in use.
func parseKeySet(body []byte) (*keySet, error) {
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("parse JWK Set: %w", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`parse JWK Set: no "keys" array`)
	}
	set := &keySet{}
	for _, raw := range doc.Keys {
		if k, ok := usableKey(raw); ok {
			set.keys = append(set.keys, k)
		}
	}
	return set, nil
}

// usableKey applies the JWKS row of the §2.3 key table: RSA of at least 2048
// bits pins RS256, EC P-256 pins ES256; any other key, a key whose alg is
// present and differs, and a key whose use is present and not "sig" are
// ignored. A key jwkset cannot parse or validate is ignored too.
func usableKey(raw json.RawMessage) (jwk, bool) {
	// use and key_ops are judged here, not by jwkset's registry check.
	j, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{SkipUse: true, SkipKeyOps: true})
	if err != nil {
		return jwk{}, false
	}
	m := j.Marshal()
	var alg string
	switch pub := j.Key().(type) {
	case *rsa.PublicKey:
		if m.KTY != jwkset.KtyRSA || pub.N.BitLen() < minRSABits {
			return jwk{}, false
		}
		alg = algRS256
	case *ecdsa.PublicKey:
		if m.KTY != jwkset.KtyEC || pub.Curve != elliptic.P256() {
			return jwk{}, false
		}
		alg = algES256
	default:
		return jwk{}, false
	}
	if m.ALG != "" && string(m.ALG) != alg {
		return jwk{}, false
	}
	if m.USE != "" && string(m.USE) != "sig" {
		return jwk{}, false
	}
	return jwk{kid: m.KID, alg: alg, key: j.Key()}, true
}

// find selects the key for a token. miss reports that the kid is not in the
// set (or, for a token without kid, that the set has no usable key), which
// is what triggers a refetch. Otherwise it returns the key or why the token
// cannot use it.
func (s *keySet) find(kid, alg string) (key any, miss bool, terr *TokenError) {
	var keys []jwk
	if s != nil {
		keys = s.keys
	}
	if kid == "" {
		switch len(keys) {
		case 0:
			return nil, true, nil
		case 1:
			if keys[0].alg != alg {
				return nil, false, InvalidToken("algorithm does not match key")
			}
			return keys[0].key, false, nil
		}
		return nil, false, InvalidToken("missing kid")
	}
	known := false
	for _, k := range keys {
		if k.kid != kid {
			continue
		}
		if k.alg == alg {
			return k.key, false, nil
		}
		known = true
	}
	if known {
		return nil, false, InvalidToken("algorithm does not match key")
	}
	return nil, true, nil
}

func truncate(s string, maxChars int) string {
	n := 0
	for i := range s {
		if n == maxChars {
			return s[:i] + "…"
		}
		n++
	}
	return s
}
