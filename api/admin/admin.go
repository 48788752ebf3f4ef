// Package admin is the REST admin API under /admin (spec/ADMIN-API.md): authentication,
// roles, and every endpoint family. Handlers validate input, call the store, and answer
// in the envelope of package api; they never write SQL.
package admin

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/approval"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/seal"
	"github.com/switchboard-dev/switchboard/store"
)

// Deps are what the admin API needs from the process.
type Deps struct {
	Config     *config.Config
	Store      *store.Store
	Box        *seal.Box
	Verifier   *auth.Verifier // nil unless JWT key material is configured
	AuthMode   auth.Mode
	Log        *slog.Logger
	InstanceID uuid.UUID
	// Decisions hands approval decisions to parked turns (the engine, later the backplane).
	Decisions approval.Deliverer
}

// Mount registers the /admin routes.
func Mount(d Deps) api.Mount {
	return func(app *fiber.App) {}
}
