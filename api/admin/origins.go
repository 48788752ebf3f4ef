package admin

import (
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

const maxOriginChars = 300

// normalizeOrigin checks one widget.allowedOrigins entry (ADMIN-API §9.4) and returns its
// stored form: "*", an exact origin scheme://host[:port], or a wildcard
// scheme://*.suffix[:port] whose suffix has at least two labels; lowercase scheme and
// host, default port removed. Paths (even "/"), queries, fragments and userinfo are refused.
func normalizeOrigin(s string) (string, bool) {
	if s == "*" {
		return s, true
	}
	if utf8.RuneCountInString(s) > maxOriginChars {
		return "", false
	}
	scheme, rest, ok := strings.Cut(s, "://")
	scheme = strings.ToLower(scheme)
	if !ok || (scheme != "http" && scheme != "https") || rest == "" || strings.ContainsAny(rest, "/?#@\\ \t") {
		return "", false
	}
	host, port := rest, ""
	if strings.HasPrefix(rest, "[") {
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return "", false
		}
		host, port = rest[:end+1], rest[end+1:]
		if port != "" {
			if port[0] != ':' {
				return "", false
			}
			port = port[1:]
		}
		a, err := netip.ParseAddr(host[1 : len(host)-1])
		if err != nil || !a.Is6() || a.Zone() != "" {
			return "", false
		}
		host = "[" + a.String() + "]"
	} else {
		if i := strings.LastIndexByte(rest, ':'); i >= 0 {
			host, port = rest[:i], rest[i+1:]
		}
		wildcard := strings.HasPrefix(host, "*.")
		name := strings.TrimPrefix(host, "*.")
		if a, err := netip.ParseAddr(name); err == nil {
			if wildcard || !a.Is4() {
				return "", false
			}
			host = a.String()
		} else {
			dns, ok := dnsName(name)
			if !ok || (wildcard && strings.Count(dns, ".") < 1) {
				return "", false
			}
			host = dns
			if wildcard {
				host = "*." + dns
			}
		}
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
			return "", false
		}
		if (scheme == "http" && n == 80) || (scheme == "https" && n == 443) {
			port = ""
		}
	}
	out := scheme + "://" + host
	if port != "" {
		out += ":" + port
	}
	return out, true
}

// dnsName maps a host name to its lowercase ASCII form and checks its labels.
func dnsName(s string) (string, bool) {
	if s == "" {
		return "", false
	}
	a, err := idna.Lookup.ToASCII(s)
	if err != nil || a == "" || len(a) > 253 {
		return "", false
	}
	a = strings.ToLower(a)
	for _, label := range strings.Split(a, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return "", false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return "", false
			}
		}
	}
	return a, true
}
