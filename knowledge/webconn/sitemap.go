package webconn

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/switchboard-dev/switchboard/netguard"
)

// Sitemap reads the sitemap at rawURL and returns its page URLs in document order,
// without duplicates, at most maxPages of them. A sitemap index is followed one level:
// the sitemaps it lists are read in order (an index inside an index is ignored) until
// maxPages URLs are found. Entries that are not acceptable URLs under §6.4 are left out.
// Any sitemap that cannot be fetched or parsed fails the whole call, so that a run never
// mistakes an unreachable sitemap for pages that disappeared.
func (f *Fetcher) Sitemap(ctx context.Context, rawURL string, maxPages int) ([]string, error) {
	root, err := f.readSitemap(ctx, rawURL)
	if err != nil {
		return nil, err
	}
	out := newURLList(maxPages, f.allow)
	if !root.index {
		out.add(root.locs)
		return out.urls, nil
	}
	for _, child := range root.locs {
		if out.full() {
			break
		}
		if netguard.ValidateURL(child, f.allow) != nil {
			continue
		}
		sm, err := f.readSitemap(ctx, child)
		if err != nil {
			return nil, err
		}
		if !sm.index {
			out.add(sm.locs)
		}
	}
	return out.urls, nil
}

type urlList struct {
	urls  []string
	seen  map[string]bool
	max   int
	allow bool
}

func newURLList(max int, allow bool) *urlList {
	return &urlList{seen: map[string]bool{}, max: max, allow: allow}
}

func (l *urlList) full() bool { return len(l.urls) >= l.max }

func (l *urlList) add(locs []string) {
	for _, u := range locs {
		if l.full() {
			return
		}
		if l.seen[u] || netguard.ValidateURL(u, l.allow) != nil {
			continue
		}
		l.seen[u] = true
		l.urls = append(l.urls, u)
	}
}

type sitemap struct {
	index bool // a <sitemapindex>: locs are sitemaps
	locs  []string
}

func (f *Fetcher) readSitemap(ctx context.Context, rawURL string) (sitemap, error) {
	b, _, err := f.get(ctx, rawURL, "application/xml, text/xml;q=0.9, */*;q=0.1")
	if err != nil {
		var fe *Error
		if errors.As(err, &fe) {
			return sitemap{}, &Error{Reason: "sitemap " + Echo(rawURL) + ": " + fe.Reason, Transient: fe.Transient}
		}
		return sitemap{}, err
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return sitemap{}, &Error{Reason: "sitemap " + Echo(rawURL) + ": bad gzip data"}
		}
		b, err = io.ReadAll(io.LimitReader(zr, f.maxBytes+1))
		if err != nil || int64(len(b)) > f.maxBytes {
			return sitemap{}, &Error{Reason: "sitemap " + Echo(rawURL) + ": bad or oversized gzip data"}
		}
	}
	sm, err := parseSitemap(b)
	if err != nil {
		return sitemap{}, &Error{Reason: "sitemap " + Echo(rawURL) + ": " + err.Error()}
	}
	return sm, nil
}

// parseSitemap reads <urlset><url><loc> or <sitemapindex><sitemap><loc>, ignoring
// namespaces and every other element.
func parseSitemap(b []byte) (sitemap, error) {
	dec := xml.NewDecoder(bytes.NewReader(b))
	dec.Strict = false
	var sm sitemap
	var stack []string
	rootSeen := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return sitemap{}, fmt.Errorf("not valid XML")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			name := t.Name.Local
			if !rootSeen {
				rootSeen = true
				switch name {
				case "urlset":
				case "sitemapindex":
					sm.index = true
				default:
					return sitemap{}, fmt.Errorf("not a sitemap (root element <%s>)", Echo(name))
				}
			}
			stack = append(stack, name)
			if name == "loc" && len(stack) == 3 {
				var loc string
				if err := dec.DecodeElement(&loc, &t); err != nil {
					return sitemap{}, fmt.Errorf("not valid XML")
				}
				stack = stack[:len(stack)-1]
				if loc = strings.TrimSpace(loc); loc != "" {
					sm.locs = append(sm.locs, loc)
				}
			}
		case xml.EndElement:
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		}
	}
	if !rootSeen {
		return sitemap{}, fmt.Errorf("not a sitemap (empty document)")
	}
	return sm, nil
}
