// Package admin is the REST admin API under /admin (docs/spec/ADMIN-API.md): authentication,
// roles, rate limits, CORS, and every endpoint family, plus GET /openapi.json. Handlers
// validate input (strictly, before any resource lookup), call the store, and answer in the
// envelope of package api.
//
// It must never write SQL (the store does), never log or return a credential, signing
// secret or gateway key (only API-key prefixes and last4), and never let anything in a
// request choose the org: the org is always the authenticated principal's.
package admin

import (
	"log/slog"

	"github.com/gofiber/fiber/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/knowledge"
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
	// Knowledge serves document sets, documents, connectors and indexing runs.
	Knowledge *knowledge.Service
	// Addrs decides client addresses, shared with /ws; nil builds one from the config.
	Addrs *api.ClientAddrs
	// Registerer receives the admin API's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer
}

// handlers holds what every handler shares.
type handlers struct {
	d      Deps
	cfg    *config.Config
	st     *store.Store
	kn     *knowledge.Service
	log    *slog.Logger
	cors   corsPolicy
	limits *limiters
	addrs  *api.ClientAddrs
	orgs   *orgCache
	touch  *touchThrottle
	doc    []byte // the OpenAPI document, built once
}

func newHandlers(d Deps) *handlers {
	log := d.Log
	if log == nil {
		log = slog.Default()
	}
	h := &handlers{
		d: d, cfg: d.Config, st: d.Store, kn: d.Knowledge, log: log,
		cors:   newCORSPolicy(d.Config.AdminCORSOrigins, d.AuthMode == auth.ModeNone),
		limits: newLimiters(d.Config.AdminRatePerMinute, d.Config.AuthFailuresPerMinute),
		addrs:  d.Addrs,
		orgs:   newOrgCache(),
		touch:  newTouchThrottle(),
	}
	if h.addrs == nil {
		h.addrs = api.NewClientAddrs(d.Config.TrustedProxies, log)
	}
	h.doc = buildOpenAPI()
	if d.Registerer != nil {
		d.Registerer.MustRegister(h.limits.refused)
	}
	return h
}

// Mount registers the /admin routes and GET /openapi.json.
func Mount(d Deps) api.Mount {
	h := newHandlers(d)
	return func(app *fiber.App) {
		app.Use("/admin", h.adminHeaders)
		for _, r := range h.routes() {
			chain := []fiber.Handler{}
			if r.min != "" {
				chain = append(chain, h.gate(r.min))
			}
			// app.Add registers exactly one method: Fiber's Get would add HEAD too, and the
			// spec answers every undefined method with 404.
			app.Add(r.method, r.path, append(chain, r.handler)...)
		}
	}
}

// route is one registered operation; min is "" for public routes.
type route struct {
	method  string
	path    string
	min     auth.Role
	handler fiber.Handler
}

// routes is every route this package registers. Each one needs its operation in
// openapi_ops.go (a test compares the two).
func (h *handlers) routes() []route {
	const get, post, put, del = fiber.MethodGet, fiber.MethodPost, fiber.MethodPut, fiber.MethodDelete
	const admin, curator, basic = auth.RoleAdmin, auth.RoleCurator, auth.RoleBasic
	return []route{
		{get, "/openapi.json", "", h.openapi},
		{get, "/admin/health", "", h.health},
		{get, "/admin/me", basic, h.me},

		{get, "/admin/api-keys", admin, h.listAPIKeys},
		{post, "/admin/api-keys", admin, h.createAPIKey},
		{del, "/admin/api-keys/:id", admin, h.deleteAPIKey},

		{get, "/admin/agents", curator, h.listAgents},
		{post, "/admin/agents", admin, h.createAgent},
		{get, "/admin/agents/:id", curator, h.getAgent},
		{put, "/admin/agents/:id", admin, h.updateAgent},
		{del, "/admin/agents/:id", admin, h.deleteAgent},
		{get, "/admin/agents/:id/embed", curator, h.agentEmbed},

		{get, "/admin/agents/:id/tools", curator, h.listTools},
		{post, "/admin/agents/:id/tools", admin, h.createTool},
		{get, "/admin/agents/:id/tools/:toolId", curator, h.getTool},
		{put, "/admin/agents/:id/tools/:toolId", admin, h.updateTool},
		{del, "/admin/agents/:id/tools/:toolId", admin, h.deleteTool},

		{get, "/admin/settings", curator, h.getSettings},
		{put, "/admin/settings", admin, h.putSettings},

		{get, "/admin/conversations", basic, h.listConversations},
		{get, "/admin/conversations/:id", basic, h.getConversation},
		{get, "/admin/conversations/:id/messages", basic, h.listMessages},
		{del, "/admin/conversations/:id", admin, h.deleteConversation},

		{del, "/admin/end-users/:ref", admin, h.eraseEndUser},
		{get, "/admin/end-users/:ref/export", admin, h.exportEndUser},

		{get, "/admin/approvals", curator, h.listApprovals},
		{post, "/admin/approvals/:id", curator, h.decideApproval},

		{get, "/admin/document-sets", curator, h.listDocumentSets},
		{post, "/admin/document-sets/:name/documents", admin, h.ingestDocuments},
		{get, "/admin/document-sets/:name/documents", curator, h.listDocuments},
		{del, "/admin/documents/:id", admin, h.deleteDocument},

		{get, "/admin/connectors", curator, h.listConnectors},
		{post, "/admin/connectors", admin, h.createConnector},
		{get, "/admin/connectors/:id", curator, h.getConnector},
		{put, "/admin/connectors/:id", admin, h.updateConnector},
		{del, "/admin/connectors/:id", admin, h.deleteConnector},
		{post, "/admin/connectors/:id/index", curator, h.indexConnector},

		{get, "/admin/indexing/runs", curator, h.listRuns},
		{get, "/admin/indexing/runs/:id", curator, h.getRun},

		{get, "/admin/gateway-keys", admin, h.listGatewayKeys},
		{post, "/admin/gateway-keys", admin, h.createGatewayKey},
		{del, "/admin/gateway-keys/:id", admin, h.revokeGatewayKey},

		{get, "/admin/usage", curator, h.usage},
		{post, "/admin/publish", admin, h.publish},
		{get, "/admin/audit", admin, h.listAudit},
	}
}
