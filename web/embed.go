package web

import (
	"html"
	"net"
	"net/netip"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/config"
)

// PublicURL is the base URL visitors reach this server at: SWITCHBOARD_PUBLIC_URL when set,
// else the request's scheme and host. X-Forwarded-Proto and X-Forwarded-Host are believed
// only from a peer in SWITCHBOARD_TRUSTED_PROXIES, like X-Forwarded-For (ADMIN-API §1.8).
func PublicURL(cfg *config.Config, c *fiber.Ctx) string {
	if cfg.PublicURL != "" {
		return cfg.PublicURL
	}
	scheme, host := "http", string(c.Request().Host())
	if c.Context().IsTLS() {
		scheme = "https"
	}
	if trustedPeer(cfg, c) {
		if p := firstHop(c.Get(fiber.HeaderXForwardedProto)); p == "http" || p == "https" {
			scheme = p
		}
		if h := firstHop(c.Get(fiber.HeaderXForwardedHost)); h != "" {
			host = h
		}
	}
	return scheme + "://" + host
}

func trustedPeer(cfg *config.Config, c *fiber.Ctx) bool {
	peer, ok := netip.AddrFromSlice(c.Context().RemoteIP())
	if !ok {
		return false
	}
	peer = peer.Unmap()
	for _, p := range cfg.TrustedProxies {
		if p.Contains(peer) {
			return true
		}
	}
	return false
}

// firstHop is the value the client-facing proxy set: the first of a comma-separated list.
func firstHop(v string) string {
	first, _, _ := strings.Cut(v, ",")
	return strings.ToLower(strings.TrimSpace(first))
}

// Embed is everything a site needs to embed one agent (GET /admin/agents/{id}/embed).
type Embed struct {
	AgentID   string `json:"agentId"`
	PublicURL string `json:"publicUrl"`
	// ScriptURL names this server's exact widget build; Integrity is its SRI hash. A server
	// upgrade that changes the widget changes both, and the old URL then answers 404.
	ScriptURL string `json:"scriptUrl"`
	Integrity string `json:"integrity"`
	// LoaderURL is /widget.js: it always serves the current build (without SRI).
	LoaderURL    string `json:"loaderUrl"`
	WebSocketURL string `json:"websocketUrl"`
	// Snippet is the pinned tag: ScriptURL with its integrity.
	Snippet string `json:"snippet"`
	// ContentSecurityPolicy lists the sources the embedding page's CSP must allow.
	ContentSecurityPolicy string `json:"contentSecurityPolicy"`
}

// EmbedFor describes how to embed agentID from a server reached at base (a PublicURL).
func EmbedFor(base, agentID string) Embed {
	base = strings.TrimRight(base, "/")
	scheme, host, path := "http", base, ""
	if u, err := url.Parse(base); err == nil && u.Host != "" {
		scheme, host, path = u.Scheme, u.Host, u.EscapedPath()
	}
	ws := "ws"
	if scheme == "https" {
		ws = "wss"
	}
	return Embed{
		AgentID:               agentID,
		PublicURL:             base,
		ScriptURL:             base + Widget.Path,
		Integrity:             Widget.Integrity,
		LoaderURL:             base + "/widget.js",
		WebSocketURL:          ws + "://" + host + path + "/ws",
		Snippet:               snippet(base+Widget.Path, Widget.Integrity, agentID),
		ContentSecurityPolicy: "script-src " + scheme + "://" + host + "; connect-src " + ws + "://" + host,
	}
}

func snippet(src, integrity, agentID string) string {
	return `<script src="` + html.EscapeString(src) + `" integrity="` + integrity +
		`" crossorigin="anonymous" data-agent-id="` + html.EscapeString(agentID) + `" async></script>`
}

// LoaderSnippet is the one-line tag that always loads the current widget build.
func LoaderSnippet(base, agentID string) string {
	return `<script src="` + html.EscapeString(strings.TrimRight(base, "/")+"/widget.js") +
		`" data-agent-id="` + html.EscapeString(agentID) + `" async></script>`
}

// DemoOrigins are the origins the try-it page is served from, for the demo agent's allow
// list: SWITCHBOARD_PUBLIC_URL's origin when set, else the listen address, where a loopback
// or wildcard host stands for both 127.0.0.1 and localhost. They are normalised as the
// admin API stores origins (lowercase, default port removed).
func DemoOrigins(cfg *config.Config) []string {
	if cfg.PublicURL != "" {
		if u, err := url.Parse(cfg.PublicURL); err == nil {
			return []string{originOf(u.Scheme, u.Hostname(), u.Port())}
		}
	}
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return nil
	}
	switch host {
	case "", "0.0.0.0", "::", "127.0.0.1", "::1", "localhost":
		return []string{originOf("http", "127.0.0.1", port), originOf("http", "localhost", port)}
	}
	return []string{originOf("http", host, port)}
}

func originOf(scheme, host, port string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		return scheme + "://" + host
	}
	return scheme + "://" + host + ":" + port
}
