package config

// Var describes one environment variable. Vars is the one authoritative list: the
// README table and .env.example are checked against it by a test, so they cannot drift.
type Var struct {
	Name    string
	Default string // "" means unset
	Meaning string
}

// Vars lists every variable Switchboard reads, in the order the README shows them.
var Vars = []Var{
	{"DATABASE_URL", DefaultDatabaseURL, "PostgreSQL connection string"},
	{"SWITCHBOARD_ADDR", "127.0.0.1:8787", "listen address of the HTTP and WebSocket server"},
	{"SWITCHBOARD_ENV", "development", "`development` or `production`; production forbids `AUTH_MODE=none` and requires https for JWKS and gateway `baseUrl`s"},
	{"SWITCHBOARD_PUBLIC_URL", "", "base URL visitors reach this server at (`https://chat.example.com`), used in embed snippets; unset: taken from each request"},
	{"SWITCHBOARD_PLAYGROUND", "", "`1` serves the try-it page at `/`, `0` does not; unset: `1` in development, `0` in production"},
	{"SWITCHBOARD_LOG_LEVEL", "info", "`debug`, `info`, `warn` or `error`"},
	{"SWITCHBOARD_LOG_FORMAT", "json", "`json` or `text`"},
	{"SWITCHBOARD_DB_MAX_CONNS", "10", "size of the PostgreSQL connection pool (the LISTEN connection is extra)"},
	{"SWITCHBOARD_AUTO_MIGRATE", "0", "`1`: `serve` applies pending migrations before starting instead of refusing to start"},
	{"SWITCHBOARD_ENCRYPTION_KEY", "", "required: standard base64 of 32 bytes; seals gateway keys and signing secrets (AES-256-GCM)"},
	{"SWITCHBOARD_SHUTDOWN_TIMEOUT", "60s", "drain deadline after SIGTERM"},
	{"AUTH_MODE", "", "`jwt`, `apikey` or `none`; default `jwt` when JWT key material is set, else `apikey`"},
	{"AUTH_JWT_SECRET", "", "HS256 shared secret (at least 32 bytes)"},
	{"AUTH_JWT_PUBLIC_KEY", "", "PEM public key or certificate (RS256 or ES256)"},
	{"AUTH_JWKS_URL", "", "URL of a JWK Set (RS256/ES256 keys)"},
	{"AUTH_JWT_ISSUER", "", "required `iss` when set"},
	{"AUTH_JWT_AUDIENCE", "", "required `aud` when set"},
	{"AUTH_DEV_ORG_ID", "dev", "org of the `AUTH_MODE=none` dev principal"},
	{"SWITCHBOARD_WS_AUTH", "lenient", "`lenient` or `strict`: what `/ws` does with a missing or invalid `token`"},
	{"SWITCHBOARD_SECRETS_DIR", "", "reserved, no effect yet: root of per-org connector secrets (`authRef`)"},
	{"SWITCHBOARD_ALLOW_PRIVATE_TOOL_URLS", "0", "`1` lets tool URLs reach private and loopback addresses"},
	{"SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS", "0", "`1` lets connector URLs and sitemaps reach private and loopback addresses"},
	{"SWITCHBOARD_ALLOW_PRIVATE_GATEWAY_URLS", "0", "`1` lets gateway-key `baseUrl`s reach private and loopback addresses"},
	{"SWITCHBOARD_TRUSTED_PROXIES", "", "comma-separated CIDRs whose `X-Forwarded-For` is trusted"},
	{"SWITCHBOARD_ADMIN_CORS_ORIGINS", "", "comma-separated origins (or `*`) allowed to call `/admin`; `*` when `AUTH_MODE=none` and unset"},
	{"SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE", "600", "authenticated `/admin` requests per org per minute per instance; `0` disables"},
	{"SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE", "30", "failed authentications per client IP per minute; `0` disables"},
	{"SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS", "20", "queued indexing runs per org; `0` disables"},
	{"SWITCHBOARD_GATEWAY_URL", "https://api.openai.com/v1", "OpenAI-compatible gateway base URL (alias `SMOOAI_GATEWAY_URL`)"},
	{"SWITCHBOARD_GATEWAY_KEY", "", "the server's fallback gateway key (alias `SMOOAI_GATEWAY_KEY`)"},
	{"SWITCHBOARD_DEFAULT_MODEL", "gpt-4o-mini", "model when neither the agent nor the org settings name one"},
	{"SWITCHBOARD_MAX_ITERATIONS", "20", "model calls per turn when neither the agent nor the org settings set one"},
	{"SWITCHBOARD_TURN_TIMEOUT", "600s", "longest a turn may run, time parked on an approval not counted; then it ends with `AGENT_ERROR` `model gateway timed out`"},
	{"SWITCHBOARD_GATEWAY_MAX_RESPONSE_BYTES", "33554432", "bytes one model call may receive from the gateway; more ends the turn with `AGENT_ERROR` `model stream interrupted`"},
	{"SWITCHBOARD_GATEWAY_MAX_EVENT_BYTES", "1048576", "bytes of one server-sent event (one line included) from the gateway; more ends the turn the same way"},
	{"SWITCHBOARD_GATEWAY_MAX_TOOL_CALLS", "32", "tool calls one model response may ask for; more ends the turn the same way"},
	{"SWITCHBOARD_MAX_TOOL_ARGUMENT_BYTES", "65536", "bytes of one tool call's arguments, at most 65536 (PROTOCOL-1.1 §1.11); a longer call is refused and the turn goes on"},
	{"SWITCHBOARD_MAX_REPLY_BYTES", "131072", "bytes of a turn's reply, at most 131072 (PROTOCOL-1.1 §1.11); more ends the turn with `AGENT_ERROR` `reply too long`"},
	{"SWITCHBOARD_PRICE_TABLE", "", "path to a JSON file `{model: {inputPer1M, outputPer1M}}` over the built-in prices"},
	{"SWITCHBOARD_GITHUB_API_URL", "https://api.github.com", "reserved, no effect yet: GitHub API base for the reserved `github` connector kind"},
	{"SWITCHBOARD_APPROVAL_TIMEOUT", "300s", "how long a parked tool call waits for a decision"},
	{"SWITCHBOARD_HISTORY_MESSAGES", "50", "newest messages replayed to the model each turn"},
	{"SWITCHBOARD_RESUME_TOKEN_TTL", "720h", "lifetime of a conversation resume token"},
}
