// Command widget measures the chat widget: its bundle size (raw and gzipped, as served) and,
// in headless Chromium on this machine, the time from the start of a page load to the
// launcher being interactive (the widget's performance mark "switchboard:launcher-ready",
// set once the button is in the page with its handlers; the bundle marks its own first
// statement "switchboard:script"). Each run loads a small host page in
// a fresh browser context (nothing cached) from the real web routes of the server, over
// loopback. The floor, measured in the same runs, is the same page's DOMContentLoaded.
//
// It measures; it asserts nothing. bench/widget/run.sh runs it; bench/README.md records the
// figures.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/web"
)

func main() {
	runs := flag.Int("n", 30, "page loads measured (after 3 unmeasured ones)")
	flag.Parse()
	if err := run(*runs); err != nil {
		fmt.Fprintln(os.Stderr, "bench/widget:", err)
		os.Exit(1)
	}
}

func run(runs int) error {
	fmt.Printf("bundle: %.1f KB raw, %.1f KB gzipped (%d / %d bytes; budget 35 KB gzipped)\n",
		float64(web.Widget.Size)/1024, float64(web.Widget.GzipSize)/1024, web.Widget.Size, web.Widget.GzipSize)

	url, stop, err := serveHostPage()
	if err != nil {
		return err
	}
	defer stop()
	browser, closeBrowser, err := startChromium()
	if err != nil {
		return err
	}
	defer closeBrowser()

	var ready, own, dcl []float64
	for i := 0; i < runs+3; i++ {
		r, o, d, err := measure(browser, url)
		if err != nil {
			return err
		}
		if i >= 3 { // the first loads warm the browser process up, not the page
			ready, own, dcl = append(ready, r), append(own, o), append(dcl, d)
		}
	}
	fmt.Printf("runs=%d, each in a fresh browser context (cold cache), page and widget over loopback\n", runs)
	fmt.Printf("page load to launcher interactive: %s\n", summary(ready))
	fmt.Printf("  of which the widget's script, from its first statement: %s\n", summary(own))
	fmt.Printf("floor (DOMContentLoaded of the same page): %s\n", summary(dcl))
	return nil
}

// serveHostPage serves a page embedding the widget (pinned URL with its integrity, as the
// admin API hands it out) next to the real widget routes.
func serveHostPage() (string, func(), error) {
	cfg, err := config.LoadFrom(func(k string) (string, bool) {
		if k == "SWITCHBOARD_PLAYGROUND" {
			return "0", true
		}
		return "", false
	})
	if err != nil {
		return "", nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	base := "http://" + ln.Addr().String()
	page := `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title></head><body>` +
		`<h1>A host page</h1><p>Some content.</p>` + web.EmbedFor(base, "00000000-0000-4000-8000-000000000000").Snippet + `</body></html>`
	host := func(app *fiber.App) {
		app.Get("/host", func(c *fiber.Ctx) error {
			c.Set(fiber.HeaderContentType, fiber.MIMETextHTMLCharsetUTF8)
			c.Set(fiber.HeaderCacheControl, "no-store")
			return c.SendString(page)
		})
	}
	srv := api.New(api.Deps{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, web.Mount(web.Deps{Config: cfg}), host)
	go func() { _ = srv.App().Listener(ln) }()
	return base + "/host", func() { _ = srv.App().Shutdown() }, nil
}

func startChromium() (context.Context, func(), error) {
	var path string
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		return nil, nil, errors.New("no Chromium on PATH (scripts/ensure-chromium.sh installs Debian's)")
	}
	profile, err := os.MkdirTemp("", "switchboard-bench-widget-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.UserDataDir(profile), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-background-networking", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		cancelAlloc()
		return nil, nil, err
	}
	return ctx, func() { cancel(); cancelAlloc(); _ = os.RemoveAll(profile) }, nil // a leftover temporary profile is harmless
}

// measure loads url in a fresh browser context and returns, in milliseconds, when the
// launcher became interactive (from the start of the navigation), how long the widget's
// script took from the start of its execution to that point, and when the page's DOM was
// loaded (from the start of the navigation).
func measure(browser context.Context, url string) (ready, own, dcl float64, err error) {
	ctx, cancel := chromedp.NewContext(browser, chromedp.WithNewBrowserContext())
	defer cancel()
	ctx, cancelTimeout := context.WithTimeout(ctx, 30*time.Second)
	defer cancelTimeout()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		return 0, 0, 0, err
	}
	const probe = `(() => {
		const m = performance.getEntriesByName('switchboard:launcher-ready')[0];
		const nav = performance.getEntriesByType('navigation')[0];
		const s = performance.getEntriesByName('switchboard:script')[0];
		return m && nav && s ? [m.startTime, m.startTime - s.startTime, nav.domContentLoadedEventEnd] : null;
	})()`
	for {
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](probe))
		if err == nil && len(v) == 3 {
			return v[0], v[1], v[2], nil
		}
		if ctx.Err() != nil {
			return 0, 0, 0, fmt.Errorf("the launcher never became ready: %w", errors.Join(ctx.Err(), err))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func summary(ms []float64) string {
	s := slices.Clone(ms)
	slices.Sort(s)
	return fmt.Sprintf("median %.1f ms (min %.1f, p90 %.1f, max %.1f)", s[len(s)/2], s[0], s[len(s)*9/10], s[len(s)-1])
}
