package admin_test

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/switchboard-dev/switchboard/web"
)

type embedAnswer struct {
	Embed struct {
		AgentID               string   `json:"agentId"`
		PublicURL             string   `json:"publicUrl"`
		ScriptURL             string   `json:"scriptUrl"`
		Integrity             string   `json:"integrity"`
		LoaderURL             string   `json:"loaderUrl"`
		WebSocketURL          string   `json:"websocketUrl"`
		Snippet               string   `json:"snippet"`
		ContentSecurityPolicy string   `json:"contentSecurityPolicy"`
		AllowedOrigins        []string `json:"allowedOrigins"`
		RequireAuthContext    bool     `json:"requireAuthContext"`
	} `json:"embed"`
}

func decodeEmbed(t *testing.T, r resp) embedAnswer {
	t.Helper()
	var out embedAnswer
	if err := json.Unmarshal(r.body, &out); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return out
}

func TestEmbedUsesThePublicURLAndTheAgentsCurrentOrigins(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_PUBLIC_URL": "https://chat.example.com/"})
	a := s.newOrg(t, "A")
	ag := s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "Support", "widget": map[string]any{"allowedOrigins": []string{"https://www.acme.com", "https://*.acme.com"}}}).want(t, 201)
	id := ag.str(t, "agent.id")

	got := decodeEmbed(t, s.do(t, "GET", "/admin/agents/"+id+"/embed", a.key, nil).want(t, 200))
	want := embedAnswer{}
	want.Embed.AgentID = id
	want.Embed.PublicURL = "https://chat.example.com"
	want.Embed.ScriptURL = "https://chat.example.com" + web.Widget.Path
	want.Embed.Integrity = web.Widget.Integrity
	want.Embed.LoaderURL = "https://chat.example.com/widget.js"
	want.Embed.WebSocketURL = "wss://chat.example.com/ws"
	want.Embed.Snippet = `<script src="https://chat.example.com` + web.Widget.Path + `" integrity="` + web.Widget.Integrity +
		`" crossorigin="anonymous" data-agent-id="` + id + `" async></script>`
	want.Embed.ContentSecurityPolicy = "script-src https://chat.example.com; connect-src wss://chat.example.com"
	want.Embed.AllowedOrigins = []string{"https://www.acme.com", "https://*.acme.com"}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("embed (-want +got):\n%s", d)
	}

	// The origins are read at every call: a change shows at once.
	s.do(t, "PUT", "/admin/agents/"+id, a.key, map[string]any{"name": "Support"}).want(t, 200)
	if got := decodeEmbed(t, s.do(t, "GET", "/admin/agents/"+id+"/embed", a.key, nil).want(t, 200)); len(got.Embed.AllowedOrigins) != 0 {
		t.Fatalf("origins after the update: %v", got.Embed.AllowedOrigins)
	}

	// Another org's agent does not exist for this caller.
	b := s.newOrg(t, "B")
	s.do(t, "GET", "/admin/agents/"+id+"/embed", b.key, nil).want(t, 404)
}

func TestEmbedWithoutAPublicURLUsesTheRequestHostAndServesTheHashedScript(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	a := s.newOrg(t, "A")
	id := s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "Support"}).want(t, 201).str(t, "agent.id")
	// Forwarded headers from a peer outside SWITCHBOARD_TRUSTED_PROXIES are not believed.
	got := decodeEmbed(t, s.do(t, "GET", "/admin/agents/"+id+"/embed", a.key, nil, "X-Forwarded-Host", "evil.example", "X-Forwarded-Proto", "https").want(t, 200))
	if got.Embed.PublicURL != s.URL || got.Embed.WebSocketURL != s.WSURL || !strings.HasPrefix(got.Embed.ScriptURL, s.URL+"/widget/") {
		t.Fatalf("embed %+v, want it based on %s", got.Embed, s.URL)
	}
	// The script URL serves exactly the bytes its integrity names.
	res, err := http.Get(got.Embed.ScriptURL)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	sum := sha512.Sum384(body)
	if res.StatusCode != 200 || "sha384-"+base64.StdEncoding.EncodeToString(sum[:]) != got.Embed.Integrity {
		t.Fatalf("GET %s: %d, %d bytes not matching %s", got.Embed.ScriptURL, res.StatusCode, len(body), got.Embed.Integrity)
	}
}

func TestEmbedBelievesForwardedHeadersFromTrustedProxies(t *testing.T) {
	t.Parallel()
	s := start(t, map[string]string{"SWITCHBOARD_TRUSTED_PROXIES": "127.0.0.0/8"})
	a := s.newOrg(t, "A")
	id := s.do(t, "POST", "/admin/agents", a.key, map[string]any{"name": "Support"}).want(t, 201).str(t, "agent.id")
	got := decodeEmbed(t, s.do(t, "GET", "/admin/agents/"+id+"/embed", a.key, nil, "X-Forwarded-Host", "chat.acme.com", "X-Forwarded-Proto", "https").want(t, 200))
	if got.Embed.PublicURL != "https://chat.acme.com" || got.Embed.WebSocketURL != "wss://chat.acme.com/ws" {
		t.Fatalf("embed %+v", got.Embed)
	}
}
