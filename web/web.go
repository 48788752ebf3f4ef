package web

import (
	"context"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/config"
)

// Deps are what the web routes need from the process.
type Deps struct {
	Config *config.Config
	// DemoAgent finds the agent the try-it page embeds when no ?agent= is given (the one
	// `switchboard demo` created); nil, or an error, leaves the page without a default.
	DemoAgent func(ctx context.Context) (uuid.UUID, error)
}

// Mount registers GET /widget.js, GET /widget/<hash>.js, when SWITCHBOARD_PLAYGROUND is on
// GET /, and when SWITCHBOARD_DOCS is on GET /docs and GET /docs/<hash>.js. GET only, like
// every route: HEAD and other methods are the API's 404.
func Mount(d Deps) api.Mount {
	return func(app *fiber.App) {
		app.Add(fiber.MethodGet, "/widget.js", func(c *fiber.Ctx) error { return Widget.serve(c, loaderCache) })
		app.Add(fiber.MethodGet, "/widget/:file", func(c *fiber.Ctx) error {
			if "/widget/"+c.Params("file") != Widget.Path {
				// An old build's URL after an upgrade, or a mistyped one.
				return api.NotFound("no widget build at this URL; the current one is " + Widget.Path)
			}
			return Widget.serve(c, hashedCache)
		})
		if d.Config.Playground {
			p := &playground{d: d}
			app.Add(fiber.MethodGet, "/", p.serve)
		}
		if d.Config.Docs {
			app.Add(fiber.MethodGet, "/docs", serveDocs)
			app.Add(fiber.MethodGet, "/docs/:file", func(c *fiber.Ctx) error {
				if "/docs/"+c.Params("file") != Docs.Path {
					return api.NotFound("no API reference build at this URL; the current one is " + Docs.Path)
				}
				return Docs.serve(c, hashedCache)
			})
		}
	}
}
