package admin

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

const localPrincipal = "admin.principal"

// principal is the authenticated caller of one request.
type principal struct {
	auth.Principal
	org        uuid.UUID
	credential string // how logs may name the credential: never the credential itself
}

func principalOf(c *fiber.Ctx) *principal {
	p, _ := c.Locals(localPrincipal).(*principal)
	return p
}

// actor is the audit actor of a principal (ADMIN-API §8).
func (p *principal) actor() store.Actor {
	a := store.Actor{ID: p.UserID, Name: p.DisplayName}
	if a.Name == "" {
		a.Name = p.Email
	}
	switch p.AuthMethod {
	case auth.AuthMethodAPIKey:
		a.Type, a.ID = "apiKey", p.UserID[len("apikey:"):]
	case auth.AuthMethodDev:
		a.Type = "dev"
	default:
		a.Type = "user"
	}
	return a
}

// viewer is what conversation visibility compares (ADMIN-API §4.1). Only JWT principals
// have an identity; an API key (basic) participates in no conversation.
func (p *principal) viewer() store.Viewer {
	if p.Role.AtLeast(auth.RoleCurator) {
		return store.Viewer{All: true}
	}
	if p.AuthMethod != auth.AuthMethodJWT {
		return store.Viewer{}
	}
	return store.Viewer{Identity: "jwt:" + p.UserID, Email: p.Email}
}

func (h *handlers) meta(c *fiber.Ctx, p *principal) store.Meta {
	return store.Meta{Actor: p.actor(), RequestID: api.RequestID(c), IP: h.clientIP(c)}
}

var errUnauthenticated = &api.Error{Status: 401, Code: "UNAUTHENTICATED", Message: "authentication required: send Authorization: Bearer <token>"}

func tokenError(err error) *api.Error {
	var te *auth.TokenError
	if errors.As(err, &te) {
		return &api.Error{Status: 401, Code: te.Code, Message: te.Message}
	}
	return nil
}

// gate runs, in the precedence order of ADMIN-API §1.5, the per-IP failure block (429),
// authentication (401), the per-org rate (429) and the role check (403).
func (h *handlers) gate(min auth.Role) fiber.Handler {
	return func(c *fiber.Ctx) error {
		ip := h.clientIP(c)
		if wait, blocked := h.limits.ipBlocked(ip); blocked {
			h.log.Warn("admin request throttled: too many failed authentications",
				"request_id", api.RequestID(c), "ip", ip, "credential", maskBearer(c.Get(fiber.HeaderAuthorization)))
			return h.limits.rateLimited(c, limitAuthFailures, wait)
		}
		p, err := h.authenticate(c, ip)
		if err != nil {
			var ae *api.Error
			if errors.As(err, &ae) && ae.Status == fiber.StatusUnauthorized {
				h.limits.authFailed(ip)
			}
			return err
		}
		c.Locals(localPrincipal, p)
		if wait, ok := h.limits.orgAllow(p.org); !ok {
			h.log.Warn("admin request throttled: org rate limit",
				"request_id", api.RequestID(c), "org_id", p.org, "ip", ip, "credential", p.credential)
			return h.limits.rateLimited(c, limitOrgRequests, wait)
		}
		if !p.Role.AtLeast(min) {
			return &api.Error{Status: 403, Code: "FORBIDDEN", Message: auth.ForbiddenMessage(min, p.Role)}
		}
		return c.Next()
	}
}

// authenticate turns the bearer into a principal (ADMIN-API §2): sbk_ tokens are API keys
// in every mode; anything else follows AUTH_MODE.
func (h *handlers) authenticate(c *fiber.Ctx, ip string) (*principal, error) {
	tok, ok := auth.BearerToken(c.Get(fiber.HeaderAuthorization))
	if !ok {
		return nil, errUnauthenticated
	}
	ctx := c.UserContext()
	if auth.IsAPIKeyToken(tok) {
		return h.apiKeyPrincipal(ctx, tok)
	}
	switch h.d.AuthMode {
	case auth.ModeJWT:
		claims, err := h.d.Verifier.Verify(ctx, tok)
		if err != nil {
			if ae := tokenError(err); ae != nil {
				return nil, ae
			}
			return nil, err
		}
		p := claims.Principal("")
		m := store.Meta{Actor: (&principal{Principal: p}).actor(), RequestID: api.RequestID(c), IP: ip}
		org, err := h.resolveOrg(ctx, claims.Org, m)
		if err != nil {
			return nil, err
		}
		p.OrgID = org.String()
		return &principal{Principal: p, org: org, credential: "jwt sub=" + clip(claims.Subject)}, nil
	case auth.ModeNone:
		dev := auth.DevPrincipal("")
		m := store.Meta{Actor: (&principal{Principal: dev}).actor(), RequestID: api.RequestID(c), IP: ip}
		org, err := h.resolveOrg(ctx, h.cfg.Auth.DevOrg, m)
		if err != nil {
			return nil, err
		}
		dev.OrgID = org.String()
		return &principal{Principal: dev, org: org, credential: "dev"}, nil
	default:
		return nil, tokenError(auth.JWTNotConfigured())
	}
}

func (h *handlers) apiKeyPrincipal(ctx context.Context, tok string) (*principal, error) {
	if !auth.ValidAPIKeyFormat(tok) {
		return nil, tokenError(auth.InvalidToken("malformed API key"))
	}
	hash := auth.HashAPIKey(tok)
	row, err := h.st.APIKeyByHash(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, tokenError(auth.InvalidToken("unknown API key"))
	}
	if err != nil {
		return nil, err
	}
	if !auth.EqualHash(row.KeyHash, hash) {
		return nil, tokenError(auth.InvalidToken("unknown API key"))
	}
	role, ok := auth.ParseRole(row.Role)
	if !ok {
		return nil, errors.New("api key has an unknown stored role")
	}
	h.touchAPIKey(ctx, row)
	return &principal{
		Principal: auth.Principal{
			UserID: "apikey:" + row.ID.String(), OrgID: row.OrgID.String(), Role: role,
			DisplayName: row.Name, AuthMethod: auth.AuthMethodAPIKey,
		},
		org:        row.OrgID,
		credential: row.Prefix + "…" + row.Last4,
	}, nil
}

// maskBearer names a presented credential for a log line without revealing it.
func maskBearer(header string) string {
	tok, ok := auth.BearerToken(header)
	switch {
	case !ok:
		return "none"
	case auth.ValidAPIKeyFormat(tok):
		return tok[:8] + "…" + tok[len(tok)-4:]
	default:
		return "bearer"
	}
}

func clip(s string) string {
	if len([]rune(s)) > 64 {
		return string([]rune(s)[:64]) + "…"
	}
	return s
}

// orgCache remembers what org claims resolved to. A claim's org never changes once it
// exists (ids and external ids are immutable), so a hit is always right; the TTL only
// bounds how long an org deleted by an operator keeps being named.
type orgCache struct {
	mu      sync.Mutex
	entries map[string]orgEntry
}

type orgEntry struct {
	id      uuid.UUID
	expires time.Time
}

const (
	orgCacheTTL = 5 * time.Minute
	orgCacheMax = 10000
)

func newOrgCache() *orgCache { return &orgCache{entries: map[string]orgEntry{}} }

func (h *handlers) resolveOrg(ctx context.Context, claim string, m store.Meta) (uuid.UUID, error) {
	now := time.Now()
	h.orgs.mu.Lock()
	e, ok := h.orgs.entries[claim]
	h.orgs.mu.Unlock()
	if ok && now.Before(e.expires) {
		return e.id, nil
	}
	id, err := h.st.ResolveOrg(ctx, claim, true, m)
	if err != nil {
		return uuid.Nil, err
	}
	h.orgs.mu.Lock()
	if len(h.orgs.entries) >= orgCacheMax {
		clear(h.orgs.entries)
	}
	h.orgs.entries[claim] = orgEntry{id: id, expires: now.Add(orgCacheTTL)}
	h.orgs.mu.Unlock()
	return id, nil
}

// touchThrottle keeps API keys' last_used_at writes to about one per key per minute per
// instance, so authentication almost never waits on an UPDATE (the query's own condition
// makes it one per minute across instances).
type touchThrottle struct {
	mu   sync.Mutex
	last map[uuid.UUID]time.Time
}

func newTouchThrottle() *touchThrottle { return &touchThrottle{last: map[uuid.UUID]time.Time{}} }

const touchEvery = time.Minute

func (h *handlers) touchAPIKey(ctx context.Context, k db.ApiKey) {
	now := time.Now()
	if k.LastUsedAt != nil && now.Sub(*k.LastUsedAt) < touchEvery {
		return
	}
	t := h.touch
	t.mu.Lock()
	if now.Sub(t.last[k.ID]) < touchEvery {
		t.mu.Unlock()
		return
	}
	if len(t.last) >= orgCacheMax {
		clear(t.last)
	}
	t.last[k.ID] = now
	t.mu.Unlock()
	// Bounded and never fatal: a failed touch only leaves last_used_at older.
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	if err := h.st.TouchAPIKey(tctx, k.OrgID, k.ID); err != nil {
		h.log.Warn("touch api key", "org_id", k.OrgID, "api_key", k.Prefix+"…"+k.Last4, "err", err)
	}
}
