// Package admintest holds the admin API's answers (docs/spec/ADMIN-API.md) as typed values,
// for tests that decode them with testkit.DecodeJSON and compare them with cmp.Diff. Every
// type declares every key its answer carries, so an exact decode pins the answer's shape.
// Times are the strings the API sends (RFC 3339, milliseconds, Z).
//
// It is for tests only and must never be linked into the server.
package admintest

import "encoding/json"

// Error is the error envelope of every failed request (ADMIN-API §4.1).
type Error struct {
	Type      string    `json:"type"`
	RequestID string    `json:"requestId"`
	Error     ErrorBody `json:"error"`
	Data      struct {
		RequestID string    `json:"requestId"`
		Error     ErrorBody `json:"error"`
	} `json:"data"`
	Timestamp int64 `json:"timestamp"`
}

// ErrorBody is an error's code, message and, for validation errors, field.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// RetryAfterMs is sent on the 429 of a /ws upgrade only (PROTOCOL-1.1 §1.10); 0 when absent.
	RetryAfterMs int64 `json:"retryAfterMs,omitempty"`
}

// Agent is an agent object.
type Agent struct {
	ID                   string   `json:"id"`
	Name                 string   `json:"name"`
	Model                *string  `json:"model"`
	SystemPrompt         *string  `json:"systemPrompt"`
	Persona              *string  `json:"persona"`
	ConfirmTools         []string `json:"confirmTools"`
	DocumentSets         []string `json:"documentSets"`
	MaxIterations        *int32   `json:"maxIterations"`
	MaxTokens            *int32   `json:"maxTokens"`
	Enabled              bool     `json:"enabled"`
	HasToolSigningSecret bool     `json:"hasToolSigningSecret"`
	Widget               Widget   `json:"widget"`
	CreatedAt            string   `json:"createdAt"`
	UpdatedAt            string   `json:"updatedAt"`
}

// Widget is an agent's widget policy.
type Widget struct {
	AllowedOrigins     []string `json:"allowedOrigins"`
	RequireAuthContext bool     `json:"requireAuthContext"`
	HasSigningSecret   bool     `json:"hasSigningSecret"`
}

// Tool is an agent's HTTP tool.
type Tool struct {
	ID               string          `json:"id"`
	AgentID          string          `json:"agentId"`
	Name             string          `json:"name"`
	Description      string          `json:"description"`
	Parameters       json.RawMessage `json:"parameters"`
	URL              string          `json:"url"`
	Kind             string          `json:"kind"` // http or builtin
	RequiresApproval bool            `json:"requiresApproval"`
	// RequiresVerification: PROTOCOL-1.1 Appendix C.1.
	RequiresVerification bool   `json:"requiresVerification"`
	TimeoutMs            int32  `json:"timeoutMs"`
	CreatedAt            string `json:"createdAt"`
	UpdatedAt            string `json:"updatedAt"`
}

// Settings are an org's settings.
type Settings struct {
	OrgID              string   `json:"orgId"`
	Model              string   `json:"model"`
	SystemPrompt       string   `json:"systemPrompt"`
	Persona            *string  `json:"persona"`
	DefaultTools       []string `json:"defaultTools"`
	MaxIterations      *int32   `json:"maxIterations"`
	MaxTokens          *int32   `json:"maxTokens"`
	MonthlyTokenBudget *int64   `json:"monthlyTokenBudget"`
	// ConversationRetentionDays is null while conversations are kept for ever.
	ConversationRetentionDays *int32  `json:"conversationRetentionDays"`
	UpdatedAt                 *string `json:"updatedAt"`
}

// APIKey is an org API key as listed (never its plaintext).
type APIKey struct {
	ID         string  `json:"id"`
	Name       string  `json:"name"`
	Role       string  `json:"role"`
	Prefix     string  `json:"prefix"`
	Last4      string  `json:"last4"`
	CreatedAt  string  `json:"createdAt"`
	LastUsedAt *string `json:"lastUsedAt"`
}

// GatewayKey is an org gateway key as listed (masked).
type GatewayKey struct {
	ID         string  `json:"id"`
	Label      string  `json:"label"`
	Last4      string  `json:"last4"`
	BaseURL    *string `json:"baseUrl"`
	CreatedAt  string  `json:"createdAt"`
	RevokedAt  *string `json:"revokedAt"`
	LastUsedAt *string `json:"lastUsedAt"`
}

// Conversation is a conversation as listed; GET of one adds its participants.
type Conversation struct {
	ID            string        `json:"id"`
	AgentID       string        `json:"agentId"`
	Title         *string       `json:"title"`
	Name          string        `json:"name"`
	Platform      string        `json:"platform"`
	MessageCount  int32         `json:"messageCount"`
	LastMessageAt *string       `json:"lastMessageAt"`
	CreatedAt     string        `json:"createdAt"`
	UpdatedAt     string        `json:"updatedAt"`
	Participants  []Participant `json:"participants,omitempty"`
}

// Participant is one participant of a conversation.
type Participant struct {
	ID         string  `json:"id"`
	Type       string  `json:"type"`
	Name       string  `json:"name"`
	Email      *string `json:"email"`
	ExternalID *string `json:"externalId"`
	// The contact of the participant's session (PROTOCOL-1.1 Appendix C.5).
	ContactEmail           *string `json:"contactEmail"`
	ContactPhone           *string `json:"contactPhone"`
	ContactEmailVerifiedAt *string `json:"contactEmailVerifiedAt"`
	CreatedAt              string  `json:"createdAt"`
}

// Message is one message of a conversation.
type Message struct {
	ID             string         `json:"id"`
	ConversationID string         `json:"conversationId"`
	Direction      string         `json:"direction"`
	Content        MessageContent `json:"content"`
	From           *MessageFrom   `json:"from"`
	CreatedAt      string         `json:"createdAt"`
}

// MessageContent is a message's text and its items.
type MessageContent struct {
	Items []MessageItem `json:"items"`
	Text  string        `json:"text"`
}

// MessageItem is one item of a message's content.
type MessageItem struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// MessageFrom is the participant who wrote a message.
type MessageFrom struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Name string `json:"name"`
}

// Approval is a pending (or decided) tool approval.
type Approval struct {
	ID             string          `json:"id"`
	Status         string          `json:"status"`
	AgentID        string          `json:"agentId"`
	ConversationID string          `json:"conversationId"`
	SessionID      string          `json:"sessionId"`
	RequestID      string          `json:"requestId"`
	ToolName       string          `json:"toolName"`
	Arguments      json.RawMessage `json:"arguments"`
	CreatedAt      string          `json:"createdAt"`
	ExpiresAt      string          `json:"expiresAt"`
	DecidedAt      *string         `json:"decidedAt"`
	DecidedVia     *string         `json:"decidedVia"`
	DecidedBy      *string         `json:"decidedBy"`
	Reason         *string         `json:"reason"`
}

// AuditEntry is one row of the audit log.
type AuditEntry struct {
	ID         string          `json:"id"`
	At         string          `json:"at"`
	Actor      AuditActor      `json:"actor"`
	Action     string          `json:"action"`
	TargetType string          `json:"targetType"`
	TargetID   string          `json:"targetId"`
	RequestID  *string         `json:"requestId"`
	IP         *string         `json:"ip"`
	Details    json.RawMessage `json:"details"`
}

// AuditActor is who made an audited change.
type AuditActor struct {
	Type string  `json:"type"`
	ID   string  `json:"id"`
	Name *string `json:"name"`
}

// DocumentSet is a document set with its document count.
type DocumentSet struct {
	Name          string  `json:"name"`
	DocumentCount int64   `json:"documentCount"`
	UpdatedAt     *string `json:"updatedAt"`
}

// Document is an ingested document (without its content).
type Document struct {
	ID           string  `json:"id"`
	DocumentSet  string  `json:"documentSet"`
	Title        string  `json:"title"`
	URL          *string `json:"url"`
	ACL          *ACL    `json:"acl"`
	ConnectorID  *string `json:"connectorId"`
	ContentBytes int     `json:"contentBytes"`
	ChunkCount   int     `json:"chunkCount"`
	CreatedAt    string  `json:"createdAt"`
	UpdatedAt    string  `json:"updatedAt"`
}

// ACL is who may read a document.
type ACL struct {
	Public bool     `json:"public"`
	Users  []string `json:"users"`
	Groups []string `json:"groups"`
}

// Connector is a knowledge connector.
type Connector struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Kind        string          `json:"kind"`
	Config      json.RawMessage `json:"config"`
	DocumentSet string          `json:"documentSet"`
	Enabled     bool            `json:"enabled"`
	Schedule    *string         `json:"schedule"`
	CreatedAt   string          `json:"createdAt"`
	UpdatedAt   string          `json:"updatedAt"`
}

// Run is an indexing run.
type Run struct {
	ID               string  `json:"id"`
	ConnectorID      *string `json:"connectorId"`
	ConnectorName    *string `json:"connectorName"`
	DocumentSet      string  `json:"documentSet"`
	Status           string  `json:"status"`
	CreatedAt        string  `json:"createdAt"`
	StartedAt        *string `json:"startedAt"`
	FinishedAt       *string `json:"finishedAt"`
	DocumentsSeen    int     `json:"documentsSeen"`
	DocumentsIndexed int     `json:"documentsIndexed"`
	ChunksIndexed    int     `json:"chunksIndexed"`
	DocumentsSkipped int     `json:"documentsSkipped"`
	Error            *string `json:"error"`
}

// Me is GET /admin/me.
type Me struct {
	UserID      string   `json:"userId"`
	OrgID       string   `json:"orgId"`
	Role        string   `json:"role"`
	DisplayName string   `json:"displayName,omitempty"`
	Email       string   `json:"email,omitempty"`
	Groups      []string `json:"groups,omitempty"`
	AuthMethod  string   `json:"authMethod"`
}

// Usage is GET /admin/usage.
type Usage struct {
	Rows   []UsageRow  `json:"rows"`
	Totals UsageTotals `json:"totals"`
}

// UsageRow is one bucket of usage.
type UsageRow struct {
	Bucket           string  `json:"bucket"`
	Turns            int64   `json:"turns"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

// UsageTotals is the sum of every bucket.
type UsageTotals struct {
	Turns            int64   `json:"turns"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
}

// Ingested is the 202 of POST /admin/document-sets/{name}/documents.
type Ingested struct {
	Run         Run      `json:"run"`
	DocumentIDs []string `json:"documentIds"`
}

// RunAnswer is GET /admin/indexing/runs/{id}, and the 202 of a connector's index.
type RunAnswer struct {
	Run Run `json:"run"`
}

// AgentAnswer is the answer of GET, POST and PUT on an agent.
type AgentAnswer struct {
	Agent Agent `json:"agent"`
}

// ToolAnswer is the answer of GET, POST and PUT on a tool.
type ToolAnswer struct {
	Tool Tool `json:"tool"`
}

// SettingsAnswer is the answer of GET and PUT /admin/settings.
type SettingsAnswer struct {
	Settings Settings `json:"settings"`
}

// GatewayKeyAnswer is the 201 of POST /admin/gateway-keys.
type GatewayKeyAnswer struct {
	GatewayKey GatewayKey `json:"gatewayKey"`
}

// APIKeyCreated is the 201 of POST /admin/api-keys: the key's plaintext, shown once.
type APIKeyCreated struct {
	APIKey APIKey `json:"apiKey"`
	Key    string `json:"key"`
}

// ConversationAnswer is GET /admin/conversations/{id}.
type ConversationAnswer struct {
	Conversation Conversation `json:"conversation"`
}

// ApprovalAnswer is the answer of POST /admin/approvals/{id}.
type ApprovalAnswer struct {
	Approval Approval `json:"approval"`
}

// Lists: each carries its items under its own key and the cursor of the next page (null
// on the last one).

// AgentList is GET /admin/agents.
type AgentList struct {
	Agents     []Agent `json:"agents"`
	NextCursor *string `json:"nextCursor"`
}

// ToolList is GET /admin/agents/{id}/tools.
type ToolList struct {
	Tools      []Tool  `json:"tools"`
	NextCursor *string `json:"nextCursor"`
}

// APIKeyList is GET /admin/api-keys.
type APIKeyList struct {
	APIKeys    []APIKey `json:"apiKeys"`
	NextCursor *string  `json:"nextCursor"`
}

// GatewayKeyList is GET /admin/gateway-keys.
type GatewayKeyList struct {
	GatewayKeys []GatewayKey `json:"gatewayKeys"`
	NextCursor  *string      `json:"nextCursor"`
}

// ConversationList is GET /admin/conversations.
type ConversationList struct {
	Conversations []Conversation `json:"conversations"`
	NextCursor    *string        `json:"nextCursor"`
}

// MessageList is GET /admin/conversations/{id}/messages.
type MessageList struct {
	Messages   []Message `json:"messages"`
	NextCursor *string   `json:"nextCursor"`
}

// ApprovalList is GET /admin/approvals.
type ApprovalList struct {
	Approvals  []Approval `json:"approvals"`
	NextCursor *string    `json:"nextCursor"`
}

// AuditList is GET /admin/audit.
type AuditList struct {
	Entries    []AuditEntry `json:"entries"`
	NextCursor *string      `json:"nextCursor"`
}

// DocumentSetList is GET /admin/document-sets.
type DocumentSetList struct {
	DocumentSets []DocumentSet `json:"documentSets"`
	NextCursor   *string       `json:"nextCursor"`
}

// DocumentList is GET /admin/document-sets/{name}/documents.
type DocumentList struct {
	Documents  []Document `json:"documents"`
	NextCursor *string    `json:"nextCursor"`
}

// ConnectorList is GET /admin/connectors.
type ConnectorList struct {
	Connectors []Connector `json:"connectors"`
	NextCursor *string     `json:"nextCursor"`
}

// RunList is GET /admin/indexing/runs.
type RunList struct {
	Runs       []Run   `json:"runs"`
	NextCursor *string `json:"nextCursor"`
}

// ConnectorAnswer is the answer of GET, POST and PUT on a connector.
type ConnectorAnswer struct {
	Connector Connector `json:"connector"`
}

// Erasure is what DELETE /admin/end-users/{ref} erased.
type Erasure struct {
	Conversations        int64 `json:"conversations"`
	Messages             int64 `json:"messages"`
	Sessions             int64 `json:"sessions"`
	Approvals            int64 `json:"approvals"`
	UsageEventsKept      int64 `json:"usageEventsKept"`
	AuditEntriesScrubbed int64 `json:"auditEntriesScrubbed"`
}

// ErasureAnswer is the 200 of DELETE /admin/end-users/{ref}.
type ErasureAnswer struct {
	Erasure Erasure `json:"erasure"`
}

// ExportSession is a session in an end user's export.
type ExportSession struct {
	ID           string   `json:"id"`
	AgentID      string   `json:"agentId"`
	Status       string   `json:"status"`
	UserName     string   `json:"userName"`
	ContactEmail *string  `json:"contactEmail"`
	Supports     []string `json:"supports"`
	CreatedAt    string   `json:"createdAt"`
}

// ExportConversation is a conversation in an end user's export, with all its rows.
type ExportConversation struct {
	ID            string          `json:"id"`
	AgentID       string          `json:"agentId"`
	Title         *string         `json:"title"`
	Name          string          `json:"name"`
	Platform      string          `json:"platform"`
	MessageCount  int32           `json:"messageCount"`
	LastMessageAt *string         `json:"lastMessageAt"`
	CreatedAt     string          `json:"createdAt"`
	UpdatedAt     string          `json:"updatedAt"`
	Metadata      json.RawMessage `json:"metadata"`
	Participants  []Participant   `json:"participants"`
	Sessions      []ExportSession `json:"sessions"`
	Messages      []Message       `json:"messages"`
	Approvals     []Approval      `json:"approvals"`
}

// ExportUsage is a usage row in an end user's export.
type ExportUsage struct {
	ID               string  `json:"id"`
	AgentID          string  `json:"agentId"`
	ConversationID   *string `json:"conversationId"`
	SessionID        *string `json:"sessionId"`
	RequestID        *string `json:"requestId"`
	Model            string  `json:"model"`
	PromptTokens     int64   `json:"promptTokens"`
	CompletionTokens int64   `json:"completionTokens"`
	CostUSD          float64 `json:"costUsd"`
	Outcome          string  `json:"outcome"`
	CreatedAt        string  `json:"createdAt"`
}

// Export is everything an org holds about one end user.
type Export struct {
	OrgID         string               `json:"orgId"`
	EndUser       string               `json:"endUser"`
	ExportedAt    string               `json:"exportedAt"`
	Conversations []ExportConversation `json:"conversations"`
	Usage         []ExportUsage        `json:"usage"`
	Audit         []AuditEntry         `json:"audit"`
}

// ExportAnswer is the 200 of GET /admin/end-users/{ref}/export.
type ExportAnswer struct {
	Export Export `json:"export"`
}
