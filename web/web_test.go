package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha512"
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/dbtest"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/web"
)

func TestMain(m *testing.M) { os.Exit(dbtest.Main(m)) }

type answer struct {
	status int
	header http.Header
	body   []byte
}

// get fetches path without transparent decompression, so Content-Encoding is what was sent.
func get(t *testing.T, url string, headers ...string) answer {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "identity")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return answer{res.StatusCode, res.Header, body}
}

func TestTheWidgetIsServedAtBothURLsWithItsCaching(t *testing.T) {
	t.Parallel()
	s := servetest.Start(t, nil)
	raw, err := os.ReadFile("widget/dist/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum384(raw)
	if web.Widget.Integrity != "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) {
		t.Fatal("the embedded bundle is not widget/dist/widget.js")
	}
	cases := []struct{ path, cache string }{
		{"/widget.js", "public, max-age=300"},
		{web.Widget.Path, "public, max-age=31536000, immutable"},
	}
	for _, tc := range cases {
		a := get(t, s.URL+tc.path)
		got := map[string]string{
			"status": http.StatusText(a.status), "Content-Type": a.header.Get("Content-Type"), "Cache-Control": a.header.Get("Cache-Control"),
			"Access-Control-Allow-Origin": a.header.Get("Access-Control-Allow-Origin"), "X-Content-Type-Options": a.header.Get("X-Content-Type-Options"),
			"Vary": a.header.Get("Vary"), "Content-Encoding": a.header.Get("Content-Encoding"),
		}
		want := map[string]string{
			"status": "OK", "Content-Type": "text/javascript; charset=utf-8", "Cache-Control": tc.cache,
			"Access-Control-Allow-Origin": "*", "X-Content-Type-Options": "nosniff", "Vary": "Accept-Encoding", "Content-Encoding": "",
		}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("GET %s (-want +got):\n%s", tc.path, d)
		}
		if !bytes.Equal(a.body, raw) {
			t.Errorf("GET %s: body differs from the bundle", tc.path)
		}

		gz := get(t, s.URL+tc.path, "Accept-Encoding", "br, gzip;q=0.8")
		zr, err := gzip.NewReader(bytes.NewReader(gz.body))
		if err != nil || gz.header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s with gzip: %v %v", tc.path, gz.header, err)
		}
		plain, _ := io.ReadAll(zr)
		if !bytes.Equal(plain, raw) || len(gz.body) != web.Widget.GzipSize {
			t.Errorf("GET %s with gzip: the compressed body is not the bundle", tc.path)
		}
		if refused := get(t, s.URL+tc.path, "Accept-Encoding", "gzip;q=0"); refused.header.Get("Content-Encoding") != "" {
			t.Errorf("GET %s: gzip sent despite q=0", tc.path)
		}

		etag := a.header.Get("ETag")
		if nm := get(t, s.URL+tc.path, "If-None-Match", etag); etag == "" || nm.status != 304 || len(nm.body) != 0 {
			t.Errorf("GET %s If-None-Match %s: %d", tc.path, etag, nm.status)
		}
	}
	if a := get(t, s.URL+"/widget/0000000000.js"); a.status != 404 || !strings.Contains(string(a.body), `"NOT_FOUND"`) {
		t.Errorf("an unknown build: %d %s", a.status, a.body)
	}
	req, _ := http.NewRequest("HEAD", s.URL+"/widget.js", nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 404 {
		t.Errorf("HEAD /widget.js: %v %v, want 404 like every undefined method", res, err)
	}
}

func TestTheBundleFitsItsBudget(t *testing.T) {
	const budget = 35 * 1024
	if web.Widget.GzipSize > budget {
		t.Fatalf("widget.js is %d bytes gzipped, over the %d-byte budget", web.Widget.GzipSize, budget)
	}
}

// demo creates the demo org and agent, allowing origins.
func demo(t *testing.T, s *servetest.Server, origins []string) store.Demo {
	t.Helper()
	k, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.Store.EnsureDemo(context.Background(), store.NewAPIKeyRow{Name: "bootstrap", Role: "admin", Hash: k.Hash, Prefix: k.Prefix, Last4: k.Last4}, origins)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestThePlaygroundEmbedsTheDemoAgentOrTheOneAsked(t *testing.T) {
	t.Parallel()
	s := servetest.Start(t, nil)

	none := get(t, s.URL+"/")
	if none.status != 200 || !strings.Contains(string(none.body), "There is no demo agent to embed yet") || strings.Contains(string(none.body), "<script") {
		t.Fatalf("without a demo: %d %s", none.status, none.body)
	}

	d := demo(t, s, []string{s.URL})
	page := get(t, s.URL+"/")
	// The tag that loads the widget is markup; the snippet shown to copy is text.
	if !strings.Contains(string(page.body), `<script src="`+web.Widget.Path+`" integrity="sha384-`) ||
		strings.Count(string(page.body), "<script") != 1 {
		t.Errorf("the page does not load the widget exactly once:\n%s", page.body)
	}
	body := html.UnescapeString(string(page.body))
	tag := `<script src="` + web.Widget.Path + `" integrity="` + web.Widget.Integrity + `" crossorigin="anonymous" data-agent-id="` + d.AgentID.String() + `" async></script>`
	snippet := "<pre><code>" + web.EmbedFor(s.URL, d.AgentID.String()).Snippet + "</code></pre>"
	for _, want := range []string{tag, snippet, web.LoaderSnippet(s.URL, d.AgentID.String()), `href="/openapi.json"`, `href="/docs"`, web.APIReference, "the demo agent", `/tool create_ticket {"subject": "test"}`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if csp := page.header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || !strings.Contains(csp, "connect-src 'self'") {
		t.Errorf("CSP %q", csp)
	}
	if page.header.Get("Cache-Control") != "no-store" || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Errorf("headers %v", page.header)
	}

	other := "5f0d8a62-1c3e-4b7f-a9d2-6e4b1c8f3a07"
	if b := string(get(t, s.URL+"/?agent="+strings.ToUpper(other)).body); !strings.Contains(b, `data-agent-id="`+other+`"`) || strings.Contains(b, d.AgentID.String()) {
		t.Errorf("?agent= does not choose the agent:\n%s", b)
	}
	bad := string(get(t, s.URL+"/?agent=%3Cb%3Ex").body)
	if !strings.Contains(bad, "<code>&lt;b&gt;x</code> is not an agent id") || strings.Contains(bad, "<script") {
		t.Errorf("an invalid ?agent=:\n%s", bad)
	}
}

func TestThePlaygroundIsOffInProductionUnlessAskedFor(t *testing.T) {
	t.Parallel()
	// AUTH_MODE none is refused in production; JWT key material (with the issuer and the two
	// audiences production requires) keeps the server startable.
	env := map[string]string{
		"SWITCHBOARD_ENV": "production", "AUTH_JWT_SECRET": "web-test-secret-of-at-least-32-bytes!!",
		"AUTH_JWT_ISSUER": "https://idp.example.com/", "AUTH_JWT_AUDIENCE": "switchboard-admin", "AUTH_WS_AUDIENCE": "switchboard-widget",
	}
	off := servetest.Start(t, env)
	if a := get(t, off.URL+"/"); a.status != 404 {
		t.Fatalf("GET / in production: %d", a.status)
	}
	if a := get(t, off.URL+"/widget.js"); a.status != 200 {
		t.Fatalf("the widget is served in production too: %d", a.status)
	}
	env["SWITCHBOARD_PLAYGROUND"] = "1"
	on := servetest.Start(t, env)
	if a := get(t, on.URL+"/"); a.status != 200 {
		t.Fatalf("GET / with SWITCHBOARD_PLAYGROUND=1: %d", a.status)
	}
}

func TestTheAPIReferencePageServesTheBundledRedocOnly(t *testing.T) {
	t.Parallel()
	s := servetest.Start(t, nil)
	page := get(t, s.URL+"/docs")
	if page.status != 200 || !strings.HasPrefix(page.header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /docs: %d %v", page.status, page.header)
	}
	csp := page.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "connect-src 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if !strings.Contains(html.UnescapeString(string(page.body)), `<script src="`+web.Docs.Path+`" integrity="`+web.Docs.Integrity+`"></script>`) ||
		!strings.Contains(string(page.body), `data-spec-url="/openapi.json"`) {
		t.Fatalf("page:\n%s", page.body)
	}
	raw, err := os.ReadFile("docs/dist/docs.js")
	if err != nil {
		t.Fatal(err)
	}
	js := get(t, s.URL+web.Docs.Path)
	if js.status != 200 || !bytes.Equal(js.body, raw) || js.header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Fatalf("GET %s: %d %v", web.Docs.Path, js.status, js.header)
	}
	if a := get(t, s.URL+"/docs/0123456789abcdef0123.js"); a.status != 404 {
		t.Fatalf("another build's URL: %d", a.status)
	}
	// The bundle names no CDN the page could load from (the browser test watches the network).
	for _, cdn := range []string{"cdn.redoc.ly", "unpkg.com", "jsdelivr", "fonts.googleapis", "fonts.gstatic"} {
		if bytes.Contains(raw, []byte(cdn)) {
			t.Errorf("docs.js names %s", cdn)
		}
	}

	env := map[string]string{
		"SWITCHBOARD_ENV": "production", "AUTH_JWT_SECRET": "web-test-secret-of-at-least-32-bytes!!",
		"AUTH_JWT_ISSUER": "https://idp.example.com/", "AUTH_JWT_AUDIENCE": "switchboard-admin", "AUTH_WS_AUDIENCE": "switchboard-widget",
	}
	if a := get(t, servetest.Start(t, env).URL+"/docs"); a.status != 404 {
		t.Fatalf("GET /docs in production: %d", a.status)
	}
	env["SWITCHBOARD_DOCS"] = "1"
	if a := get(t, servetest.Start(t, env).URL+"/docs"); a.status != 200 {
		t.Fatalf("GET /docs with SWITCHBOARD_DOCS=1: %d", a.status)
	}
}

func TestDemoOrigins(t *testing.T) {
	cases := map[string]struct {
		env  map[string]string
		want []string
	}{
		"loopback":        {map[string]string{}, []string{"http://127.0.0.1:8787", "http://localhost:8787"}},
		"all interfaces":  {map[string]string{"SWITCHBOARD_ADDR": "0.0.0.0:9000"}, []string{"http://127.0.0.1:9000", "http://localhost:9000"}},
		"named host":      {map[string]string{"SWITCHBOARD_ADDR": "Chat.Internal:80"}, []string{"http://chat.internal"}},
		"public URL wins": {map[string]string{"SWITCHBOARD_PUBLIC_URL": "https://Chat.Example.com:443/sb"}, []string{"https://chat.example.com"}},
	}
	for name, tc := range cases {
		cfg, err := config.LoadFrom(func(k string) (string, bool) { v, ok := tc.env[k]; return v, ok })
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(tc.want, web.DemoOrigins(cfg)); d != "" {
			t.Errorf("%s (-want +got):\n%s", name, d)
		}
	}
}
