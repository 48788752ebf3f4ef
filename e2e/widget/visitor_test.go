package widget_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-dev/switchboard/llm/llmtest"
	"github.com/switchboard-dev/switchboard/testkit"
	"github.com/switchboard-dev/switchboard/web"
)

func TestAReloadBringsTheConversationAndItsHistoryBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.click("button", launcherName)
	p.waitText(logRole, logName, "How can I help you today?")

	// Older history than one page holds, stored before this visit's question.
	var conv string
	if err := e.srv.Pool.QueryRow(context.Background(), `SELECT id FROM conversations WHERE agent_id = $1`, e.agent).Scan(&conv); err != nil {
		t.Fatal(err)
	}
	if _, err := e.srv.Pool.Exec(context.Background(), `
		INSERT INTO messages (org_id, conversation_id, direction, text)
		SELECT $1, $2, CASE WHEN g % 2 = 0 THEN 'inbound' ELSE 'outbound' END, 'Older message ' || g
		FROM generate_series(0, 39) AS g ORDER BY g`, e.demo.OrgID, conv); err != nil {
		t.Fatal(err)
	}
	e.gw.Push(llmtest.Text("The latest answer."))
	p.send("The latest question")
	p.waitText(logRole, logName, "The latest answer.")
	p.idle() // the reply is stored once the turn has ended

	p.reload()
	// The panel was open, so it opens again, on the same conversation, newest page first.
	p.waitText(logRole, logName, "The latest answer.")
	p.waitText(logRole, logName, "Older message 39")
	log := p.text(logRole, logName)
	if !strings.Contains(log, "The latest question") || strings.Contains(log, "Older message 0\n") || strings.Contains(log, "How can I help") {
		t.Fatalf("after the reload the log shows:\n%s", log)
	}
	// Scrolling to the top pages in the older messages.
	p.click(logRole, logName)
	p.press(kb.Home)
	p.waitText(logRole, logName, "Older message 0")
	p.absent("button", "Load older messages")
	if n := e.count(`SELECT count(*) FROM conversations WHERE agent_id = $1`, e.agent); n != 1 {
		t.Fatalf("%d conversations, want the one resumed", n)
	}
	if n := e.count(`SELECT count(*) FROM sessions WHERE conversation_id = $1`, conv); n != 2 {
		t.Fatalf("%d sessions on the conversation, want 2 (created, then resumed)", n)
	}
}

// hostPage serves a page on its own origin that embeds the widget with tag, under the
// strictest CSP the README asks a site for: its own origin, plus the sources the embed
// endpoint names for the server (no inline styles or scripts, no eval).
func hostPage(t *testing.T, srvURL, tag string) *httptest.Server {
	t.Helper()
	csp := "default-src 'self'; " + strings.ReplaceAll(web.EmbedFor(srvURL, "").ContentSecurityPolicy, "-src ", "-src 'self' ")
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", csp)
		_, _ = io.WriteString(w, "<!doctype html><html lang=en><head><title>Acme</title></head><body><h1>Acme shop</h1>"+tag+"</body></html>")
	}))
	t.Cleanup(hs.Close)
	return hs
}

func TestAHostPageOnAnOriginTheAgentDoesNotAllowIsRefusedClearly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	// The pinned tag the admin API hands out: hashed URL, integrity, cross-origin.
	host := hostPage(t, e.srv.URL, web.EmbedFor(e.srv.URL, e.agent.String()).Snippet)
	p := newPage(t)
	p.open(host.URL + "/")
	p.find("heading", "Acme shop")
	p.click("button", launcherName)
	p.waitText("status", "", "This chat is not enabled on this website.")
	if field := p.find("textbox", "Message"); field.props["disabled"] != "true" {
		t.Fatalf("the message field is usable after the refusal: %v", field.props)
	}
	if n := e.count(`SELECT count(*) FROM sessions`); n != 0 {
		t.Fatalf("%d sessions were created for a refused origin", n)
	}

	// Once the agent allows the site, the same tag works there.
	e.admin("PUT", "/admin/agents/"+e.agent.String(), map[string]any{
		"name": "Demo assistant", "widget": map[string]any{"allowedOrigins": []string{e.srv.URL, host.URL}},
	})
	e.gw.Push(llmtest.Text("Hello from another origin."))
	p.reload()
	p.send("Hi from Acme")
	p.waitText(logRole, logName, "Hello from another origin.")
}

func TestModelOutputIsRenderedInert(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	evil := "Look <img src=x onerror=\"window.__pwned='img'\"> here. [click me](javascript:window.__pwned='link') " +
		"[also me](data:text/html,<script>parent.__pwned='data'</script>) ![pixel](http://127.0.0.1:1/pixel.png) " +
		"<script>window.__pwned='script'</script> and a [safe link](https://example.com/safe)."
	e.gw.Push(llmtest.Text(evil))
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.chat(`My name is <img src=y onerror="window.__pwned='visitor'">`)
	p.waitText(logRole, logName, "and a safe link.")

	check := func(when string) {
		t.Helper()
		log := p.text(logRole, logName)
		for _, want := range []string{`<img src=x onerror="window.__pwned='img'">`, "<script>window.__pwned='script'</script>", `My name is <img src=y onerror="window.__pwned='visitor'">`, "click me", "also me"} {
			if !strings.Contains(log, want) {
				t.Errorf("%s: the log does not show %q as text:\n%s", when, want, log)
			}
		}
		p.absent("link", "click me (opens in a new tab)")
		p.absent("link", "click me")
		p.absent("link", "also me")
		p.find("link", "safe link")
		got := eval[string](p, `(() => {
			const root = document.querySelector('switchboard-chat').shadowRoot;
			const bad = [...root.querySelectorAll('a')].filter(a => !/^https?:/.test(a.href)).length;
			return [typeof window.__pwned, root.querySelectorAll('img,script,iframe,object').length, bad].join(',');
		})()`)
		if got != "undefined,0,0" {
			t.Errorf("%s: script ran or markup got in (pwned, elements, unsafe links): %s", when, got)
		}
	}
	p.idle()
	check("streamed")
	// The stored reply, rendered from history, is just as inert.
	p.reload()
	p.waitText(logRole, logName, "and a safe link.")
	check("from history")
}

func TestTheKeyboardAloneOpensSendsAndCloses(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.gw.Push(llmtest.Text("Hello, keyboard user."))
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.find("heading", "Switchboard")
	for i := 0; !p.focused("button", launcherName); i++ {
		if i == 30 {
			t.Fatal("Tab never reached the launcher")
		}
		p.press(kb.Tab)
	}
	p.press(kb.Enter)
	testkit.Eventually(p.t, "the message field has the focus", func() bool { return p.focused("textbox", "Message") })
	if l := p.find("button", launcherName); l.props["expanded"] != "true" {
		t.Fatalf("the open launcher is not expanded: %v", l.props)
	}
	p.press("Hi there")
	p.press(kb.Enter)
	p.waitText(logRole, logName, "Hello, keyboard user.")
	p.idle()
	p.press(kb.Escape)
	p.absent("textbox", "Message")
	testkit.Eventually(p.t, "the launcher has the focus again", func() bool { return p.focused("button", launcherName) })
	if l := p.find("button", launcherName); l.props["expanded"] != "false" {
		t.Fatalf("the closed launcher is expanded: %v", l.props)
	}
}

func TestConversationsAreListedStartedAndRenamed(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.gw.Push(llmtest.Text("Answer about billing."), llmtest.Text("Answer about shipping."))
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.chat("First topic: billing")
	p.waitText(logRole, logName, "Answer about billing.")
	p.idle() // the conversation buttons wait for the turn to end

	p.click("button", "New conversation")
	p.waitText(logRole, logName, "How can I help you today?")
	p.send("Second topic: shipping")
	p.waitText(logRole, logName, "Answer about shipping.")
	p.idle()
	if strings.Contains(p.text(logRole, logName), "billing") {
		t.Fatal("the new conversation shows the first one's messages")
	}

	p.click("button", "Conversations")
	p.find("button", "First topic: billing")
	p.find("button", "Second topic: shipping")
	p.click("button", "Rename: First topic: billing")
	// The field opens focused with the old title selected: typing replaces it.
	testkit.Eventually(p.t, "the title field has the focus", func() bool { return p.focused("textbox", "New title") })
	p.press("Invoices")
	p.press(kb.Enter)
	p.find("button", "Rename: Invoices")
	if n := e.count(`SELECT count(*) FROM conversations WHERE title = 'Invoices'`); n != 1 {
		t.Fatalf("%d conversations titled Invoices", n)
	}

	p.click("button", "Invoices")
	p.waitText(logRole, logName, "Answer about billing.")
	if strings.Contains(p.text(logRole, logName), "shipping") {
		t.Fatal("switching back shows the other conversation")
	}
	p.idle()
}

func TestErrorsAreShownInPlainWords(t *testing.T) {
	t.Parallel()
	// No key anywhere and no demo model: LLM_UNAVAILABLE.
	e := newEnv(t, map[string]string{"SWITCHBOARD_GATEWAY_KEY": "", "SWITCHBOARD_DEMO_MODEL": "0"})
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.click("button", launcherName)
	p.typeInto("textbox", "Message", "Is anyone there?")
	p.press(kb.Enter)
	p.waitText(logRole, logName, "The assistant is not available right now. Please try again later.")
	p.idle()
	// Nothing was stored, so the message goes back to the field for a later try.
	if v := eval[string](p, `document.querySelector('switchboard-chat').shadowRoot.querySelector('textarea').value`); v != "Is anyone there?" {
		t.Fatalf("the message field holds %q", v)
	}
	if n := e.count(`SELECT count(*) FROM messages`); n != 0 {
		t.Fatalf("%d messages stored", n)
	}
}

func TestARateLimitedMessageSaysWhenToRetryAndKeepsTheText(t *testing.T) {
	t.Parallel()
	// One message per session per minute (PROTOCOL-1.1 L7): the second is refused with
	// RATE_LIMITED and a retryAfterMs of up to a minute.
	e := newEnv(t, map[string]string{
		"SWITCHBOARD_WS_TURN_BURST_PER_SESSION":       "1",
		"SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE": "1",
	})
	e.gw.Push(llmtest.Text("Hello, how can I help?"))
	p := newPage(t)
	p.open(e.srv.URL + "/")
	p.click("button", launcherName)
	p.send("Hello")
	p.waitText(logRole, logName, "Hello, how can I help?")
	p.idle()

	p.typeInto("textbox", "Message", "Are you still there?")
	p.press(kb.Enter)
	p.waitText(logRole, logName, "Too many messages. Please retry in")
	p.idle()
	log := p.text(logRole, logName)
	m := regexp.MustCompile(`Too many messages\. Please retry in (\d+) s\.`).FindStringSubmatch(log)
	if m == nil {
		t.Fatalf("no retry time in the log: %q", log)
	}
	if n, _ := strconv.Atoi(m[1]); n < 1 || n > 60 {
		t.Fatalf("retry in %d s, want 1..60", n)
	}
	// The refused message was not stored and goes back to the field for the retry.
	if v := eval[string](p, `document.querySelector('switchboard-chat').shadowRoot.querySelector('textarea').value`); v != "Are you still there?" {
		t.Fatalf("the message field holds %q", v)
	}
	if n := e.count(`SELECT count(*) FROM messages`); n != 2 {
		t.Fatalf("%d messages stored, want the first exchange's 2", n)
	}
}

func TestTheCustomElementInFrenchOnASmallScreen(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	host := hostPage(t, e.srv.URL, `<script src="`+e.srv.URL+`/widget.js" async></script>`+
		`<switchboard-chat agent-id="`+e.agent.String()+`" chat-title="Aide Acme" greeting="Bonjour, ici Acme !" locale="fr" theme="dark" position="left"></switchboard-chat>`)
	e.admin("PUT", "/admin/agents/"+e.agent.String(), map[string]any{
		"name": "Demo assistant", "widget": map[string]any{"allowedOrigins": []string{host.URL}},
	})
	e.gw.Push(llmtest.Text("Bien sûr."))
	p := newPage(t)
	p.do("emulate a phone", chromedp.EmulateViewport(375, 740))
	if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}},
	}); err != nil {
		t.Fatal(err)
	}
	p.open(host.URL + "/")
	p.click("button", "Ouvrir le chat")
	p.find("dialog", "Aide Acme")
	p.waitText(logRole, logName, "Bonjour, ici Acme !")
	// Below 480 px the panel covers the screen (its stylesheet applies under the host's CSP).
	if rect := eval[string](p, `(() => { const r = document.querySelector('switchboard-chat').shadowRoot.querySelector('[role=dialog]').getBoundingClientRect(); return [r.x, r.y, r.width, r.height].join(','); })()`); rect != "0,0,375,740" {
		t.Fatalf("panel at %s, want the whole 375×740 screen", rect)
	}
	if anim := eval[string](p, `getComputedStyle(document.querySelector('switchboard-chat').shadowRoot.querySelector('[role=dialog]')).animationName`); anim != "none" {
		t.Fatalf("the panel animates (%s) although the visitor asked for reduced motion", anim)
	}
	p.send("Pouvez-vous m'aider ?")
	p.waitText(logRole, logName, "Bien sûr.")
	p.find("button", "Envoyer")
	p.click("button", "Fermer le chat")
	p.find("button", "Ouvrir le chat")
}

// signAuthContext is what an embedding site's server does (README, "Embed on your site").
func signAuthContext(secret, userID string) string {
	ts := time.Now().Unix()
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%s:%d", userID, ts)
	b, _ := json.Marshal(map[string]any{"userId": userID, "signature": hex.EncodeToString(mac.Sum(nil)), "timestamp": ts})
	return string(b)
}

func TestASignedInVisitorIsVerifiedThroughTheSitesOwnEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	const secret = "site-widget-signing-secret-123"
	var signed atomic.Int64
	host := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/switchboard-auth" { // the site knows its visitor from its own session
			signed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, signAuthContext(secret, "dana"))
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, `<!doctype html><html lang=en><head><title>Acme</title></head><body><h1>Acme account</h1>`+
			`<script src="`+e.srv.URL+`/widget.js" data-agent-id="`+e.agent.String()+`" data-auth-context-url="/switchboard-auth" async></script></body></html>`)
	}))
	t.Cleanup(host.Close)
	e.admin("PUT", "/admin/agents/"+e.agent.String(), map[string]any{
		"name":   "Demo assistant",
		"widget": map[string]any{"allowedOrigins": []string{host.URL}, "requireAuthContext": true, "signingSecret": secret},
	})
	e.gw.Push(llmtest.Text("Hello Dana."))
	p := newPage(t)
	p.open(host.URL + "/")
	p.chat("Hi, it's me")
	p.waitText(logRole, logName, "Hello Dana.")
	if n := e.count(`SELECT count(*) FROM participants WHERE external_id = 'ctx:dana'`); n != 1 {
		t.Fatalf("%d participants are ctx:dana", n)
	}
	if signed.Load() < 1 {
		t.Fatal("the site's endpoint was never asked")
	}
}
