// Package web serves the browser side of Switchboard from the binary: the embeddable chat
// widget (the TypeScript project in web/widget, built with npm; its bundle
// web/widget/dist/widget.js is committed and embedded here) at /widget.js and at an
// immutable content-hashed URL, the try-it page at /, and the API reference page at /docs
// (Redoc, built with npm in web/docs, its bundle web/docs/dist/docs.js committed and
// embedded the same way). It needs no Node at run time, loads nothing from another origin,
// serves nothing but these, and never reads a request body.
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

//go:embed widget/dist/widget.js
var widgetJS []byte

//go:embed docs/dist/docs.js
var docsJS []byte

// Bundle is one embedded script with what its URLs and caching need.
type Bundle struct {
	// Path is the content-hashed URL path, /<dir>/<hash>.js; its response never changes.
	Path string
	// Integrity is the Subresource Integrity value of the script (sha384-<base64>).
	Integrity string
	// Size and GzipSize are the script's bytes as served, plain and gzip-compressed.
	Size, GzipSize int

	etag string
	raw  []byte
	gz   []byte
}

// Widget is the embedded chat widget; Docs the script of the API reference page.
var (
	Widget = newBundle("widget", widgetJS)
	Docs   = newBundle("docs", docsJS)
)

func newBundle(dir string, raw []byte) *Bundle {
	sum := sha256.Sum256(raw)
	hash := hex.EncodeToString(sum[:10])
	sri := sha512.Sum384(raw)
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	_, _ = zw.Write(raw)
	_ = zw.Close()
	return &Bundle{
		Path:      "/" + dir + "/" + hash + ".js",
		Integrity: "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
		Size:      len(raw),
		GzipSize:  buf.Len(),
		etag:      `"` + hash + `"`,
		raw:       raw,
		gz:        buf.Bytes(),
	}
}

// Cache lifetimes: the loader URL follows server upgrades within minutes; a hashed URL
// names one exact build, so caches may keep it for good.
const (
	loaderCache = "public, max-age=300"
	hashedCache = "public, max-age=31536000, immutable"
)

// serve answers with the bundle: compressed when the client accepts gzip, 304 when its
// cached copy is current. Embedding pages on any origin load it, with SRI (which needs
// CORS for a cross-origin script), so it is readable cross-origin.
func (b *Bundle) serve(c *fiber.Ctx, cacheControl string) error {
	c.Set(fiber.HeaderContentType, "text/javascript; charset=utf-8")
	c.Set(fiber.HeaderCacheControl, cacheControl)
	c.Set(fiber.HeaderETag, b.etag)
	c.Set(fiber.HeaderVary, fiber.HeaderAcceptEncoding)
	c.Set(fiber.HeaderXContentTypeOptions, "nosniff")
	c.Set(fiber.HeaderAccessControlAllowOrigin, "*")
	c.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if inm := c.Get(fiber.HeaderIfNoneMatch); inm != "" && etagMatches(inm, b.etag) {
		return c.SendStatus(fiber.StatusNotModified)
	}
	if acceptsGzip(c.Get(fiber.HeaderAcceptEncoding)) {
		c.Set(fiber.HeaderContentEncoding, "gzip")
		return c.Send(b.gz)
	}
	return c.Send(b.raw)
}

func etagMatches(header, etag string) bool {
	for _, part := range strings.Split(header, ",") {
		p := strings.TrimPrefix(strings.TrimSpace(part), "W/")
		if p == etag || p == "*" {
			return true
		}
	}
	return false
}

// acceptsGzip reads Accept-Encoding: gzip (or *) listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		for _, param := range strings.Split(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if strings.EqualFold(strings.TrimSpace(k), "q") {
				if q, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil && q == 0 {
					return false
				}
			}
		}
		return true
	}
	return false
}
