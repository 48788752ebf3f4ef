package admin

import (
	"errors"
	"mime"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin/reqjson"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/store"
)

// query reads the query string strictly (ADMIN-API §1.6): only allowed names, each at most
// once, none empty.
func query(c *fiber.Ctx, allowed ...string) (map[string]string, error) {
	raw := string(c.Request().URI().QueryString())
	out := map[string]string{}
	for _, part := range strings.Split(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		key, err1 := url.QueryUnescape(k)
		val, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, api.Validation("", "the query string is not validly percent-encoded")
		}
		field := reqjson.Quote(key)
		known := false
		for _, a := range allowed {
			if key == a {
				known = true
				break
			}
		}
		switch _, seen := out[key]; {
		case !known:
			return nil, api.Validation(key, "unknown query parameter "+field)
		case seen:
			return nil, api.Validation(key, "query parameter "+field+" is repeated")
		case val == "":
			return nil, api.Validation(key, "query parameter "+field+" must not be empty")
		}
		out[key] = val
	}
	return out, nil
}

// body reads the request body as one JSON object (ADMIN-API §5.1). The raw body is used:
// Content-Encoding is refused rather than inflated past the 2 MiB limit.
func body(c *fiber.Ctx) (*reqjson.Value, error) {
	raw := c.Request().Body()
	if len(raw) == 0 {
		return nil, api.Validation("", "request body must be a JSON object")
	}
	if err := bodyHeaders(c); err != nil {
		return nil, err
	}
	v, perr := reqjson.Parse(raw)
	if perr != nil {
		return nil, validation(perr)
	}
	return v, nil
}

// noBody accepts what an endpoint without a body may get: nothing, or {}.
func noBody(c *fiber.Ctx) error {
	if len(c.Request().Body()) == 0 {
		return nil
	}
	v, err := body(c)
	if err != nil {
		return err
	}
	if r := reqjson.NewReader(v); r.Err() != nil { // no field is allowed
		return validation(r.Err())
	}
	return nil
}

func bodyHeaders(c *fiber.Ctx) error {
	mt, _, err := mime.ParseMediaType(c.Get(fiber.HeaderContentType))
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return api.Validation("Content-Type", "Content-Type must be application/json")
	}
	if enc := strings.TrimSpace(c.Get(fiber.HeaderContentEncoding)); enc != "" && !strings.EqualFold(enc, "identity") {
		return api.Validation("", "Content-Encoding is not supported")
	}
	return nil
}

func validation(e *reqjson.Error) *api.Error { return api.Validation(e.Field, e.Message) }

// pathID parses a UUID path parameter. A malformed id is a 404 exactly like an unknown
// one (ADMIN-API §4.1), echoing what the caller sent.
func pathID(c *fiber.Ctx, param, what string) (uuid.UUID, error) {
	raw := c.Params(param)
	if s, ok := auth.IsUUID(raw); ok {
		return uuid.MustParse(s), nil
	}
	return uuid.Nil, notFound(what, raw)
}

// canonicalID is the lowercase form of a UUID, or s itself when it is not one (cursor
// filters are bound to the canonical form).
func canonicalID(s string) string {
	if id, ok := auth.IsUUID(s); ok {
		return id
	}
	return s
}

func notFound(what, raw string) *api.Error {
	return api.NotFound(what + " " + reqjson.Quote(raw) + " not found")
}

// storeError maps the store's sentinels for one resource; anything else is a 500.
func storeError(err error, what, raw string) error {
	switch {
	case errors.Is(err, store.ErrAgentNotFound) && what != "agent":
		return notFound("agent", raw)
	case errors.Is(err, store.ErrNotFound):
		return notFound(what, raw)
	}
	return err
}

func conflict(msg string) *api.Error { return &api.Error{Status: 409, Code: "CONFLICT", Message: msg} }
