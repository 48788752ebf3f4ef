package webconn

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestHTMLTextKeepsReadableTextAndTitle(t *testing.T) {
	title, text := HTMLText(`<!doctype html><html><head><title>  Refund
	policy </title><style>.x{}</style><script>alert(1)</script></head>
<body><h1>Refunds</h1><p>Refunds are <b>issued</b>within 30 days.<br>Ask us.</p>
<ul><li>One</li><li>Two</li></ul><noscript>enable js</noscript><pre>a  b
c</pre><table><tr><td>x</td><td>y</td></tr></table></body></html>`)
	if title != "Refund policy" {
		t.Errorf("title = %q", title)
	}
	want := "Refunds\n\nRefunds are issuedwithin 30 days.\nAsk us.\n\nOne\n\nTwo\n\na  b\nc\n\nx y"
	if text != want {
		t.Errorf("text = %q\nwant %q", text, want)
	}
}

func TestSitemapIndexIsFollowedOneLevelUpToMaxPages(t *testing.T) {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/index.xml":
			fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%[1]s/one.xml</loc></sitemap><sitemap><loc>%[1]s/nested.xml</loc></sitemap><sitemap><loc>%[1]s/two.xml</loc></sitemap></sitemapindex>`, srv.URL)
		case "/one.xml":
			fmt.Fprintf(w, `<urlset><url><loc>%[1]s/a</loc></url><url><loc>ftp://bad/</loc></url><url><loc>%[1]s/a</loc></url><url><loc>%[1]s/b</loc></url></urlset>`, srv.URL)
		case "/nested.xml":
			fmt.Fprintf(w, `<sitemapindex><sitemap><loc>%s/deep.xml</loc></sitemap></sitemapindex>`, srv.URL)
		case "/two.xml":
			fmt.Fprintf(w, `<urlset><url><loc>%[1]s/c</loc></url><url><loc>%[1]s/d</loc></url></urlset>`, srv.URL)
		case "/html":
			fmt.Fprint(w, `<html><body>not a sitemap</body></html>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	f := New(Options{AllowPrivate: true})
	got, err := f.Sitemap(context.Background(), srv.URL+"/index.xml", 3)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != srv.URL+"/a,"+srv.URL+"/b,"+srv.URL+"/c" {
		t.Fatalf("urls = %v", got)
	}
	for _, path := range []string{"/missing.xml", "/html"} {
		_, err := f.Sitemap(context.Background(), srv.URL+path, 10)
		var fe *Error
		if !errors.As(err, &fe) || !strings.HasPrefix(fe.Reason, "sitemap ") {
			t.Errorf("%s: %v", path, err)
		}
	}
}

func TestPageFetchLimits(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/loop":
			http.Redirect(w, r, "/loop", http.StatusFound)
		case "/to-private":
			http.Redirect(w, r, "http://10.0.0.1/", http.StatusFound)
		case "/big":
			w.Header().Set("Content-Type", "text/plain")
			w.Write([]byte(strings.Repeat("a", 2048)))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		case "/latin1":
			w.Header().Set("Content-Type", "text/plain; charset=iso-8859-1")
			w.Write([]byte("caf\xe9"))
		case "/json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"a":1}`)
		case "/500":
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	f := New(Options{AllowPrivate: true, Timeout: 200 * time.Millisecond, MaxBytes: 1024})
	for _, tc := range []struct {
		path      string
		reason    string
		transient bool
	}{
		{"/loop", "more than 5 redirects", false},
		{"/big", "larger than 1024 bytes", false},
		{"/slow", "timed out", true},
		{"/json", "unsupported content type", false},
		{"/500", "HTTP 500", true},
		{"/nothing", "no text", false},
	} {
		_, err := f.Page(context.Background(), srv.URL+tc.path)
		var fe *Error
		if !errors.As(err, &fe) || fe.Reason != tc.reason || fe.Transient != tc.transient {
			t.Errorf("%s: %v (%+v)", tc.path, err, fe)
		}
	}
	p, err := f.Page(context.Background(), srv.URL+"/latin1")
	if err != nil || p.Text != "café" {
		t.Errorf("latin1 page = %+v, %v", p, err)
	}
	strict := New(Options{AllowPrivate: false})
	// Each redirect hop is checked: a private target is refused before any request.
	_, err = strict.Page(context.Background(), "http://127.0.0.1:1/")
	var fe *Error
	if !errors.As(err, &fe) || fe.Transient {
		t.Errorf("private url: %v", err)
	}
	_, err = f.Page(context.Background(), srv.URL+"/to-private")
	if err == nil {
		t.Error("redirect to 10.0.0.1 with private allowed should still fail to connect or be refused")
	}
}
