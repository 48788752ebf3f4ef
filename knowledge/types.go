package knowledge

import (
	"errors"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

var (
	// ErrNotFound: an unknown id or name, or one of another org (never told apart).
	ErrNotFound = store.ErrNotFound
	// ErrConflict: a connector name is taken in the org.
	ErrConflict = store.ErrConflict
	// ErrQueueFull: the org already has its maximum of queued runs (ADMIN-API §1.8);
	// the API answers 429 RATE_LIMITED.
	ErrQueueFull = errors.New("too many queued indexing runs")
)

// FieldError is a validation failure attributable to one input, named by its JSON path
// (documents[0].content, config.urls[2], name). The API answers it with
// VALIDATION_ERROR, error.field = Field and error.message = Message.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

func fieldErr(field, msg string) *FieldError { return &FieldError{Field: field, Message: msg} }

// Run statuses.
const (
	StatusQueued    = "queued"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusCancelled = "cancelled"
)

// Statuses lists every run status, for filter validation.
var Statuses = []string{StatusQueued, StatusRunning, StatusSucceeded, StatusFailed, StatusCancelled}

// Run is an indexing run (ADMIN-API §9.12). Counts cover the work the run has done up to
// and including its latest attempt; StartedAt is when the latest attempt started.
type Run struct {
	ID               uuid.UUID
	ConnectorID      *uuid.UUID
	ConnectorName    *string // the connector's current name; nil for ingestion runs and deleted connectors
	DocumentSet      string
	Status           string
	CreatedAt        time.Time
	StartedAt        *time.Time
	FinishedAt       *time.Time
	DocumentsSeen    int
	DocumentsIndexed int
	ChunksIndexed    int
	DocumentsSkipped int
	Error            *string
}

// RunKey is a keyset position in the runs list (createdAt descending, id descending).
type RunKey struct {
	CreatedAt time.Time
	ID        uuid.UUID
}

// Key is the position just after r.
func (r Run) Key() RunKey { return RunKey{CreatedAt: r.CreatedAt, ID: r.ID} }

// RunFilter narrows ListRuns; zero values mean no filter.
type RunFilter struct {
	ConnectorID *uuid.UUID
	Status      string
}

func runFromDB(r db.IndexingRun) Run {
	out := Run{
		ID: r.ID, DocumentSet: r.DocumentSet, Status: r.Status, CreatedAt: r.CreatedAt,
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt,
		DocumentsSeen: int(r.DocumentsSeen), DocumentsIndexed: int(r.DocumentsIndexed),
		ChunksIndexed: int(r.ChunksIndexed), DocumentsSkipped: int(r.DocumentsSkipped), Error: r.Error,
	}
	if r.ConnectorID.Valid {
		id := r.ConnectorID.UUID
		out.ConnectorID = &id
	}
	return out
}

// ACL decides which chat sessions may retrieve a document (ADMIN-API §9.10). Stored and
// returned normalised: every user entry carries its prefix (jwt: or ctx:), lists are
// never null, duplicates are dropped.
type ACL struct {
	Public bool     `json:"public"`
	Users  []string `json:"users"`
	Groups []string `json:"groups"`
}

// DocumentInput is one document submitted for ingestion.
type DocumentInput struct {
	ID      string // "" means generate a UUID
	Title   string
	URL     *string
	Content string
	ACL     *ACL // nil: visible to every session of the org
}

// Document is an indexed document as the API lists it; content is never returned.
type Document struct {
	ID           string
	DocumentSet  string
	Title        string
	URL          *string
	ACL          *ACL
	ConnectorID  *uuid.UUID
	ContentBytes int
	ChunkCount   int
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// DocumentSet is a set with its count of indexed documents; UpdatedAt is the latest
// document change in the set, nil when it holds none.
type DocumentSet struct {
	Name          string
	DocumentCount int64
	UpdatedAt     *time.Time
}

func nullableUUID(u uuid.NullUUID) *uuid.UUID {
	if !u.Valid {
		return nil
	}
	id := u.UUID
	return &id
}

func toNullUUID(u *uuid.UUID) uuid.NullUUID {
	if u == nil {
		return uuid.NullUUID{}
	}
	return uuid.NullUUID{UUID: *u, Valid: true}
}

// asTime reads a nullable timestamptz that sqlc could not type.
func asTime(v any) *time.Time {
	if t, ok := v.(time.Time); ok {
		t = t.UTC()
		return &t
	}
	return nil
}
