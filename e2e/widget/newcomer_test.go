package widget_test

import (
	"bytes"
	"context"
	"image/png"
	"io"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/jobs"
	"github.com/switchboard-dev/switchboard/knowledge"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/testkit"
)

// seededDemo is what `make run` gives a newcomer: a development server without any gateway
// key, so switchboard-demo answers at its readable pace, and the demo seeded exactly as
// `switchboard demo` seeds it, its documents indexed by the server's own workers.
func seededDemo(t *testing.T) *servetest.Server {
	t.Helper()
	srv := servetest.Start(t, map[string]string{"SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY": "20ms"})
	kn, err := knowledge.New(srv.Store, jobs.New(srv.Store, jobs.Options{}), knowledge.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	k, err := auth.NewAPIKey()
	if err != nil {
		t.Fatal(err)
	}
	seeded, err := demo.Ensure(context.Background(), srv.Store, kn,
		store.NewAPIKeyRow{Name: "bootstrap", Role: "admin", Hash: k.Hash, Prefix: k.Prefix, Last4: k.Last4}, []string{srv.URL})
	if err != nil || seeded.Run == nil {
		t.Fatalf("seed: %+v %v", seeded, err)
	}
	testkit.Eventually(t, "the demo's documents to be indexed", func() bool {
		var status string
		_ = srv.Pool.QueryRow(context.Background(), `SELECT status FROM indexing_runs WHERE id = $1`, seeded.Run.ID).Scan(&status)
		if status == "failed" || status == "cancelled" {
			t.Fatalf("indexing run %s", status)
		}
		return status == "succeeded"
	})
	return srv
}

// watchReplies records every text the widget's conversation log shows, as it changes.
const watchReplies = `(() => {
  const log = document.querySelector('switchboard-chat').shadowRoot.querySelector('[role=log]');
  window.__sbTexts = [];
  new MutationObserver(() => window.__sbTexts.push(log.innerText)).observe(log, {subtree: true, childList: true, characterData: true});
  return true;
})()`

func TestANewcomerAsksTheSeededDemoAndRunsItsTool(t *testing.T) {
	t.Parallel()
	srv := seededDemo(t)
	p := newPage(t)
	p.open(srv.URL + "/")
	p.find("heading", "Switchboard")
	p.click("button", launcherName)
	p.find("dialog", "Demo assistant")
	if !eval[bool](p, watchReplies) {
		t.Fatal("cannot watch the conversation log")
	}

	// The first question gets a streamed answer that quotes the seeded document, with its source.
	const quote = "To embed the widget on your website, add one script tag to every page that should show the chat"
	p.send("How do I embed the widget?")
	p.waitText(logRole, logName, "Quoted by switchboard-demo")
	p.idle()
	log := p.text(logRole, logName)
	if !strings.Contains(log, quote) || !strings.Contains(log, `<script src="https://chat.example.com/widget.js" data-agent-id="AGENT_ID" async></script>`) ||
		!strings.Contains(log, "Used knowledge_search") {
		t.Fatalf("the conversation shows:\n%s", log)
	}
	p.find("link", "How to embed the widget (opens in a new tab)")
	// Streamed: the log showed the quote before the answer's last line was written.
	partial := false
	for _, s := range eval[[]string](p, `window.__sbTexts`) {
		if strings.Contains(s, "To embed the widget") && !strings.Contains(s, "Quoted by switchboard-demo") {
			partial = true
			break
		}
	}
	if !partial {
		t.Fatal("the answer never showed in part: it was not streamed")
	}
	// The quote is Markdown: a block quote holding the tag as code, not as HTML.
	if code := eval[string](p, `document.querySelector('switchboard-chat').shadowRoot.querySelector('.bot blockquote code')?.textContent ?? ''`); !strings.HasPrefix(code, "<script src=") {
		t.Fatalf("quoted code %q", code)
	}
	screenshot(t, p)

	// The seeded tool asks for approval, runs once approved, and the model reports its result.
	p.send(`/tool create_ticket {"subject":"test"}`)
	card := p.text("group", "Approval needed")
	if !strings.Contains(card, "create_ticket") || !strings.Contains(card, "test") {
		t.Fatalf("approval card %q", card)
	}
	p.click("button", "Approve")
	p.waitText(logRole, logName, "I called create_ticket. It answered:")
	p.waitText("group", "Approval needed", "Approved.")
	p.idle()
	if log := p.text(logRole, logName); !strings.Contains(log, `"ticket": "DEMO-`) || !strings.Contains(log, `"subject": "test"`) {
		t.Fatalf("the conversation shows:\n%s", log)
	}
}

// screenshot checks the page's picture and, with -update-screenshot, writes it to docs/.
func screenshot(t *testing.T, p *page) {
	t.Helper()
	shot, err := chromedp.Run(p.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil || img.Bounds().Dx() < 800 {
		t.Fatalf("screenshot: %v %v", err, img)
	}
	if *updateScreenshot {
		if err := os.WriteFile(screenshotPath, shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestTheAPIReferenceShowsTheOperationsAndLoadsNothingFromElsewhere(t *testing.T) {
	t.Parallel()
	srv := servetest.Start(t, nil)
	p := newPage(t)
	var mu sync.Mutex
	var requested []string
	// chromedp enables the Network domain on every tab: each request the page makes is an event.
	if err := chromedp.Listen(p.ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requested = append(requested, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	p.open(srv.URL + "/docs")
	// Operations of /openapi.json, rendered by Redoc as headings (whose accessible names also
	// hold their anchors' labels, so they are matched by their text).
	for _, op := range []string{"Create an API key (its plaintext is returned once)", "List API keys, newest first"} {
		testkit.Eventually(t, "a heading "+op, func() bool {
			hs, err := p.query("heading", "")
			for i := 0; err == nil && i < len(hs); i++ {
				if strings.TrimSpace(p.innerText(hs[i])) == op {
					return true
				}
			}
			return false
		})
	}

	mu.Lock()
	defer mu.Unlock()
	server, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	var sawSpec bool
	for _, raw := range requested {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("request to %q", raw)
		}
		switch {
		case u.Scheme == "data" || u.Scheme == "blob":
			// In the page itself: nothing leaves the browser.
		case u.Scheme != "http" || u.Host != server.Host:
			t.Errorf("the page requested %s, outside the server", raw)
		case u.Path == "/openapi.json":
			sawSpec = true
		}
	}
	if !sawSpec || len(requested) < 3 {
		t.Fatalf("requests %v: want the page, its script and /openapi.json", requested)
	}
}
