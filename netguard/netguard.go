// Package netguard protects server-side requests to tenant-supplied URLs (HTTP tool URLs,
// web connector URLs and sitemaps, gateway-key baseUrls) from server-side request forgery,
// as ADMIN-API §6.4 describes.
//
// It checks twice: ValidateURL refuses obviously local targets when a URL is stored, and the
// dialer of NewDialer and Transport checks every address it is about to connect to, which
// defeats DNS rebinding and names that only resolve to private addresses later.
//
// This package must never let a refused dial put a packet on the wire (the check runs after the
// socket is created and before connect), never route through an environment proxy (a proxy
// would connect on our behalf and bypass the address check), and never echo more than 64
// characters of a tenant's value, or a URL's query string, in an error message. The operator's own
// SWITCHBOARD_GATEWAY_URL is not a tenant URL and does not go through this package.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// MaxURLChars is the longest tenant URL accepted, in characters (Unicode code points).
const MaxURLChars = 2048

// maxEcho is how much of a tenant value a message may repeat (ADMIN-API §5.1).
const maxEcho = 64

// ErrRefusedAddress is returned (wrapped, see errors.Is) by the guarded dialer when the
// address it is about to connect to is not public.
var ErrRefusedAddress = errors.New("refused connection to a non-public address")

// URLError is the error ValidateURL returns. Its message is a predicate meant to follow the
// field name in a VALIDATION_ERROR message, for example field "url" and message
// "url " + err.Error() = "url must not contain userinfo". It never carries more than 64
// characters of the value.
type URLError struct {
	msg string
}

func (e *URLError) Error() string { return e.msg }

func urlErrorf(format string, args ...any) error {
	return &URLError{msg: fmt.Sprintf(format, args...)}
}

// ValidateURL applies the validation-time rules of ADMIN-API §5.2 and §6.4 to a tenant URL:
// an absolute http or https URL of at most 2048 characters with a host, no userinfo, no
// fragment (not even an empty one), no whitespace, and a valid port when one is given. Unless
// allowPrivate is set, it also refuses a host that is localhost, ends in .localhost or
// .internal, or is an IP literal that IsPublicIP rejects. Host names are compared after the
// same IDNA mapping the HTTP client applies (so a full-width "ｌｏｃａｌｈｏｓｔ" is
// localhost), and a host whose last label is numeric (inet_aton forms such as 127.1 or
// 2130706433, which some resolvers read as addresses) is refused whatever allowPrivate says.
//
// Passing this check is not enough to make a request safe: names can resolve anywhere at
// connection time, which is what the guarded dialer is for.
func ValidateURL(raw string, allowPrivate bool) error {
	if !utf8.ValidString(raw) {
		return urlErrorf("must be valid UTF-8")
	}
	if utf8.RuneCountInString(raw) > MaxURLChars {
		return urlErrorf("must be at most %d characters", MaxURLChars)
	}
	if raw == "" {
		return urlErrorf("must be an absolute http or https URL")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return urlErrorf("must not contain whitespace or control characters")
	}
	if strings.Contains(raw, "#") {
		return urlErrorf("must not contain a fragment")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return urlErrorf("must be an absolute http or https URL (got %s)", quote(WithoutQuery(raw)))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return urlErrorf("must use the http or https scheme (got %s)", quote(u.Scheme))
	}
	if u.Opaque != "" || u.Host == "" {
		return urlErrorf("must be an absolute http or https URL with a host (got %s)", quote(WithoutQuery(raw)))
	}
	if u.User != nil {
		return urlErrorf("must not contain userinfo")
	}
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return urlErrorf("must have a port between 1 and 65535 (got %s)", quote(p))
		}
	}
	host := u.Hostname()
	if host == "" {
		return urlErrorf("must be an absolute http or https URL with a host (got %s)", quote(WithoutQuery(raw)))
	}

	if addr, err := netip.ParseAddr(host); err == nil {
		if addr.Zone() != "" {
			return urlErrorf("must not use a zoned IPv6 address (got %s)", quote(host))
		}
		if !allowPrivate && !IsPublicIP(addr) {
			return urlErrorf("must not point to a private, loopback or otherwise non-public address (got %s)", quote(host))
		}
		return nil
	}
	if strings.HasPrefix(u.Host, "[") {
		return urlErrorf("must have a valid IPv6 address in brackets (got %s)", quote(host))
	}

	name := host
	if !isASCII(name) {
		// The HTTP client maps non-ASCII names the same way before resolving them.
		if name, err = idna.Lookup.ToASCII(host); err != nil || name == "" {
			return urlErrorf("must have a valid host name (got %s)", quote(host))
		}
	}
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	if name == "" || strings.HasSuffix(name, ".") {
		return urlErrorf("must have a valid host name (got %s)", quote(host))
	}
	labels := strings.Split(name, ".")
	if isNumericLabel(labels[len(labels)-1]) {
		return urlErrorf("must have a host that is a DNS name or a standard IP address (got %s)", quote(host))
	}
	if !allowPrivate && isLocalName(name) {
		return urlErrorf("must not point to a local or internal host (got %s)", quote(host))
	}
	return nil
}

// WithoutQuery returns a tenant URL as a log line or an error message may show it: cut before
// its query string (or fragment), which can carry a credential such as `?key=…`. It works on
// text that does not parse as a URL too.
func WithoutQuery(raw string) string {
	if i := strings.IndexAny(raw, "?#"); i >= 0 {
		return raw[:i]
	}
	return raw
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// isLocalName reports whether a lowercased ASCII host name without trailing dot is one of the
// names §6.4 reserves for local targets. The bare TLD "internal" is included: it can only ever
// name something inside the operator's network.
func isLocalName(name string) bool {
	return name == "localhost" || strings.HasSuffix(name, ".localhost") ||
		name == "internal" || strings.HasSuffix(name, ".internal")
}

// isNumericLabel reports whether a DNS label is a decimal, octal or hexadecimal number, which
// no real top-level domain is and which inet_aton would read as part of an IPv4 address.
func isNumericLabel(l string) bool {
	if l == "" {
		return false
	}
	s := l
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') {
		s = s[2:]
		for _, c := range s {
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
		return true
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// quote renders a tenant value for a message: single-quoted, escaped onto one line, and cut
// to 64 characters with "…" when longer.
func quote(s string) string {
	if utf8.RuneCountInString(s) > maxEcho {
		s = string([]rune(s)[:maxEcho]) + "…"
	}
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return "'" + strings.ReplaceAll(q, "'", `\'`) + "'"
}

// NewDialer returns a dialer for tenant-supplied targets. Unless allowPrivate is set, it
// checks the address of every connection attempt (after name resolution, before connect) and
// refuses one that IsPublicIP rejects with an error wrapping ErrRefusedAddress; nothing is
// sent to a refused address. When a name resolves to several addresses each attempt is checked
// on its own, so a public address of the same name may still be used.
func NewDialer(allowPrivate bool) *net.Dialer {
	d := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	if !allowPrivate {
		d.ControlContext = checkDialAddress
	}
	return d
}

// checkDialAddress runs between socket creation and connect for every attempt the dialer
// makes, so it sees exactly the address that would be contacted.
func checkDialAddress(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		// Only IP networks reach here through the HTTP transport; anything unparseable is
		// refused rather than trusted.
		return fmt.Errorf("%w: %s %q", ErrRefusedAddress, network, address)
	}
	if !IsPublicIP(ap.Addr()) {
		return fmt.Errorf("%w: %s", ErrRefusedAddress, ap.Addr())
	}
	return nil
}

// Transport returns an HTTP transport for tenant-supplied targets: a clone of
// http.DefaultTransport that dials through NewDialer(allowPrivate) and never uses a proxy.
// Callers choose their redirect policy on the http.Client (see NoRedirects) and bound each
// request with its context.
func Transport(allowPrivate bool) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = NewDialer(allowPrivate).DialContext
	t.DialTLSContext = nil
	return t
}

// NoRedirects is an http.Client CheckRedirect function that never follows a redirect: the
// client returns the 3xx response itself, with its body, to the caller.
func NoRedirects(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}
