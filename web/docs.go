package web

import (
	"html/template"

	"github.com/gofiber/fiber/v2"
)

// docsCSP confines the API reference page to this origin: its one script (Redoc, with its
// integrity), the OpenAPI document it fetches, the styles Redoc injects, and the search
// worker Redoc starts from a blob. Nothing may come from anywhere else.
const docsCSP = "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// serveDocs is the API reference page at /docs (SWITCHBOARD_DOCS): Redoc, bundled into the
// binary, rendering this server's /openapi.json.
func serveDocs(c *fiber.Ctx) error {
	c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
	c.Set(fiber.HeaderCacheControl, "no-cache")
	c.Set(fiber.HeaderContentSecurityPolicy, docsCSP)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderReferrerPolicy, "no-referrer")
	return docsTemplate.Execute(c.Response().BodyWriter(), struct{ ScriptPath, Integrity string }{Docs.Path, Docs.Integrity})
}

var docsTemplate = template.Must(template.New("docs").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Switchboard · API reference</title>
<link rel="icon" href="data:,">
<style>body{margin:0}#redoc>p{font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:24px;color:#1f2937}</style>
</head>
<body>
<div id="redoc" data-spec-url="/openapi.json" aria-busy="true"><p>Loading the API reference… It needs JavaScript; the OpenAPI document itself is at <a href="/openapi.json">/openapi.json</a>.</p></div>
<script src="{{.ScriptPath}}" integrity="{{.Integrity}}"></script>
</body>
</html>
`))
