package widget_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/switchboard-dev/switchboard/testkit"
)

// The browser: Debian's chromium, headless, started once for the package with a fresh
// profile and everything that would reach the network switched off. Each test gets its own
// browser context (like a private window), so storage never leaks between tests.
var browser context.Context

// chromiumNames are the executables tried, in order, on PATH.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

func startBrowser() (stop func(), err error) {
	var path string
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, errors.New("no Chromium on PATH: `make test` installs Debian's chromium (scripts/test-deps.sh), or run apt-get install -y chromium")
	}
	profile, err := os.MkdirTemp("", "switchboard-widget-e2e-")
	if err != nil {
		return nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(profile),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.WindowSize(1280, 860),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(profile) // a leftover temporary profile is harmless
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	browser = ctx
	return func() {
		cancelBrowser()
		cancelAlloc()
		_ = os.RemoveAll(profile) // a leftover temporary profile is harmless
	}, nil
}

// waitBound bounds every wait for the page: a hang guard, not a timing assertion.
const waitBound = 20 * time.Second

// page is one browser tab, driven the way a person would: elements are found by role and
// accessible name in the accessibility tree (which reaches into the widget's shadow root),
// clicked with the mouse at their centre, and typed into with key events.
type page struct {
	t   *testing.T
	ctx context.Context
}

func newPage(t *testing.T) *page {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return &page{t: t, ctx: ctx}
}

func (p *page) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitBound)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %v", what, err)
	}
}

func (p *page) open(url string) { p.t.Helper(); p.do("navigate to "+url, chromedp.Navigate(url)) }

func (p *page) reload() { p.t.Helper(); p.do("reload", chromedp.Reload()) }

// press sends keys (kb.Enter, kb.Escape, "\t", or text to type) to the focused element.
func (p *page) press(keys string) { p.t.Helper(); p.do("press "+keys, chromedp.KeyEvent(keys)) }

// eval runs JavaScript in the page and decodes its value into T.
func eval[T any](p *page, js string) T {
	p.t.Helper()
	v, err := chromedp.Run(p.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// axNode is an element found in the accessibility tree.
type axNode struct {
	backend cdp.BackendNodeID
	props   map[string]string
}

// query returns the elements with role and accessible name that are not ignored (hidden).
func (p *page) query(role, name string) ([]axNode, error) {
	doc, err := chromedp.Call(p.ctx, dom.GetDocument, dom.GetDocumentParams{Depth: ptr[int64](0)})
	if err != nil {
		return nil, err
	}
	res, err := chromedp.Call(p.ctx, accessibility.QueryAXTree, accessibility.QueryAXTreeParams{
		BackendNodeID: doc.Root.BackendNodeID, Role: role, AccessibleName: name,
	})
	if err != nil {
		return nil, err
	}
	var out []axNode
	for _, n := range res.Nodes {
		if n.Ignored || n.BackendDOMNodeID == 0 {
			continue
		}
		props := map[string]string{}
		for _, pr := range n.Properties {
			if pr.Value != nil {
				props[string(pr.Name)] = strings.Trim(string(pr.Value.Value), `"`)
			}
		}
		out = append(out, axNode{backend: n.BackendDOMNodeID, props: props})
	}
	return out, nil
}

// find waits for exactly one visible element with role and name.
func (p *page) find(role, name string) axNode {
	p.t.Helper()
	var found []axNode
	testkit.Eventually(p.t, fmt.Sprintf("a %s named %q", role, name), func() bool {
		var err error
		found, err = p.query(role, name)
		return err == nil && len(found) > 0
	})
	if len(found) > 1 {
		p.t.Fatalf("%d elements are a %s named %q", len(found), role, name)
	}
	return found[0]
}

// absent waits until no element has role and name.
func (p *page) absent(role, name string) {
	p.t.Helper()
	testkit.Eventually(p.t, fmt.Sprintf("no %s named %q", role, name), func() bool {
		found, err := p.query(role, name)
		return err == nil && len(found) == 0
	})
}

// click clicks the centre of the element with role and name, as a mouse would.
func (p *page) click(role, name string) {
	p.t.Helper()
	n := p.find(role, name)
	if _, err := chromedp.Call(p.ctx, dom.ScrollIntoViewIfNeeded, dom.ScrollIntoViewIfNeededParams{BackendNodeID: n.backend}); err != nil {
		p.t.Fatalf("scroll to %s %q: %v", role, name, err)
	}
	quads, err := chromedp.Call(p.ctx, dom.GetContentQuads, dom.GetContentQuadsParams{BackendNodeID: n.backend})
	if err != nil || len(quads.Quads) == 0 {
		p.t.Fatalf("locate %s %q: %v", role, name, err)
	}
	q := quads.Quads[0]
	x, y := (q[0]+q[2]+q[4]+q[6])/4, (q[1]+q[3]+q[5]+q[7])/4
	p.do(fmt.Sprintf("click %s %q", role, name), chromedp.MouseClickXY(x, y))
}

// typeInto clicks the field with role and name and types text into it.
func (p *page) typeInto(role, name, text string) {
	p.t.Helper()
	p.click(role, name)
	p.press(text)
}

// text is the rendered text (innerText) of the element with role and name.
func (p *page) text(role, name string) string {
	p.t.Helper()
	n := p.find(role, name)
	return p.innerText(n)
}

func (p *page) innerText(n axNode) string {
	p.t.Helper()
	obj, err := chromedp.Call(p.ctx, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: n.backend})
	if err != nil {
		p.t.Fatalf("resolve node: %v", err)
	}
	res, err := chromedp.Call(p.ctx, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: "function(){ return this.innerText }", ObjectID: obj.Object.ObjectID, ReturnByValue: ptr(true),
	})
	if err != nil || res.Result == nil {
		p.t.Fatalf("read text: %v", err)
	}
	var s string
	if err := json.Unmarshal([]byte(res.Result.Value), &s); err != nil {
		p.t.Fatalf("read text: %v", err)
	}
	return s
}

// waitText waits until an element with role and name shows want.
func (p *page) waitText(role, name, want string) {
	p.t.Helper()
	last := ""
	defer func() { // runs when Eventually gives up, too
		if p.t.Failed() {
			p.t.Logf("%s %q shows:\n%s", role, name, last)
		}
	}()
	testkit.Eventually(p.t, fmt.Sprintf("%s %q to show %q", role, name, want), func() bool {
		found, err := p.query(role, name)
		for i := 0; err == nil && i < len(found); i++ {
			if last = p.innerText(found[i]); strings.Contains(last, want) {
				return true
			}
		}
		return false
	})
}

// focused reports whether the element with role and name has the keyboard focus.
func (p *page) focused(role, name string) bool {
	p.t.Helper()
	found, err := p.query(role, name)
	return err == nil && len(found) == 1 && found[0].props["focused"] == "true"
}

// The widget's landmarks, by role and accessible name (the strings of web/widget/src/i18n.ts).
const (
	launcherName = "Open chat"
	closeName    = "Close chat"
	logRole      = "log"
	logName      = "Conversation"
)

// chat opens the widget with the launcher and sends message from the textbox.
func (p *page) chat(message string) {
	p.t.Helper()
	if found, _ := p.query("textbox", "Message"); len(found) == 0 {
		p.click("button", launcherName)
	}
	p.send(message)
}

// send types message into the open widget and sends it with Enter.
func (p *page) send(message string) {
	p.t.Helper()
	p.typeInto("textbox", "Message", message)
	p.press(kb.Enter)
	p.waitText(logRole, logName, message)
}

// idle waits until the widget is ready for the next message (Send back, Stop gone).
func (p *page) idle() {
	p.t.Helper()
	p.find("button", "Send")
	p.absent("button", "Stop")
}

func ptr[T any](v T) *T { return &v }
