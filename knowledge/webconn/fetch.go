// Package webconn is the fetching half of the `web` connector (ADMIN-API §9.11): it
// reads a sitemap (and a sitemap index, one level deep) into a list of page URLs, and
// fetches one page as a title and plain text. Every request goes through netguard (§6.4):
// URLs and each redirect hop are validated, and the dialer refuses non-public addresses
// unless private targets are allowed.
//
// It never touches the database, never follows more than MaxRedirects redirects, never
// reads more than MaxBytes of a response, and never puts more than 64 characters of a
// tenant URL into an error message.
package webconn

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html/charset"

	"github.com/switchboard-dev/switchboard/netguard"
)

// Limits of a web connector run (§9.11).
const (
	PageTimeout  = 15 * time.Second
	MaxBytes     = 5 << 20
	MaxRedirects = 5
	userAgent    = "Switchboard-Connector/1 (+web)"
)

// Options configure a Fetcher; zero values take the limits above.
type Options struct {
	AllowPrivate bool          // SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS
	Timeout      time.Duration // per request, body included
	MaxBytes     int64
}

// Fetcher fetches pages and sitemaps for connector runs. It is safe for concurrent use.
type Fetcher struct {
	client   *http.Client
	allow    bool
	timeout  time.Duration
	maxBytes int64
}

// New returns a Fetcher whose transport is netguard's guarded one.
func New(o Options) *Fetcher {
	f := &Fetcher{allow: o.AllowPrivate, timeout: o.Timeout, maxBytes: o.MaxBytes}
	if f.timeout <= 0 {
		f.timeout = PageTimeout
	}
	if f.maxBytes <= 0 {
		f.maxBytes = MaxBytes
	}
	f.client = &http.Client{
		Transport: netguard.Transport(o.AllowPrivate),
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > MaxRedirects {
				return &Error{Reason: fmt.Sprintf("more than %d redirects", MaxRedirects)}
			}
			u := *req.URL
			u.Fragment, u.RawFragment = "", ""
			if err := netguard.ValidateURL(u.String(), f.allow); err != nil {
				return &Error{Reason: "redirect target " + err.Error()}
			}
			return nil
		},
	}
	return f
}

// Error is a failed fetch. Transient is true when trying again later may succeed (a
// timeout, a network failure, HTTP 408, 429 or 5xx); otherwise the resource is not
// there or not usable (4xx, a refused address, an unsupported type, too large).
type Error struct {
	Reason    string
	Transient bool
}

func (e *Error) Error() string { return e.Reason }

// Page is a fetched page reduced to text.
type Page struct {
	Title string // from <title>; "" when the page has none
	Text  string
}

// kind of a response body, from its media type.
type kind int

const (
	kindOther kind = iota
	kindHTML
	kindText
	kindXML
)

func mediaKind(contentType string, sniff []byte) kind {
	mt, _, err := mime.ParseMediaType(contentType)
	if contentType == "" || err != nil {
		mt, _, _ = mime.ParseMediaType(http.DetectContentType(sniff))
	}
	switch mt {
	case "text/html", "application/xhtml+xml":
		return kindHTML
	case "text/plain", "text/markdown", "text/x-markdown":
		return kindText
	case "application/xml", "text/xml", "application/gzip", "application/x-gzip":
		return kindXML
	}
	return kindOther
}

// get performs one guarded GET and returns the body (at most maxBytes, decoded to UTF-8
// for text kinds) and its kind.
func (f *Fetcher) get(ctx context.Context, rawURL string, accept string) ([]byte, kind, error) {
	if err := netguard.ValidateURL(rawURL, f.allow); err != nil {
		return nil, kindOther, &Error{Reason: "url " + err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, kindOther, &Error{Reason: "invalid url"}
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("Accept", accept)
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, kindOther, classify(ctx, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		// Drain a little so the connection can be reused; a failed drain costs only that.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		c := resp.StatusCode
		return nil, kindOther, &Error{Reason: fmt.Sprintf("HTTP %d", c), Transient: c == 408 || c == 429 || c >= 500}
	}
	br := bufio.NewReaderSize(resp.Body, 1024)
	head, _ := br.Peek(512)
	ct := resp.Header.Get("Content-Type")
	k := mediaKind(ct, head)
	var body io.Reader = br
	if k == kindHTML || k == kindText {
		if r, err := charset.NewReader(br, ct); err == nil {
			body = r
		}
	}
	b, err := io.ReadAll(io.LimitReader(body, f.maxBytes+1))
	if err != nil {
		return nil, kindOther, classify(ctx, err)
	}
	if int64(len(b)) > f.maxBytes {
		return nil, kindOther, &Error{Reason: fmt.Sprintf("larger than %d bytes", f.maxBytes)}
	}
	return b, k, nil
}

func classify(ctx context.Context, err error) error {
	var fe *Error
	switch {
	case errors.As(err, &fe):
		return fe
	case errors.Is(err, netguard.ErrRefusedAddress):
		return &Error{Reason: "address refused (private or loopback)"}
	case ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded):
		return &Error{Reason: "timed out", Transient: true}
	case errors.Is(err, context.Canceled):
		return err // the run is stopping; not the page's fault
	}
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return &Error{Reason: "timed out", Transient: true}
	}
	return &Error{Reason: "request failed", Transient: true}
}

// Page fetches rawURL: HTML is reduced to text with its <title>; text/plain and
// text/markdown are taken as is; any other type is an *Error. A page whose text is empty
// is an *Error too.
func (f *Fetcher) Page(ctx context.Context, rawURL string) (Page, error) {
	b, k, err := f.get(ctx, rawURL, "text/html, application/xhtml+xml, text/markdown, text/plain;q=0.9")
	if err != nil {
		return Page{}, err
	}
	var p Page
	switch k {
	case kindHTML:
		p.Title, p.Text = HTMLText(clean(b))
	case kindText:
		p.Text = strings.TrimSpace(clean(b))
	default:
		return Page{}, &Error{Reason: "unsupported content type"}
	}
	if strings.TrimSpace(p.Text) == "" {
		return Page{}, &Error{Reason: "no text"}
	}
	return p, nil
}

// clean makes fetched bytes storable: valid UTF-8 without U+0000.
func clean(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// Echo renders a URL for a run error: at most 64 characters.
func Echo(u string) string {
	if utf8.RuneCountInString(u) > 64 {
		u = string([]rune(u)[:64]) + "…"
	}
	return u
}
