package admin

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/store"
)

// Paging rules of ADMIN-API §1.6.
const (
	defaultLimit   = 50
	maxLimit       = 200
	maxCursorChars = 512
)

// cursor is a keyset position, bound to its endpoint and filter values. It carries a
// position only, never authority: every page is filtered by the caller's org.
type cursor struct {
	E string  `json:"e"`           // endpoint
	F string  `json:"f,omitempty"` // digest of the filter values
	T string  `json:"t,omitempty"` // timestamp, RFC 3339 with nanoseconds
	N *string `json:"n,omitempty"` // name, for name-ordered lists (absent when too long)
	I string  `json:"i,omitempty"` // id
	S *int64  `json:"s,omitempty"` // sequence
}

// page is a parsed limit and cursor: a keyset position, or a number of rows to skip when
// the cursor was an offset (the smooth-operator dialect). It remembers its endpoint and
// filters to build the next page's cursor.
type page struct {
	limit    int
	offset   int  // rows to skip
	byOffset bool // the cursor was an offset: nextCursor is one too
	at       *time.Time
	id       uuid.NullUUID
	name     *string
	seq      *int64
	endpoint string
	filters  []string
}

// store returns the store position, fetching one extra row to learn whether more exist.
func (p page) store() store.Page {
	return store.Page{AfterAt: p.at, AfterName: p.name, AfterID: p.id, AfterSeq: p.seq,
		Offset: int32(p.offset), Limit: int32(p.limit + 1)}
}

// next is the page's nextCursor: null when no more rows existed; after an offset request
// the next offset as a JSON integer; otherwise an opaque cursor positioned after the last
// row shown, which last builds.
func (p page) next(more bool, last func() cursor) any {
	switch {
	case !more:
		return nil
	case p.byOffset:
		return p.offset + p.limit
	}
	return nextCursor(p.endpoint, p.filters, last())
}

var errBadCursor = api.Validation("cursor", "cursor is not valid for this request")

var errDeepOffset = api.Validation("cursor", "cursor offset must be at most "+strconv.Itoa(store.MaxOffset)+
	": an offset reads every row it skips, so page further with opaque cursors (start without a cursor and pass back each nextCursor)")

func filterDigest(endpoint string, filters []string) string {
	sum := sha256.Sum256([]byte(endpoint + "\x00" + strings.Join(filters, "\x00")))
	return base64.RawURLEncoding.EncodeToString(sum[:6])
}

// isOffset reports whether a cursor is a decimal row offset rather than an opaque cursor
// (those are base64url JSON objects and never all digits).
func isOffset(raw string) bool {
	return raw != "" && strings.Trim(raw, "0123456789") == ""
}

// parsePage reads limit and cursor. kind says which position fields the endpoint's cursor
// must hold: "t" (timestamp, id), "n" (name, id), "s" (sequence) or "k" (a key alone, read
// by keyPage). A cursor that is a non-negative integer is an offset instead, on every list.
func parsePage(q map[string]string, endpoint, kind string, filters ...string) (page, error) {
	p := page{limit: defaultLimit, endpoint: endpoint, filters: filters}
	if raw, ok := q["limit"]; ok {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 1 || n > maxLimit || strconv.Itoa(n) != raw {
			return p, api.Validation("limit", "limit must be an integer from 1 to 200")
		}
		p.limit = n
	}
	raw, ok := q["cursor"]
	if !ok {
		return p, nil
	}
	if len(raw) > maxCursorChars {
		return p, api.Validation("cursor", "cursor must be at most 512 characters")
	}
	if isOffset(raw) {
		n, err := strconv.Atoi(raw)
		switch {
		case err != nil && errors.Is(err, strconv.ErrRange), err == nil && n > store.MaxOffset:
			return p, errDeepOffset
		case err != nil || strconv.Itoa(n) != raw: // leading zeros
			return p, errBadCursor
		}
		p.offset, p.byOffset = n, true
		return p, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil {
		return p, errBadCursor
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.E != endpoint || c.F != filterDigest(endpoint, filters) {
		return p, errBadCursor
	}
	switch kind {
	case "t":
		t, err := time.Parse(time.RFC3339Nano, c.T)
		id, ierr := uuid.Parse(c.I)
		if err != nil || ierr != nil {
			return p, errBadCursor
		}
		p.at, p.id = &t, uuid.NullUUID{UUID: id, Valid: true}
	case "n":
		id, err := uuid.Parse(c.I)
		if err != nil {
			return p, errBadCursor
		}
		p.name, p.id = c.N, uuid.NullUUID{UUID: id, Valid: true}
	case "s":
		if c.S == nil {
			return p, errBadCursor
		}
		p.seq = c.S
	case "k":
		if c.N == nil || *c.N == "" {
			return p, errBadCursor
		}
		p.name = c.N
	}
	return p, nil
}

func encodeCursor(c cursor) string {
	b, _ := json.Marshal(c) // a cursor always encodes
	return base64.RawURLEncoding.EncodeToString(b)
}

// nextCursor builds the cursor after the last shown row. For name-ordered lists a name too
// long for the 512-character limit is left out; the list then reads it from the row.
func nextCursor(endpoint string, filters []string, last cursor) *string {
	last.E, last.F = endpoint, filterDigest(endpoint, filters)
	s := encodeCursor(last)
	if len(s) > maxCursorChars && last.N != nil {
		last.N = nil
		s = encodeCursor(last)
	}
	return &s
}

// trim cuts a fetched page to the limit and reports whether more rows exist.
func trim[T any](rows []T, limit int) ([]T, bool) {
	if len(rows) > limit {
		return rows[:limit], true
	}
	return rows, false
}

func timeCursor(t time.Time, id uuid.UUID) cursor {
	return cursor{T: t.UTC().Format(time.RFC3339Nano), I: id.String()}
}
