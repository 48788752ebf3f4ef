package admin

import (
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/knowledge"
)

// operations is every route the server registers outside /ws, in the document's terms.
func operations() []operation {
	const get, post, put, del, head = "GET", "POST", "PUT", "DELETE", "HEAD"
	const admin, curator, basic = auth.RoleAdmin, auth.RoleCurator, auth.RoleBasic
	id := func(what string) obj { return pathParam("id", what+" id (UUID); a malformed id is 404") }
	toolID := pathParam("toolId", "tool id (UUID); a malformed id is 404")
	setName := pathParam("name", "document-set name, case-sensitive (^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$); malformed is 400 on POST, 404 on GET")
	docID := pathParam("id", "document id, percent-encoded; a malformed id is 404")
	endUserRef := pathParam("ref", "an end user: jwt:<sub> or ctx:<userId> (a participant's externalId), or email:<address> (a verified email, compared trimmed and case-insensitively), percent-encoded; anything else is 400")
	return []operation{
		// Public endpoints. Fiber's app.Get also answers HEAD for /healthz and /readyz.
		{method: get, path: "/healthz", summary: "Liveness", status: 200, response: "Status"},
		{method: head, path: "/healthz", summary: "Liveness (headers only)", status: 200},
		{method: get, path: "/readyz", summary: "Readiness: database, schema, listener, draining", status: 200, response: "Readiness", errs: []int{503}},
		{method: head, path: "/readyz", summary: "Readiness (headers only)", status: 200, errs: []int{503}},
		{method: get, path: "/metrics", summary: "Prometheus metrics (text exposition format; keep it off the public network)", status: 200, text: "text/plain; version=0.0.4"},
		{method: get, path: "/openapi.json", summary: "This document", status: 200, response: "OpenAPIDocument", errs: []int{400}},
		{method: get, path: "/admin/health", summary: "Liveness under the admin prefix", status: 200, response: "Status", errs: []int{400}},

		{method: get, path: "/admin/me", min: basic, summary: "The authenticated principal", status: 200, response: "Me"},

		{method: get, path: "/admin/api-keys", min: admin, summary: "List API keys, newest first", params: pageParams, status: 200, response: "ApiKeyList"},
		{method: post, path: "/admin/api-keys", min: admin, summary: "Create an API key (its plaintext is returned once)", body: "ApiKeyWrite", status: 201, response: "ApiKeyCreated", errs: []int{409}},
		{method: del, path: "/admin/api-keys/{id}", min: admin, summary: "Delete an API key", params: []obj{id("API key")}, status: 204, errs: []int{404}},

		{method: get, path: "/admin/agents", min: curator, summary: "List agents by name", params: pageParams, status: 200, response: "AgentList"},
		{method: post, path: "/admin/agents", min: admin, summary: "Create an agent", body: "AgentWrite", status: 201, response: "AgentEnvelope", location: true, errs: []int{409}},
		{method: get, path: "/admin/agents/{id}", min: curator, summary: "Read an agent", params: []obj{id("agent")}, status: 200, response: "AgentEnvelope", errs: []int{404}},
		{method: put, path: "/admin/agents/{id}", min: admin, summary: "Replace an agent", params: []obj{id("agent")}, body: "AgentWrite", status: 200, response: "AgentEnvelope", errs: []int{404, 409}},
		{method: del, path: "/admin/agents/{id}", min: admin, summary: "Delete an agent (soft)", params: []obj{id("agent")}, status: 204, errs: []int{404}},
		{method: get, path: "/admin/agents/{id}/embed", min: curator, summary: "The tag that embeds an agent's widget, and the origins it allows", params: []obj{id("agent")}, status: 200, response: "AgentEmbedEnvelope", errs: []int{404}},

		{method: get, path: "/admin/agents/{id}/tools", min: curator, summary: "List an agent's tools by name", params: append([]obj{id("agent")}, pageParams...), status: 200, response: "ToolList", errs: []int{404}},
		{method: post, path: "/admin/agents/{id}/tools", min: admin, summary: "Create a tool", params: []obj{id("agent")}, body: "ToolWrite", status: 201, response: "ToolEnvelope", location: true, errs: []int{404, 409}},
		{method: get, path: "/admin/agents/{id}/tools/{toolId}", min: curator, summary: "Read a tool", params: []obj{id("agent"), toolID}, status: 200, response: "ToolEnvelope", errs: []int{404}},
		{method: put, path: "/admin/agents/{id}/tools/{toolId}", min: admin, summary: "Replace a tool", params: []obj{id("agent"), toolID}, body: "ToolWrite", status: 200, response: "ToolEnvelope", errs: []int{404, 409}},
		{method: del, path: "/admin/agents/{id}/tools/{toolId}", min: admin, summary: "Delete a tool", params: []obj{id("agent"), toolID}, status: 204, errs: []int{404}},

		{method: get, path: "/admin/settings", min: curator, summary: "Read the org settings", status: 200, response: "SettingsEnvelope"},
		{method: put, path: "/admin/settings", min: admin, summary: "Change the org settings: omitted fields keep their stored values, null clears a nullable field", body: "SettingsWrite", status: 200, response: "SettingsEnvelope"},

		{method: get, path: "/admin/conversations", min: basic, summary: "List visible conversations, newest first",
			params: append([]obj{queryParam("agentId", "only this agent's conversations", obj{"type": "string", "format": "uuid"})}, pageParams...),
			status: 200, response: "ConversationList"},
		{method: get, path: "/admin/conversations/{id}", min: basic, summary: "Read a conversation with its participants", params: []obj{id("conversation")}, status: 200, response: "ConversationEnvelope", errs: []int{404}},
		{method: get, path: "/admin/conversations/{id}/messages", min: basic, summary: "List a conversation's messages, oldest first", params: append([]obj{id("conversation")}, pageParams...), status: 200, response: "MessageList", errs: []int{404}},
		{method: del, path: "/admin/conversations/{id}", min: admin, summary: "Erase a conversation: its messages, participants, sessions and approvals; its usage rows are kept without its ids", params: []obj{id("conversation")}, status: 204, errs: []int{404}},

		{method: del, path: "/admin/end-users/{ref}", min: admin, summary: "Erase everything the org holds about one end user; usage numbers are kept", params: []obj{endUserRef}, status: 200, response: "ErasureEnvelope", errs: []int{400}},
		{method: get, path: "/admin/end-users/{ref}/export", min: admin, summary: "Everything the org holds about one end user, as one document", params: []obj{endUserRef}, status: 200, response: "EndUserExportEnvelope", errs: []int{400}},

		{method: get, path: "/admin/approvals", min: curator, summary: "List pending approvals, oldest first", params: pageParams, status: 200, response: "ApprovalList"},
		{method: post, path: "/admin/approvals/{id}", min: curator, summary: "Approve or reject a parked tool call", params: []obj{id("approval")}, body: "ApprovalDecision", status: 200, response: "ApprovalEnvelope", errs: []int{404, 409}},

		{method: get, path: "/admin/document-sets", min: curator, summary: "List document sets by name (byte order)", params: pageParams, status: 200, response: "DocumentSetList"},
		{method: post, path: "/admin/document-sets/{name}/documents", min: admin, summary: "Ingest documents into a set as one indexing run", params: []obj{setName}, body: "DocumentsIngest", status: 202, response: "IngestAccepted"},
		{method: get, path: "/admin/document-sets/{name}/documents", min: curator, summary: "List a set's indexed documents by id (byte order)", params: append([]obj{setName}, pageParams...), status: 200, response: "DocumentList", errs: []int{404}},
		{method: del, path: "/admin/documents/{id}", min: admin, summary: "Delete a document and its chunks", params: []obj{docID}, status: 204, errs: []int{404}},

		{method: get, path: "/admin/connectors", min: curator, summary: "List connectors by name", params: pageParams, status: 200, response: "ConnectorList"},
		{method: post, path: "/admin/connectors", min: admin, summary: "Create a connector", body: "ConnectorWrite", status: 201, response: "ConnectorEnvelope", location: true, errs: []int{409}},
		{method: get, path: "/admin/connectors/{id}", min: curator, summary: "Read a connector", params: []obj{id("connector")}, status: 200, response: "ConnectorEnvelope", errs: []int{404}},
		{method: put, path: "/admin/connectors/{id}", min: admin, summary: "Replace a connector", params: []obj{id("connector")}, body: "ConnectorWrite", status: 200, response: "ConnectorEnvelope", errs: []int{404, 409}},
		{method: del, path: "/admin/connectors/{id}", min: admin, summary: "Delete a connector, its documents, and cancel its active runs", params: []obj{id("connector")}, status: 204, errs: []int{404}},
		{method: post, path: "/admin/connectors/{id}/index", min: curator, summary: "Queue a run of the connector (or return its active one)", params: []obj{id("connector")}, status: 202, response: "RunEnvelope", errs: []int{404}},

		{method: get, path: "/admin/indexing/runs", min: curator, summary: "List indexing runs, newest first",
			params: append([]obj{
				queryParam("connectorId", "only this connector's runs (an unknown or foreign id gives an empty list)", obj{"type": "string", "format": "uuid"}),
				queryParam("status", "only runs in this status", enum(knowledge.Statuses...)),
			}, pageParams...),
			status: 200, response: "RunList"},
		{method: get, path: "/admin/indexing/runs/{id}", min: curator, summary: "Read an indexing run", params: []obj{id("indexing run")}, status: 200, response: "RunEnvelope", errs: []int{404}},

		{method: get, path: "/admin/gateway-keys", min: admin, summary: "List gateway keys (masked), newest first", params: pageParams, status: 200, response: "GatewayKeyList"},
		{method: post, path: "/admin/gateway-keys", min: admin, summary: "Store a gateway key (write-only)", body: "GatewayKeyWrite", status: 201, response: "GatewayKeyEnvelope"},
		{method: del, path: "/admin/gateway-keys/{id}", min: admin, summary: "Revoke a gateway key", params: []obj{id("gateway key")}, status: 204, errs: []int{404}},

		{method: get, path: "/admin/usage", min: curator, summary: "Aggregate usage over a half-open UTC window",
			params: []obj{
				queryParam("from", "inclusive start: RFC 3339 or YYYY-MM-DD (default: first instant of the current UTC month)", obj{"type": "string"}),
				queryParam("to", "exclusive end: RFC 3339 or YYYY-MM-DD (default: first instant of the next UTC month); span at most 366 days", obj{"type": "string"}),
				queryParam("groupBy", "bucket", obj{"type": "string", "enum": []string{"day", "model", "agent", "key"}, "default": "day"}),
			},
			status: 200, response: "UsageReport"},
		{method: post, path: "/admin/publish", min: admin, summary: "Publish an event to live sockets", body: "PublishRequest", status: 202, response: "PublishAccepted", errs: []int{404}},
		{method: get, path: "/admin/audit", min: admin, summary: "Read the audit log, newest first", params: pageParams, status: 200, response: "AuditList"},
	}
}
