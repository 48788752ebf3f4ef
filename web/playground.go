package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/auth"
)

// playground is the try-it page at / (SWITCHBOARD_PLAYGROUND): it embeds the widget for the
// demo agent or ?agent=<id>, shows the tag that embeds it, and points at the API. It reveals
// nothing about an agent beyond the id in its own URL: ?agent= is not looked up, and the
// widget itself reports an unknown agent exactly as it would on any site.
type playground struct{ d Deps }

// APIReference is where the admin API's reference is published.
const APIReference = "https://github.com/switchboard-dev/switchboard/blob/main/docs/spec/ADMIN-API.md"

// playgroundCSP confines the page to its own scripts and socket: the only script is the
// widget, served from this origin with its integrity.
const playgroundCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; " +
	"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

type pageData struct {
	AgentID       string
	Demo          bool
	Invalid       string
	Snippet       string
	LoaderSnippet string
	ScriptPath    string
	Integrity     string
	APIReference  string
	Docs          bool // the API reference page at /docs is served
}

func (p *playground) serve(c *fiber.Ctx) error {
	data := pageData{ScriptPath: Widget.Path, Integrity: Widget.Integrity, APIReference: APIReference, Docs: p.d.Config.Docs}
	if raw := c.Query("agent"); raw != "" {
		if id, ok := auth.IsUUID(raw); ok {
			data.AgentID = id
		} else {
			data.Invalid = raw
		}
	} else if p.d.DemoAgent != nil {
		if id, err := p.d.DemoAgent(c.UserContext()); err == nil && id != uuid.Nil {
			data.AgentID, data.Demo = id.String(), true
		}
	}
	if data.AgentID != "" {
		base := PublicURL(p.d.Config, c)
		data.Snippet = EmbedFor(base, data.AgentID).Snippet
		data.LoaderSnippet = LoaderSnippet(base, data.AgentID)
	}
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-store")
	c.Set(fiber.HeaderContentSecurityPolicy, playgroundCSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return pageTemplate.Execute(c.Response().BodyWriter(), data)
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard · try the chat widget</title>
<style>
body{margin:0;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2937;background:#f8fafc}
main{max-width:760px;margin:0 auto;padding:48px 24px 120px}
h1{font-size:30px;margin:0 0 8px}h2{font-size:19px;margin:36px 0 8px}
.lead{font-size:18px;color:#4b5563}
pre{background:#0f172a;color:#e2e8f0;padding:14px 16px;border-radius:10px;overflow-x:auto;font-size:13px;line-height:1.5;white-space:pre-wrap;word-break:break-all}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
p code,li code{background:#e2e8f0;padding:1px 5px;border-radius:4px;font-size:14px}
.warn{background:#fef3c7;border:1px solid #f59e0b;padding:12px 16px;border-radius:10px}
a{color:#1d4ed8}
</style>
</head>
<body>
<main>
<h1>Switchboard</h1>
{{if .AgentID}}<p class="lead">This page embeds the chat widget for {{if .Demo}}the demo agent{{else}}agent <code>{{.AgentID}}</code>{{end}}. Open it with the chat button in the bottom-right corner and ask it something{{if .Demo}}: “How do I embed the widget?”, say, or try a tool that needs your approval with <code>/tool create_ticket {"subject": "test"}</code>{{end}}.</p>
{{else}}<p class="warn">{{if .Invalid}}<code>{{.Invalid}}</code> is not an agent id.{{else}}There is no demo agent to embed yet.{{end}} Run <code>switchboard demo</code> (<code>make run</code> does), or open this page as <code>/?agent=&lt;agent id&gt;</code>.</p>
{{end}}
{{if .AgentID}}<h2>Embed it on your site</h2>
<p>Add this tag to your pages. It loads exactly this server's widget build, checked by its integrity hash:</p>
<pre><code>{{.Snippet}}</code></pre>
<p>Or load whatever build the server runs, which follows upgrades without changing the tag:</p>
<pre><code>{{.LoaderSnippet}}</code></pre>
<p>The agent must allow your site's origin: add it to <code>widget.allowedOrigins</code> with <code>PUT /admin/agents/{{.AgentID}}</code>. <code>GET /admin/agents/{{.AgentID}}/embed</code> returns this tag, the origins the agent allows and the Content-Security-Policy sources your pages need.</p>
{{end}}<h2>API</h2>
<ul>
{{if .Docs}}<li><a href="/docs">/docs</a>: the admin API reference</li>
{{end}}<li><a href="/openapi.json">/openapi.json</a>: the admin API's OpenAPI document</li>
<li><a href="{{.APIReference}}" rel="noopener noreferrer">Admin API contract</a>, with the WebSocket protocol next to it in <code>docs/spec/</code></li>
</ul>
</main>
{{if .AgentID}}<script src="{{.ScriptPath}}" integrity="{{.Integrity}}" crossorigin="anonymous" data-agent-id="{{.AgentID}}" async></script>{{end}}
</body>
</html>
`))
