package demo

import "github.com/switchboard-dev/switchboard/knowledge"

// DocumentSet holds the demo agent's knowledge.
const DocumentSet = "getting-started"

// Where the project's documents are published; the seeded documents link to them.
const (
	readme   = "https://github.com/switchboard-dev/switchboard/blob/main/README.md"
	protocol = "https://github.com/switchboard-dev/switchboard/blob/main/docs/spec/PROTOCOL.md"
)

// Documents are the demo agent's knowledge base: short pages written for a newcomer's first
// questions. Their ids are fixed, so that seeding again finds them.
func Documents() []knowledge.DocumentInput {
	return []knowledge.DocumentInput{
		{
			ID: "switchboard-demo:what-is-switchboard", Title: "What Switchboard is", URL: ptr(readme),
			Content: "Switchboard is a self-hostable, multi-tenant backend for AI agents that companies embed on their " +
				"websites as a chat widget. Tenant admins configure agents, tools, knowledge and keys through a REST " +
				"admin API under /admin, and website visitors talk to those agents over one WebSocket protocol on /ws.\n\n" +
				"PostgreSQL is the source of truth for every conversation, setting and key, and its LISTEN/NOTIFY is " +
				"the backplane, so any number of Switchboard instances behind a load balancer act as one. The API " +
				"reference is served at /docs, and the OpenAPI document at /openapi.json.",
		},
		{
			ID: "switchboard-demo:embed-the-widget", Title: "How to embed the widget", URL: ptr(readme),
			Content: "To embed the widget on your website, add one script tag to every page that should show the chat: " +
				"`<script src=\"https://chat.example.com/widget.js\" data-agent-id=\"AGENT_ID\" async></script>`. " +
				"Replace chat.example.com with the address of your Switchboard server and AGENT_ID with your agent's id. " +
				"The try-it page at / shows the exact tag for the demo agent, and GET /admin/agents/{id}/embed returns " +
				"it for any agent, pinned to the server's build with its integrity hash.\n\n" +
				"Before going live, add your site's origin to the agent's widget.allowedOrigins: the widget refuses to " +
				"open on any other site. Restyle it with CSS custom properties such as --sb-accent on the " +
				"switchboard-chat element; its interface lives in a shadow root, so your page's CSS cannot break it.",
		},
		{
			ID: "switchboard-demo:connect-a-model", Title: "How to connect a model", URL: ptr(readme),
			Content: "Switchboard talks to any OpenAI-compatible chat completions API. To connect a model for every " +
				"organization, set SWITCHBOARD_GATEWAY_KEY, and SWITCHBOARD_GATEWAY_URL when the gateway is not " +
				"OpenAI's. To give one organization its own key, which then pays for its turns, use POST " +
				"/admin/gateway-keys. A local model works too: run Ollama and set " +
				"SWITCHBOARD_GATEWAY_URL=http://127.0.0.1:11434/v1 with any SWITCHBOARD_GATEWAY_KEY.\n\n" +
				"Choose the model with SWITCHBOARD_DEFAULT_MODEL, or per agent and per organization through the admin " +
				"API. Without any key, development servers answer with switchboard-demo, the offline demo model, " +
				"which only quotes the knowledge base and runs tools on request.",
		},
		{
			ID: "switchboard-demo:approvals", Title: "How approvals work", URL: ptr(protocol),
			Content: "A tool that requires approval does not run when the model calls it. The turn waits, and the " +
				"visitor sees an approval card naming the tool and its arguments, with Approve and Deny buttons. " +
				"Approving runs the tool and the answer continues with its result; denying tells the model the " +
				"visitor rejected the action. An administrator can decide too, with POST /admin/approvals/{id}.\n\n" +
				"An approval that nobody decides expires after SWITCHBOARD_APPROVAL_TIMEOUT, five minutes by default. " +
				"Mark a tool with requiresApproval, or list name patterns in the agent's confirmTools. The demo agent's " +
				"create_ticket tool requires approval: try it with /tool create_ticket {\"subject\": \"test\"}.",
		},
	}
}

func ptr(s string) *string { return &s }
