package wstest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/db"
	"github.com/switchboard-dev/switchboard/seal"
)

// Box returns a seal box for the base64 encryption key the server under test uses.
func Box(tb testing.TB, keyB64 string) *seal.Box {
	tb.Helper()
	key, err := base64.StdEncoding.DecodeString(keyB64)
	if err != nil {
		tb.Fatalf("wstest: encryption key: %v", err)
	}
	b, err := seal.New(key)
	if err != nil {
		tb.Fatalf("wstest: seal: %v", err)
	}
	return b
}

// queries seed rows directly: fixtures need rows without the audit rows and checks of the
// store's methods.
var queries = db.New()

// CreateOrg inserts an org (externalID may be "").
func CreateOrg(tb testing.TB, conn db.DBTX, name, externalID string) uuid.UUID {
	tb.Helper()
	var ext *string
	if externalID != "" {
		ext = &externalID
	}
	org, err := queries.OrgCreate(context.Background(), conn, db.OrgCreateParams{Name: name, ExternalID: ext})
	if err != nil {
		tb.Fatalf("wstest: create org: %v", err)
	}
	return org.ID
}

// Agent describes an agent to create; the zero value is an enabled agent without
// restrictions, secrets or overrides.
type Agent struct {
	Name               string
	Disabled           bool
	Model              string
	SystemPrompt       string
	ConfirmTools       []string
	AllowedOrigins     []string
	RequireAuthContext bool
	WidgetSecret       string
	ToolSecret         string
	MaxIterations      int32
}

// CreateAgent inserts an agent of org, sealing its secrets with box.
func CreateAgent(tb testing.TB, conn db.DBTX, box *seal.Box, org uuid.UUID, a Agent) db.Agent {
	tb.Helper()
	id := uuid.New()
	p := db.AgentCreateParams{
		ID: id, OrgID: org, Name: a.Name, Enabled: !a.Disabled, ConfirmTools: nonNil(a.ConfirmTools),
		DocumentSets: []string{}, AllowedOrigins: nonNil(a.AllowedOrigins), RequireAuthContext: a.RequireAuthContext,
	}
	if p.Name == "" {
		p.Name = "agent-" + id.String()[:8]
	}
	if a.Model != "" {
		p.Model = &a.Model
	}
	if a.SystemPrompt != "" {
		p.SystemPrompt = &a.SystemPrompt
	}
	if a.MaxIterations > 0 {
		p.MaxIterations = &a.MaxIterations
	}
	if a.WidgetSecret != "" {
		p.WidgetSigningSecret = box.Seal([]byte(a.WidgetSecret), seal.AAD("agents", "widget_signing_secret", org, id))
	}
	if a.ToolSecret != "" {
		p.ToolSigningSecret = box.Seal([]byte(a.ToolSecret), seal.AAD("agents", "tool_signing_secret", org, id))
	}
	ag, err := queries.AgentCreate(context.Background(), conn, p)
	if err != nil {
		tb.Fatalf("wstest: create agent: %v", err)
	}
	return ag
}

// Tool describes an HTTP tool to create.
type Tool struct {
	Name             string
	Description      string
	Parameters       string // JSON schema; "" for the default
	URL              string
	RequiresApproval bool
	TimeoutMs        int32
}

// CreateTool inserts an HTTP tool of an agent.
func CreateTool(tb testing.TB, conn db.DBTX, org, agentID uuid.UUID, t Tool) db.AgentTool {
	tb.Helper()
	params := json.RawMessage(`{"type":"object","properties":{}}`)
	if t.Parameters != "" {
		params = json.RawMessage(t.Parameters)
	}
	if t.Description == "" {
		t.Description = "test tool " + t.Name
	}
	if t.TimeoutMs == 0 {
		t.TimeoutMs = 10000
	}
	row, err := queries.ToolCreate(context.Background(), conn, db.ToolCreateParams{
		OrgID: org, AgentID: agentID, Name: t.Name, Description: t.Description, Parameters: params,
		Url: t.URL, RequiresApproval: t.RequiresApproval, TimeoutMs: t.TimeoutMs,
	})
	if err != nil {
		tb.Fatalf("wstest: create tool: %v", err)
	}
	return row
}

// CreateGatewayKey inserts an org gateway key sealed with box.
func CreateGatewayKey(tb testing.TB, conn db.DBTX, box *seal.Box, org uuid.UUID, secret, baseURL string) uuid.UUID {
	tb.Helper()
	id := uuid.New()
	p := db.GatewayKeyCreateParams{
		ID: id, OrgID: org, Label: "test key", KeyCiphertext: box.Seal([]byte(secret), seal.AAD("gateway_keys", "key_ciphertext", org, id)),
		Last4: secret[len(secret)-4:], CreatedBy: "test",
	}
	if baseURL != "" {
		p.BaseUrl = &baseURL
	}
	if _, err := queries.GatewayKeyCreate(context.Background(), conn, p); err != nil {
		tb.Fatalf("wstest: create gateway key: %v", err)
	}
	return id
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
