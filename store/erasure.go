package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/switchboard-dev/switchboard/db"
)

// EndUserRule is what erasing an end user's data (or one conversation) does to the rows of a
// tenant table (ADMIN-API §9.17).
type EndUserRule string

const (
	// EndUserDeleted: the rows of the erased conversations are deleted.
	EndUserDeleted EndUserRule = "deleted"
	// EndUserScrubbed: the rows stay, and what ties them to the erased data is cleared.
	EndUserScrubbed EndUserRule = "scrubbed"
	// OrgDataOnly: the table holds the org's own configuration or totals, nothing an end user
	// wrote or that names one.
	OrgDataOnly EndUserRule = "org data"
)

// TenantTable is one table with an org_id column and what erasure does to it.
type TenantTable struct {
	Name    string
	EndUser EndUserRule
	How     string
}

// TenantTables is every table with an org_id column, with its erasure rule. Deleting an org
// (DeleteOrg) deletes every row of every one of them: each references orgs ON DELETE CASCADE
// or, like messages, a table that does. A test reads the catalog and fails when a table with
// an org_id column is missing here, so a new tenant table needs its rule before it ships.
var TenantTables = []TenantTable{
	{"conversations", EndUserDeleted, "the conversations with a user participant matching the end user"},
	{"participants", EndUserDeleted, "with their conversations (ON DELETE CASCADE)"},
	{"messages", EndUserDeleted, "with their conversations (ON DELETE CASCADE)"},
	{"sessions", EndUserDeleted, "with their conversations (ON DELETE CASCADE)"},
	{"pending_approvals", EndUserDeleted, "with their conversations (ON DELETE CASCADE), arguments and reasons included"},
	{"pending_interactions", EndUserDeleted, "with their conversations (ON DELETE CASCADE), submitted values included"},
	{"otp_challenges", EndUserDeleted, "with their sessions and conversations (ON DELETE CASCADE), destination addresses and code hashes included"},
	{"backplane_events", EndUserDeleted, "outbox events addressed to or naming an erased conversation, session, approval or identity"},
	{"usage_events", EndUserScrubbed, "kept for the org's totals; conversation_id, session_id and request_id cleared"},
	{"audit_log", EndUserScrubbed, "entries about an erased conversation, session, approval or identity keep who and when; target_id and details replaced"},
	{"org_usage_months", OrgDataOnly, "monthly token totals of the org"},
	{"usage_days", OrgDataOnly, "daily usage totals of the org by agent and model, kept by triggers on usage_events; no conversation, session or identity"},
	{"org_settings", OrgDataOnly, "the org's settings"},
	{"agents", OrgDataOnly, "the org's agents"},
	{"agent_tools", OrgDataOnly, "the org's tools"},
	{"api_keys", OrgDataOnly, "the org's API keys"},
	{"gateway_keys", OrgDataOnly, "the org's gateway keys"},
	{"document_sets", OrgDataOnly, "the org's knowledge"},
	{"documents", OrgDataOnly, "the org's knowledge (an ACL naming an identity is the tenant's configuration)"},
	{"chunks", OrgDataOnly, "the org's knowledge"},
	{"connectors", OrgDataOnly, "the org's connectors"},
	{"indexing_runs", OrgDataOnly, "the org's indexing runs"},
	{"webhook_events", EndUserDeleted, "events about an erased conversation, with it (ON DELETE CASCADE on (org_id, conversation_id))"},
	{"webhook_deliveries", EndUserDeleted, "with their events (ON DELETE CASCADE)"},
	{"webhook_endpoints", OrgDataOnly, "the org's webhook endpoints"},
}

// EndUser names one end user of an org (ADMIN-API §9.17): a namespaced identity (jwt:<sub>
// or ctx:<userId>, a participant's external id) or a verified email (a participant's email,
// compared trimmed and case-insensitively). Exactly one of the two is set.
type EndUser struct {
	Identity string
	Email    string
}

// AuditID is how the audit log names the end user without naming them: "sha256:" and the
// hex SHA-256 of the reference (jwt:…, ctx:…, or email: and the address trimmed and
// lower-cased), which a tenant who knows the reference can compute to find the entry.
func (u EndUser) AuditID() string {
	ref := u.Identity
	if ref == "" {
		ref = "email:" + strings.ToLower(strings.TrimSpace(u.Email))
	}
	sum := sha256.Sum256([]byte(ref))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Erasure counts what an erasure did.
type Erasure struct {
	Conversations   int64 // deleted
	Participants    int64 // deleted with them
	Messages        int64 // deleted with them
	Sessions        int64 // deleted with them
	Approvals       int64 // deleted with them
	BackplaneEvents int64 // deleted
	UsageEvents     int64 // kept, scrubbed
	AuditEntries    int64 // kept, scrubbed
}

func (e Erasure) details() map[string]any {
	return map[string]any{
		"conversations": e.Conversations, "messages": e.Messages, "sessions": e.Sessions,
		"approvals": e.Approvals, "usageEventsKept": e.UsageEvents, "auditEntriesScrubbed": e.AuditEntries,
	}
}

// EraseEndUser deletes every conversation of the org in which the end user took part, with
// everything that cascades from them, scrubs the usage rows and audit entries about them,
// drops the outbox events naming them, and audits endUser.erase (counts only), in one
// transaction. A user the org holds nothing about erases nothing, and that is audited too.
func (s *Store) EraseEndUser(ctx context.Context, orgID uuid.UUID, u EndUser, m Meta) (Erasure, error) {
	var out Erasure
	err := s.InTx(ctx, func(tx *Tx) error {
		ids, err := queries.ConversationIDsOfEndUser(ctx, tx.pg, db.ConversationIDsOfEndUserParams{
			OrgID: orgID, Identity: u.Identity, Email: u.Email,
		})
		if err != nil {
			return fmt.Errorf("find the end user's conversations: %w", err)
		}
		identities, err := endUserIdentities(ctx, tx.pg, orgID, u)
		if err != nil {
			return err
		}
		if out, err = tx.eraseConversations(ctx, orgID, ids, identities); err != nil {
			return err
		}
		return tx.Audit(ctx, orgID, m, "endUser.erase", "endUser", u.AuditID(), out.details())
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("erase end user: %w", err)
	}
	return out, nil
}

// DeleteConversation erases one conversation as EraseEndUser erases each of an end user's,
// and audits conversation.delete. ErrNotFound: no such conversation in the org.
func (s *Store) DeleteConversation(ctx context.Context, orgID, id uuid.UUID, m Meta) (Erasure, error) {
	var out Erasure
	err := s.InTx(ctx, func(tx *Tx) error {
		var err error
		if out, err = tx.eraseConversations(ctx, orgID, []uuid.UUID{id}, nil); err != nil {
			return err
		}
		if out.Conversations == 0 {
			return ErrNotFound
		}
		return tx.Audit(ctx, orgID, m, "conversation.delete", "conversation", id.String(), out.details())
	})
	if err != nil {
		return Erasure{}, fmt.Errorf("delete conversation %s: %w", id, err)
	}
	return out, nil
}

// eraseConversations applies TenantTables' end-user rules to the conversations ids and to
// the identities: scrub first (the rules find their rows through the conversations'
// sessions and approvals), then delete the conversations and what cascades from them.
func (t *Tx) eraseConversations(ctx context.Context, orgID uuid.UUID, ids []uuid.UUID, identities []string) (Erasure, error) {
	var out Erasure
	sessions, err := queries.SessionListByConversations(ctx, t.pg, db.SessionListByConversationsParams{OrgID: orgID, Ids: ids})
	if err != nil {
		return out, fmt.Errorf("list sessions: %w", err)
	}
	approvals, err := queries.ApprovalListByConversations(ctx, t.pg, db.ApprovalListByConversationsParams{OrgID: orgID, Ids: ids})
	if err != nil {
		return out, fmt.Errorf("list approvals: %w", err)
	}
	about := aboutOf(ids, sessions, approvals, identities)
	counts, err := queries.ConversationErasureCounts(ctx, t.pg, db.ConversationErasureCountsParams{OrgID: orgID, Ids: ids})
	if err != nil {
		return out, fmt.Errorf("count: %w", err)
	}
	out.Participants, out.Messages, out.Sessions, out.Approvals = counts.Participants, counts.Messages, counts.Sessions, counts.Approvals
	if out.UsageEvents, err = queries.UsageEventScrubConversations(ctx, t.pg, db.UsageEventScrubConversationsParams{OrgID: orgID, Ids: ids}); err != nil {
		return out, fmt.Errorf("scrub usage: %w", err)
	}
	if out.AuditEntries, err = queries.AuditScrubAbout(ctx, t.pg, db.AuditScrubAboutParams{
		OrgID: orgID, ConversationIds: about.conversations, SessionIds: about.sessions,
		ApprovalIds: about.approvals, Identities: about.identities,
	}); err != nil {
		return out, fmt.Errorf("scrub audit: %w", err)
	}
	if out.BackplaneEvents, err = queries.BackplaneEventDeleteMentions(ctx, t.pg, db.BackplaneEventDeleteMentionsParams{
		OrgID: orgID, Mentions: about.all(),
	}); err != nil {
		return out, fmt.Errorf("delete outbox events: %w", err)
	}
	if out.Conversations, err = queries.ConversationDeleteByIDs(ctx, t.pg, db.ConversationDeleteByIDsParams{OrgID: orgID, Ids: ids}); err != nil {
		return out, fmt.Errorf("delete conversations: %w", err)
	}
	return out, nil
}

// endUserIdentities is the reference's identity, or the identities of the participants with
// its email: what a publish to a `user` target names.
func endUserIdentities(ctx context.Context, conn db.DBTX, orgID uuid.UUID, u EndUser) ([]string, error) {
	ids, err := queries.ParticipantIdentitiesOfEndUser(ctx, conn, db.ParticipantIdentitiesOfEndUserParams{OrgID: orgID, Identity: u.Identity, Email: u.Email})
	if err != nil {
		return nil, fmt.Errorf("find identities: %w", err)
	}
	if u.Identity != "" && len(ids) == 0 {
		ids = []string{u.Identity}
	}
	return ids, nil
}

// about is what an erasure's rows may name, as the text columns that name them store it.
type about struct {
	conversations, sessions, approvals, identities []string
}

func aboutOf(ids []uuid.UUID, sessions []db.Session, approvals []db.PendingApproval, identities []string) about {
	a := about{identities: nonNilStrings(identities), conversations: []string{}, sessions: []string{}, approvals: []string{}}
	for _, id := range ids {
		a.conversations = append(a.conversations, id.String())
	}
	for _, s := range sessions {
		a.sessions = append(a.sessions, s.ID.String())
	}
	for _, p := range approvals {
		a.approvals = append(a.approvals, p.ID.String())
	}
	return a
}

func (a about) all() []string {
	out := make([]string, 0, len(a.conversations)+len(a.sessions)+len(a.approvals)+len(a.identities))
	for _, l := range [][]string{a.conversations, a.sessions, a.approvals, a.identities} {
		out = append(out, l...)
	}
	return out
}

func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// EndUserData is everything the org holds about one end user (ADMIN-API §9.17): the
// conversations they took part in with all their rows, the usage rows of their turns, and
// the audit entries about those conversations, sessions and approvals or the identity.
type EndUserData struct {
	Conversations []db.Conversation
	Participants  []db.Participant
	Sessions      []db.Session
	Messages      []db.Message // by conversation, in order
	Approvals     []db.PendingApproval
	Usage         []db.UsageEvent
	Audit         []db.AuditLog
}

// ExportEndUser reads EndUserData in one snapshot, so that the document is consistent even
// while the user chats, and audits endUser.export (counts only) in the same transaction.
func (s *Store) ExportEndUser(ctx context.Context, orgID uuid.UUID, u EndUser, m Meta) (EndUserData, error) {
	var out EndUserData
	err := pgx.BeginTxFunc(ctx, s.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead}, func(tx pgx.Tx) error {
		ids, err := queries.ConversationIDsOfEndUser(ctx, tx, db.ConversationIDsOfEndUserParams{OrgID: orgID, Identity: u.Identity, Email: u.Email})
		if err != nil {
			return fmt.Errorf("find conversations: %w", err)
		}
		byIDs := func(what string, read func() error) error {
			if err := read(); err != nil {
				return fmt.Errorf("read %s: %w", what, err)
			}
			return nil
		}
		if err := byIDs("conversations", func() (err error) {
			out.Conversations, err = queries.ConversationListByIDs(ctx, tx, db.ConversationListByIDsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		if err := byIDs("participants", func() (err error) {
			out.Participants, err = queries.ParticipantListByConversations(ctx, tx, db.ParticipantListByConversationsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		if err := byIDs("sessions", func() (err error) {
			out.Sessions, err = queries.SessionListByConversations(ctx, tx, db.SessionListByConversationsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		if err := byIDs("messages", func() (err error) {
			out.Messages, err = queries.MessageListByConversations(ctx, tx, db.MessageListByConversationsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		if err := byIDs("approvals", func() (err error) {
			out.Approvals, err = queries.ApprovalListByConversations(ctx, tx, db.ApprovalListByConversationsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		if err := byIDs("usage", func() (err error) {
			out.Usage, err = queries.UsageEventListByConversations(ctx, tx, db.UsageEventListByConversationsParams{OrgID: orgID, Ids: ids})
			return err
		}); err != nil {
			return err
		}
		identities, err := endUserIdentities(ctx, tx, orgID, u)
		if err != nil {
			return err
		}
		a := aboutOf(ids, out.Sessions, out.Approvals, identities)
		if err := byIDs("audit", func() (err error) {
			out.Audit, err = queries.AuditListAbout(ctx, tx, db.AuditListAboutParams{
				OrgID: orgID, ConversationIds: a.conversations, SessionIds: a.sessions, ApprovalIds: a.approvals, Identities: a.identities,
			})
			return err
		}); err != nil {
			return err
		}
		return (&Tx{pg: tx}).Audit(ctx, orgID, m, "endUser.export", "endUser", u.AuditID(), map[string]any{
			"conversations": len(out.Conversations), "messages": len(out.Messages),
		})
	})
	if err != nil {
		return EndUserData{}, fmt.Errorf("export end user: %w", err)
	}
	return out, nil
}

// TableRows is how many rows of one org a table holds.
type TableRows struct {
	Table string
	Rows  int64
}

// OrgRows counts the org's rows in every table of TenantTables, in its order: what
// DeleteOrg would delete.
func (s *Store) OrgRows(ctx context.Context, orgID uuid.UUID) ([]TableRows, error) {
	r, err := queries.OrgRowCounts(ctx, s.pool, orgID)
	if err != nil {
		return nil, fmt.Errorf("count org rows: %w", err)
	}
	counts := map[string]int64{
		"agents": r.Agents, "agent_tools": r.AgentTools, "api_keys": r.ApiKeys, "audit_log": r.AuditLog,
		"backplane_events": r.BackplaneEvents, "chunks": r.Chunks, "connectors": r.Connectors,
		"conversations": r.Conversations, "document_sets": r.DocumentSets, "documents": r.Documents,
		"gateway_keys": r.GatewayKeys, "indexing_runs": r.IndexingRuns, "messages": r.Messages,
		"org_settings": r.OrgSettings, "org_usage_months": r.OrgUsageMonths, "participants": r.Participants,
		"pending_approvals": r.PendingApprovals, "pending_interactions": r.PendingInteractions, "sessions": r.Sessions,
		"usage_days":         r.UsageDays,
		"usage_events":       r.UsageEvents,
		"webhook_deliveries": r.WebhookDeliveries, "webhook_endpoints": r.WebhookEndpoints, "webhook_events": r.WebhookEvents,
		"otp_challenges": r.OtpChallenges,
	}
	out := make([]TableRows, 0, len(TenantTables))
	for _, t := range TenantTables {
		n, ok := counts[t.Name]
		if !ok {
			return nil, fmt.Errorf("count org rows: OrgRowCounts has no count of %s", t.Name)
		}
		out = append(out, TableRows{Table: t.Name, Rows: n})
	}
	return out, nil
}

// orgDeleteBatch is how many conversations DeleteOrg deletes per transaction before it
// deletes the rest of the org at once: conversations carry most of an org's rows.
const orgDeleteBatch = 500

// DeleteOrg deletes the org and every row it has in every table: its conversations in
// batches of orgDeleteBatch (each a short transaction), then the org row, which takes every
// other row with it (TenantTables). ErrNotFound: no such org.
func (s *Store) DeleteOrg(ctx context.Context, orgID uuid.UUID) error {
	if _, err := queries.OrgGet(ctx, s.pool, orgID); err != nil {
		return fmt.Errorf("delete org %s: %w", orgID, Classify(err))
	}
	// A conversation created while the batches run goes with the org row.
	before := time.Now().Add(time.Hour)
	for {
		ids, err := queries.ConversationDeleteExpired(ctx, s.pool, db.ConversationDeleteExpiredParams{OrgID: orgID, Before: before, Lim: orgDeleteBatch})
		if err != nil {
			return fmt.Errorf("delete org %s: conversations: %w", orgID, err)
		}
		if len(ids) == 0 {
			break
		}
	}
	n, err := queries.OrgDelete(ctx, s.pool, orgID)
	if err != nil {
		return fmt.Errorf("delete org %s: %w", orgID, err)
	}
	if n == 0 {
		return fmt.Errorf("delete org %s: %w", orgID, ErrNotFound)
	}
	return nil
}

// RetentionPeriod is an org's conversationRetentionDays.
type RetentionPeriod struct {
	OrgID uuid.UUID
	Days  int32
}

// RetentionPeriods lists the orgs that set a retention period (across orgs: the retention
// job's one look at every org).
func (s *Store) RetentionPeriods(ctx context.Context) ([]RetentionPeriod, error) {
	rows, err := queries.OrgSettingsListRetention(ctx, s.pool)
	if err != nil {
		return nil, fmt.Errorf("list retention periods: %w", err)
	}
	out := make([]RetentionPeriod, len(rows))
	for i, r := range rows {
		out[i] = RetentionPeriod{OrgID: r.OrgID, Days: r.Days}
	}
	return out, nil
}

// DeleteExpiredConversations deletes up to limit conversations of the org last active
// before before, in one statement that skips conversations another transaction holds, and
// returns how many it deleted. Their usage rows stay as they are (ids of conversations that
// no longer exist).
func (s *Store) DeleteExpiredConversations(ctx context.Context, orgID uuid.UUID, before time.Time, limit int32) (int64, error) {
	ids, err := queries.ConversationDeleteExpired(ctx, s.pool, db.ConversationDeleteExpiredParams{OrgID: orgID, Before: before, Lim: limit})
	if err != nil {
		return 0, fmt.Errorf("delete expired conversations: %w", err)
	}
	return int64(len(ids)), nil
}
