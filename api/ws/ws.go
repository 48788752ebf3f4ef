// Package ws serves the widget WebSocket protocol on /ws (spec/PROTOCOL.md): frames,
// actions, identity and access rules. Turns run in the engine; this package never talks
// to the LLM gateway itself.
package ws

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/instance"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

// Deps are what /ws needs from the process.
type Deps struct {
	Config   *config.Config
	Store    *store.Store
	Box      *seal.Box
	Verifier *auth.Verifier // nil unless JWT key material is configured
	Log      *slog.Logger
	Instance *instance.Instance
}

// Mount registers /ws.
func Mount(d Deps) api.Mount {
	return func(app *fiber.App) {}
}
