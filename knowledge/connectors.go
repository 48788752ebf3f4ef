package knowledge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/store"
)

// Connector is a connector as the API shows it (§9.11). Config is the stored, normalised
// config object of its kind (for web, a WebConfig with every key present) plus the keys
// the API derives from it (for web, url).
type Connector struct {
	ID          uuid.UUID
	Name        string
	Kind        string
	Config      json.RawMessage
	DocumentSet string
	Enabled     bool
	Schedule    *string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ConnectorKey is a keyset position in the connector list (name case-insensitively,
// then id).
type ConnectorKey struct {
	Name string
	ID   uuid.UUID
}

// Key is the position just after c.
func (c Connector) Key() ConnectorKey { return ConnectorKey{Name: c.Name, ID: c.ID} }

func connectorFromDB(c db.Connector) Connector {
	return Connector{
		ID: c.ID, Name: c.Name, Kind: c.Kind, Config: canonicalConfig(c.Kind, c.Config), DocumentSet: c.DocumentSet,
		Enabled: c.Enabled, Schedule: c.Schedule, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
	}
}

// canonicalConfig re-encodes a stored config as the API shows it, in its kind's key order
// (jsonb does not keep the order it was written in).
func canonicalConfig(kind string, raw json.RawMessage) json.RawMessage {
	if kind != KindWeb {
		return raw
	}
	var c WebConfig
	if json.Unmarshal(raw, &c) != nil {
		return raw
	}
	b, err := json.Marshal(c.view())
	if err != nil {
		return raw
	}
	return b
}

// CreateConnector validates and stores a connector with its connector.create audit row.
// Without a document set it targets DefaultSetName of its name. Errors: *FieldError (the
// reserved kind github with MsgGitHubUnsupported at "kind", the kind file, unknown config
// keys at "config.<key>", private URLs, bad schedule), ErrConflict when the name is taken
// in the org.
func (s *Service) CreateConnector(ctx context.Context, orgID uuid.UUID, in ConnectorInput, m store.Meta) (Connector, error) {
	w, fe := validateConnector(in, s.opts.AllowPrivateURLs)
	if fe != nil {
		return Connector{}, fe
	}
	if w.set == "" {
		w.set = DefaultSetName(w.name)
	}
	fields := []string{"name", "kind", "config", "documentSet"}
	if in.Enabled != nil {
		fields = append(fields, "enabled")
	}
	if in.Schedule != nil {
		fields = append(fields, "schedule")
	}
	var c db.Connector
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		var err error
		c, err = tx.CreateConnector(ctx, orgID, db.ConnectorCreateParams{
			Name: w.name, Kind: w.kind, Config: w.config, DocumentSet: w.set,
			Enabled: w.enabled, Schedule: w.schedule,
		})
		if err != nil {
			return err
		}
		if _, err := tx.EnsureDocumentSet(ctx, orgID, w.set); err != nil {
			return fmt.Errorf("ensure set: %w", err)
		}
		return tx.Audit(ctx, orgID, m, "connector.create", "connector", c.ID.String(), map[string]any{"fields": fields})
	})
	if err != nil {
		return Connector{}, fmt.Errorf("create connector: %w", err)
	}
	return connectorFromDB(c), nil
}

// UpdateConnector replaces a connector (PUT semantics: omitted optional fields take
// their defaults, except an omitted document set, which keeps the current one) with its
// connector.update audit row listing the changed fields.
// Validation comes first; then an unknown or foreign id is ErrNotFound; then a changed
// kind is a *FieldError at "kind".
func (s *Service) UpdateConnector(ctx context.Context, orgID, id uuid.UUID, in ConnectorInput, m store.Meta) (Connector, error) {
	w, fe := validateConnector(in, s.opts.AllowPrivateURLs)
	if fe != nil {
		return Connector{}, fe
	}
	var c db.Connector
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		old, err := tx.LockConnector(ctx, orgID, id)
		if err != nil {
			return err
		}
		if old.Kind != w.kind {
			return fieldErr("kind", "kind cannot be changed (connector is '"+old.Kind+"')")
		}
		if w.set == "" {
			w.set = old.DocumentSet
		}
		c, err = tx.UpdateConnector(ctx, orgID, db.ConnectorUpdateParams{
			ID: id, Name: w.name, Config: w.config, DocumentSet: w.set,
			Enabled: w.enabled, Schedule: w.schedule,
		})
		if err != nil {
			return err
		}
		if _, err := tx.EnsureDocumentSet(ctx, orgID, w.set); err != nil {
			return fmt.Errorf("ensure set: %w", err)
		}
		return tx.Audit(ctx, orgID, m, "connector.update", "connector", id.String(),
			map[string]any{"fields": changedFields(old, c)})
	})
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return Connector{}, fe
		}
		return Connector{}, fmt.Errorf("update connector %s: %w", id, err)
	}
	return connectorFromDB(c), nil
}

func changedFields(a, b db.Connector) []string {
	out := []string{}
	if a.Name != b.Name {
		out = append(out, "name")
	}
	if !jsonEqual(a.Config, b.Config) {
		out = append(out, "config")
	}
	if a.DocumentSet != b.DocumentSet {
		out = append(out, "documentSet")
	}
	if a.Enabled != b.Enabled {
		out = append(out, "enabled")
	}
	if (a.Schedule == nil) != (b.Schedule == nil) || (a.Schedule != nil && *a.Schedule != *b.Schedule) {
		out = append(out, "schedule")
	}
	return out
}

func jsonEqual(a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	xa, _ := json.Marshal(x)
	ya, _ := json.Marshal(y)
	return bytes.Equal(xa, ya)
}

// GetConnector returns one connector of the org.
func (s *Service) GetConnector(ctx context.Context, orgID, id uuid.UUID) (Connector, error) {
	c, err := s.st.GetConnector(ctx, orgID, id)
	if err != nil {
		return Connector{}, fmt.Errorf("get connector %s: %w", id, err)
	}
	return connectorFromDB(c), nil
}

// ListConnectors lists the org's connectors by name case-insensitively, then id, after
// the keyset position after (nil: first page), skipping offset rows.
func (s *Service) ListConnectors(ctx context.Context, orgID uuid.UUID, after *ConnectorKey, limit, offset int) (cs []Connector, more bool, err error) {
	limit = clampLimit(limit)
	p := db.ConnectorListParams{Lim: int32(limit + 1), Off: clampOffset(offset)}
	if after != nil {
		name := after.Name
		p.AfterName = &name
		p.AfterID = uuid.NullUUID{UUID: after.ID, Valid: true}
	}
	rows, err := s.st.ListConnectors(ctx, orgID, p)
	if err != nil {
		return nil, false, fmt.Errorf("list connectors: %w", err)
	}
	if len(rows) > limit {
		rows, more = rows[:limit], true
	}
	cs = make([]Connector, len(rows))
	for i, r := range rows {
		cs[i] = connectorFromDB(r)
	}
	return cs, more, nil
}

// DeleteConnector deletes a connector in one transaction with the documents (and chunks)
// it produced, marks its queued or running runs cancelled (a worker on one stops at its
// next step and writes nothing more; run rows are kept), and writes connector.delete.
func (s *Service) DeleteConnector(ctx context.Context, orgID, id uuid.UUID, m store.Meta) error {
	err := s.st.InTx(ctx, func(tx *store.Tx) error {
		if _, err := tx.LockConnector(ctx, orgID, id); err != nil {
			return err
		}
		if err := tx.CancelConnectorRuns(ctx, orgID, id); err != nil {
			return fmt.Errorf("cancel runs: %w", err)
		}
		// Documents (pending and indexed) and their chunks go with the connector (ON DELETE
		// CASCADE on documents.connector_id and chunks.document_id).
		n, err := tx.DeleteConnector(ctx, orgID, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "connector.delete", "connector", id.String(), nil)
	})
	if err != nil {
		return fmt.Errorf("delete connector %s: %w", id, err)
	}
	return nil
}

// IndexConnector queues a run of the connector now, enabled or not (§9.11). When the
// connector already has a queued or running run, that run is returned with created
// false, and nothing is written. Otherwise a new queued run is returned with created true
// and a connector.index audit row. Errors: ErrNotFound, ErrQueueFull.
func (s *Service) IndexConnector(ctx context.Context, orgID, id uuid.UUID, m store.Meta) (run Run, created bool, err error) {
	err = s.st.InTx(ctx, func(tx *store.Tx) error {
		c, err := tx.LockConnector(ctx, orgID, id)
		if err != nil {
			return err
		}
		active, err := tx.ActiveRunForConnector(ctx, orgID, id)
		if err == nil {
			run = runFromDB(active)
			run.ConnectorName = &c.Name
			return nil
		}
		if !isNotFound(err) {
			return fmt.Errorf("active run: %w", err)
		}
		r, err := s.createRun(ctx, tx, orgID, &c.ID, c.DocumentSet, 0)
		if err != nil {
			return err
		}
		run, created = runFromDB(r), true
		run.ConnectorName = &c.Name
		return tx.Audit(ctx, orgID, m, "connector.index", "connector", id.String(), map[string]any{"runId": r.ID.String()})
	})
	if err != nil {
		return Run{}, false, fmt.Errorf("index connector %s: %w", id, err)
	}
	return run, created, nil
}
