// Package config reads Switchboard's configuration from environment variables, and only
// from there. Every variable is declared in Vars; Load validates all of them at once and
// names the variable in every error. It never logs values: some are secrets.
package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// DefaultDatabaseURL is where a fresh checkout finds PostgreSQL.
const DefaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/switchboard?sslmode=disable"

// Config is the validated configuration of one process.
type Config struct {
	DatabaseURL string
	Addr        string
	Production  bool
	// PublicURL is SWITCHBOARD_PUBLIC_URL without a trailing slash; "" when unset.
	PublicURL  string
	Playground bool
	// Docs serves the API reference page at /docs (SWITCHBOARD_DOCS).
	Docs            bool
	LogLevel        string
	LogFormat       string
	DBMaxConns      int32
	AutoMigrate     bool
	EncryptionKey   []byte // 32 bytes; nil when unset (commands that need it check)
	ShutdownTimeout time.Duration

	Auth Auth

	WSAuthStrict           bool
	SecretsDir             string // reserved, no effect yet (no connector reads a secret)
	AllowPrivateTools      bool
	AllowPrivateConnectors bool
	AllowPrivateWebhooks   bool
	AllowPrivateGateway    bool
	TrustedProxies         []netip.Prefix
	AdminCORSOrigins       []string
	AdminRatePerMinute     int
	AuthFailuresPerMinute  int
	MaxQueuedRuns          int

	HTTP HTTPTimeouts
	// Limits are the public-edge limits of PROTOCOL-1.1 §1.10; a zero disables one.
	Limits       Limits
	WidgetStrict bool
	// TraceContent puts prompts, replies, tool arguments and results in trace spans.
	TraceContent bool

	GatewayURL    string
	GatewayKey    string
	DefaultModel  string
	MaxIterations int
	// DemoModel lets switchboard-demo answer orgs without any gateway key; DemoTokenDelay is
	// its pace (0: at once).
	DemoModel      bool
	DemoTokenDelay time.Duration
	// What a turn takes from its gateway (docs/decisions.md, "Gateway budgets").
	TurnTimeout          time.Duration
	GatewayResponseBytes int64
	GatewayEventBytes    int64
	GatewayToolCalls     int
	// GatewayRetries and GatewayRetryMaxDelay: model requests repeated before their stream.
	GatewayRetries       int
	GatewayRetryMaxDelay time.Duration
	ToolArgumentBytes    int
	ReplyBytes           int
	PriceTablePath       string
	GitHubAPIURL         string // reserved, no effect yet (the github connector kind is refused)
	ApprovalTimeout      time.Duration
	// SMTP and OTP are one-time-code verification (PROTOCOL-1.1 §7.14); SMTP.URL nil: none.
	SMTP               SMTP
	OTP                OTP
	HistoryMessages    int
	ResumeTokenTTL     time.Duration
	InteractionTimeout time.Duration
}

// Auth holds the AUTH_* variables as given; the auth package decides what they mean together.
type Auth struct {
	Mode         string
	JWTSecret    string
	JWTPublicKey string
	JWKSURL      string
	Issuer       string
	Audience     string
	WSAudience   string // AUTH_WS_AUDIENCE: the aud of /ws visitor tokens
	DevOrg       string
}

// HTTPTimeouts bound a client's HTTP exchange (a WebSocket, once upgraded, follows
// PROTOCOL §1.6–1.7 instead).
type HTTPTimeouts struct {
	ReadHeader time.Duration
	Read       time.Duration
	Write      time.Duration
	Idle       time.Duration
}

// SMTP is the operator's mail server for one-time codes (PROTOCOL-1.1 §7.14). It holds a
// password: never log it.
type SMTP struct {
	URL     *SMTPURL // nil when SWITCHBOARD_SMTP_URL is unset
	From    string   // SWITCHBOARD_SMTP_FROM, as given (RFC 5322)
	Timeout time.Duration
}

// SMTPURL is SWITCHBOARD_SMTP_URL, parsed.
type SMTPURL struct {
	// Security is "tls" (smtps), "starttls" (smtp) or "none" (smtp+insecure).
	Security string
	Host     string
	Port     int
	Username string // percent-decoded; "" without credentials
	Password string
}

// OTP are the one-time-code settings of PROTOCOL-1.1 §10.
type OTP struct {
	TTL             time.Duration
	MaxAttempts     int
	VerifiedTTL     time.Duration
	SendsPerSession int // per hour; 0 disables
	SendsPerAddress int // per hour; 0 disables
}

// Limits are the variables of PROTOCOL-1.1 §1.10, L1–L9: each a non-negative integer, 0
// disabling its limit.
type Limits struct {
	UpgradesPerIPPerMinute       int   // L1
	MaxConnectionsPerIP          int   // L2
	FrameBurst                   int   // L3
	FramesPerSecond              int   // L3
	SessionsPerConnectionPerHour int   // L4
	SessionsPerIPPerHour         int   // L5
	TurnsPerIPPerMinute          int   // L6
	TurnBurstPerSession          int   // L7
	TurnsPerSessionPerMinute     int   // L7
	OrgMaxConcurrentTurns        int   // L8
	ServerKeyMonthlyTokens       int64 // L9
	// Exempt client addresses skip L1, L2, L5 and L6.
	Exempt []netip.Prefix
}

// Load reads the process environment.
func Load() (*Config, error) { return LoadFrom(os.LookupEnv) }

// LoadFrom reads configuration through lookup, so tests need not touch the process
// environment. All problems are reported together, one per line.
func LoadFrom(lookup func(string) (string, bool)) (*Config, error) {
	r := reader{lookup: lookup}
	c := &Config{
		DatabaseURL:     r.str("DATABASE_URL"),
		Addr:            r.str("SWITCHBOARD_ADDR"),
		LogLevel:        r.oneOf("SWITCHBOARD_LOG_LEVEL", "debug", "info", "warn", "error"),
		LogFormat:       r.oneOf("SWITCHBOARD_LOG_FORMAT", "json", "text"),
		DBMaxConns:      int32(r.intRange("SWITCHBOARD_DB_MAX_CONNS", 1, 1000)),
		AutoMigrate:     r.boolean("SWITCHBOARD_AUTO_MIGRATE"),
		ShutdownTimeout: r.duration("SWITCHBOARD_SHUTDOWN_TIMEOUT"),
		Auth: Auth{
			Mode:         strings.ToLower(strings.TrimSpace(r.str("AUTH_MODE"))),
			JWTSecret:    r.str("AUTH_JWT_SECRET"),
			JWTPublicKey: r.str("AUTH_JWT_PUBLIC_KEY"),
			JWKSURL:      r.str("AUTH_JWKS_URL"),
			Issuer:       r.str("AUTH_JWT_ISSUER"),
			Audience:     r.str("AUTH_JWT_AUDIENCE"),
			WSAudience:   r.str("AUTH_WS_AUDIENCE"),
			DevOrg:       r.str("AUTH_DEV_ORG_ID"),
		},
		WSAuthStrict:           r.oneOf("SWITCHBOARD_WS_AUTH", "lenient", "strict") == "strict",
		SecretsDir:             r.str("SWITCHBOARD_SECRETS_DIR"),
		AllowPrivateTools:      r.boolean("SWITCHBOARD_ALLOW_PRIVATE_TOOL_URLS"),
		AllowPrivateConnectors: r.boolean("SWITCHBOARD_ALLOW_PRIVATE_CONNECTOR_URLS"),
		AllowPrivateWebhooks:   r.boolean("SWITCHBOARD_ALLOW_PRIVATE_WEBHOOK_URLS"),
		AllowPrivateGateway:    r.boolean("SWITCHBOARD_ALLOW_PRIVATE_GATEWAY_URLS"),
		TrustedProxies:         r.prefixes("SWITCHBOARD_TRUSTED_PROXIES"),
		AdminCORSOrigins:       r.list("SWITCHBOARD_ADMIN_CORS_ORIGINS"),
		AdminRatePerMinute:     r.intRange("SWITCHBOARD_ADMIN_RATE_LIMIT_PER_MINUTE", 0, 1_000_000),
		AuthFailuresPerMinute:  r.intRange("SWITCHBOARD_AUTH_FAILURE_LIMIT_PER_MINUTE", 0, 1_000_000),
		MaxQueuedRuns:          r.intRange("SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS", 0, 1_000_000),
		HTTP: HTTPTimeouts{
			ReadHeader: r.duration("SWITCHBOARD_HTTP_READ_HEADER_TIMEOUT"),
			Read:       r.duration("SWITCHBOARD_HTTP_READ_TIMEOUT"),
			Write:      r.duration("SWITCHBOARD_HTTP_WRITE_TIMEOUT"),
			Idle:       r.duration("SWITCHBOARD_HTTP_IDLE_TIMEOUT"),
		},
		Limits: Limits{
			UpgradesPerIPPerMinute:       r.limit("SWITCHBOARD_WS_UPGRADES_PER_IP_PER_MINUTE"),
			MaxConnectionsPerIP:          r.limit("SWITCHBOARD_WS_MAX_CONNECTIONS_PER_IP"),
			FrameBurst:                   r.limit("SWITCHBOARD_WS_FRAME_BURST"),
			FramesPerSecond:              r.limit("SWITCHBOARD_WS_FRAMES_PER_SECOND"),
			SessionsPerConnectionPerHour: r.limit("SWITCHBOARD_WS_SESSIONS_PER_CONNECTION_PER_HOUR"),
			SessionsPerIPPerHour:         r.limit("SWITCHBOARD_WS_SESSIONS_PER_IP_PER_HOUR"),
			TurnsPerIPPerMinute:          r.limit("SWITCHBOARD_WS_TURNS_PER_IP_PER_MINUTE"),
			TurnBurstPerSession:          r.limit("SWITCHBOARD_WS_TURN_BURST_PER_SESSION"),
			TurnsPerSessionPerMinute:     r.limit("SWITCHBOARD_WS_TURNS_PER_SESSION_PER_MINUTE"),
			OrgMaxConcurrentTurns:        r.limit("SWITCHBOARD_ORG_MAX_CONCURRENT_TURNS"),
			ServerKeyMonthlyTokens:       int64(r.intRange("SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG", 0, 1<<53)),
		},
		WidgetStrict:         r.boolean("SWITCHBOARD_WIDGET_STRICT"),
		TraceContent:         r.boolean("SWITCHBOARD_TRACE_CONTENT"),
		GatewayURL:           r.aliased("SWITCHBOARD_GATEWAY_URL", "SMOOAI_GATEWAY_URL"),
		GatewayKey:           r.aliased("SWITCHBOARD_GATEWAY_KEY", "SMOOAI_GATEWAY_KEY"),
		DefaultModel:         r.str("SWITCHBOARD_DEFAULT_MODEL"),
		MaxIterations:        r.intRange("SWITCHBOARD_MAX_ITERATIONS", 1, 64),
		DemoTokenDelay:       r.durationOrZero("SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY", 10*time.Second),
		TurnTimeout:          r.duration("SWITCHBOARD_TURN_TIMEOUT"),
		GatewayResponseBytes: int64(r.intRange("SWITCHBOARD_GATEWAY_MAX_RESPONSE_BYTES", 64<<10, 1<<30)),
		GatewayEventBytes:    int64(r.intRange("SWITCHBOARD_GATEWAY_MAX_EVENT_BYTES", 4<<10, 64<<20)),
		GatewayToolCalls:     r.intRange("SWITCHBOARD_GATEWAY_MAX_TOOL_CALLS", 1, 1024),
		GatewayRetries:       r.intRange("SWITCHBOARD_GATEWAY_RETRIES", 0, 10),
		GatewayRetryMaxDelay: r.duration("SWITCHBOARD_GATEWAY_RETRY_MAX_DELAY"),
		ToolArgumentBytes:    r.intRange("SWITCHBOARD_MAX_TOOL_ARGUMENT_BYTES", 2, 65536),
		ReplyBytes:           r.intRange("SWITCHBOARD_MAX_REPLY_BYTES", 1, 131072),
		PriceTablePath:       r.str("SWITCHBOARD_PRICE_TABLE"),
		GitHubAPIURL:         r.str("SWITCHBOARD_GITHUB_API_URL"),
		ApprovalTimeout:      r.duration("SWITCHBOARD_APPROVAL_TIMEOUT"),
		OTP: OTP{
			TTL:             r.duration("SWITCHBOARD_OTP_TTL"),
			MaxAttempts:     r.intRange("SWITCHBOARD_OTP_MAX_ATTEMPTS", 1, 1000),
			VerifiedTTL:     r.duration("SWITCHBOARD_OTP_VERIFIED_TTL"),
			SendsPerSession: r.limit("SWITCHBOARD_OTP_SENDS_PER_SESSION_PER_HOUR"),
			SendsPerAddress: r.limit("SWITCHBOARD_OTP_SENDS_PER_ADDRESS_PER_HOUR"),
		},
		HistoryMessages:    r.intRange("SWITCHBOARD_HISTORY_MESSAGES", 1, 1000),
		ResumeTokenTTL:     r.duration("SWITCHBOARD_RESUME_TOKEN_TTL"),
		InteractionTimeout: r.duration("SWITCHBOARD_INTERACTION_TIMEOUT"),
	}
	switch env := r.oneOf("SWITCHBOARD_ENV", "development", "production"); env {
	case "production":
		c.Production = true
	}
	c.PublicURL = r.publicURL("SWITCHBOARD_PUBLIC_URL")
	c.Playground = r.devDefault("SWITCHBOARD_PLAYGROUND", !c.Production)
	c.Docs = r.devDefault("SWITCHBOARD_DOCS", !c.Production)
	c.DemoModel = r.devDefault("SWITCHBOARD_DEMO_MODEL", !c.Production)
	c.Limits.Exempt = r.exempt("SWITCHBOARD_WS_RATE_LIMIT_EXEMPT", c.Production)
	c.SMTP = r.smtp(c.Production)
	if c.Production {
		r.productionJWT(c.Auth)
	}
	if raw := r.str("SWITCHBOARD_ENCRYPTION_KEY"); raw != "" {
		key, err := ParseEncryptionKey(raw)
		if err != nil {
			r.fail("SWITCHBOARD_ENCRYPTION_KEY", err.Error())
		}
		c.EncryptionKey = key
	}
	if c.DatabaseURL == "" {
		r.fail("DATABASE_URL", "must not be empty")
	}
	if c.Addr == "" {
		r.fail("SWITCHBOARD_ADDR", "must not be empty")
	}
	if c.DefaultModel == "" {
		r.fail("SWITCHBOARD_DEFAULT_MODEL", "must not be empty")
	}
	if err := errors.Join(r.errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseEncryptionKey decodes standard base64 (padding optional) of exactly 32 bytes.
func ParseEncryptionKey(raw string) ([]byte, error) {
	raw = strings.TrimSpace(raw)
	key, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(raw, "="))
	if err != nil {
		return nil, errors.New("must be standard base64")
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("must decode to 32 bytes, got %d", len(key))
	}
	return key, nil
}

// RequireEncryptionKey is the check for commands that seal or open secrets.
func (c *Config) RequireEncryptionKey() error {
	if c.EncryptionKey == nil {
		return errors.New("SWITCHBOARD_ENCRYPTION_KEY: required (standard base64 of 32 bytes; `openssl rand -base64 32` makes one, and `make run` writes one to .env.local)")
	}
	return nil
}

type reader struct {
	lookup func(string) (string, bool)
	errs   []error
}

func (r *reader) fail(name, msg string) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, msg))
}

func defaultOf(name string) string {
	for _, v := range Vars {
		if v.Name == name {
			return v.Default
		}
	}
	panic("config: undeclared variable " + name)
}

// str returns the variable's value, or its declared default when unset or empty.
func (r *reader) str(name string) string {
	def := defaultOf(name)
	if v, ok := r.lookup(name); ok && v != "" {
		return v
	}
	return def
}

func (r *reader) aliased(name, alias string) string {
	v, vok := r.lookup(name)
	a, aok := r.lookup(alias)
	vok, aok = vok && v != "", aok && a != ""
	switch {
	case vok && aok && v != a:
		r.fail(name, fmt.Sprintf("conflicts with %s; set one of them, or both to the same value", alias))
		return v
	case vok:
		return v
	case aok:
		return a
	}
	return defaultOf(name)
}

func (r *reader) oneOf(name string, allowed ...string) string {
	v := strings.ToLower(strings.TrimSpace(r.str(name)))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	r.fail(name, fmt.Sprintf("must be one of %s, got %q", strings.Join(allowed, ", "), clip(v)))
	return defaultOf(name)
}

func (r *reader) boolean(name string) bool {
	switch v := strings.TrimSpace(r.str(name)); v {
	case "0":
		return false
	case "1":
		return true
	default:
		r.fail(name, fmt.Sprintf("must be 0 or 1, got %q", clip(v)))
		return false
	}
}

// devDefault is a boolean whose default depends on SWITCHBOARD_ENV: def when unset.
func (r *reader) devDefault(name string, def bool) bool {
	if strings.TrimSpace(r.str(name)) == "" {
		return def
	}
	return r.boolean(name)
}

func (r *reader) intRange(name string, lo, hi int) int {
	v := strings.TrimSpace(r.str(name))
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("must be an integer from %d to %d, got %q", lo, hi, clip(v)))
		return 0
	}
	return n
}

// limit reads a limit of PROTOCOL-1.1 §1.10: a non-negative integer, 0 disabling it.
func (r *reader) limit(name string) int { return r.intRange(name, 0, 1_000_000_000) }

// exempt reads SWITCHBOARD_WS_RATE_LIMIT_EXEMPT. Unlike other variables, set and empty is a
// value (no exemption), distinct from unset (the environment's default: loopback in
// development, nothing in production).
func (r *reader) exempt(name string, production bool) []netip.Prefix {
	if _, set := r.lookup(name); set {
		return r.prefixes(name)
	}
	if production {
		return nil
	}
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// productionJWT applies the production rules for JWT verification: with key material, tokens
// must name their issuer, /admin tokens their audience, and /ws visitor tokens an audience of
// their own, so that a token minted for a browser can never be an admin token.
func (r *reader) productionJWT(a Auth) {
	if a.JWTSecret == "" && a.JWTPublicKey == "" && a.JWKSURL == "" {
		return
	}
	const why = "required when SWITCHBOARD_ENV=production and JWT key material is set"
	if strings.TrimSpace(a.Issuer) == "" {
		r.fail("AUTH_JWT_ISSUER", why)
	}
	if strings.TrimSpace(a.Audience) == "" {
		r.fail("AUTH_JWT_AUDIENCE", why)
	}
	switch {
	case strings.TrimSpace(a.WSAudience) == "":
		r.fail("AUTH_WS_AUDIENCE", why)
	case a.WSAudience == a.Audience:
		r.fail("AUTH_WS_AUDIENCE", "must differ from AUTH_JWT_AUDIENCE, so that a visitor's token is never an admin token")
	}
}

func (r *reader) duration(name string) time.Duration {
	v := strings.TrimSpace(r.str(name))
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, fmt.Sprintf("must be a positive Go duration such as 300s, got %q", clip(v)))
		return 0
	}
	return d
}

// durationOrZero is a Go duration from 0 up to hi.
func (r *reader) durationOrZero(name string, hi time.Duration) time.Duration {
	v := strings.TrimSpace(r.str(name))
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 || d > hi {
		r.fail(name, fmt.Sprintf("must be a Go duration from 0s to %s, such as 30ms, got %q", hi, clip(v)))
		return 0
	}
	return d
}

func (r *reader) list(name string) []string {
	var out []string
	for _, part := range strings.Split(r.str(name), ",") {
		if p := strings.TrimSpace(part); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// publicURL accepts an absolute http(s) URL without query, fragment or userinfo; a path
// (a reverse proxy's prefix) is kept, without its trailing slash.
func (r *reader) publicURL(name string) string {
	raw := strings.TrimSpace(r.str(name))
	if raw == "" {
		return ""
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		r.fail(name, fmt.Sprintf("must be an absolute http or https URL such as https://chat.example.com, got %q", clip(raw)))
		return ""
	}
	return strings.TrimRight(u.Scheme+"://"+u.Host+u.EscapedPath(), "/")
}

func (r *reader) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range r.list(name) {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			r.fail(name, fmt.Sprintf("%q is not a CIDR", clip(s)))
			continue
		}
		out = append(out, p.Masked())
	}
	return out
}

// smtp reads SWITCHBOARD_SMTP_URL, _FROM and _TIMEOUT (PROTOCOL-1.1 §7.14). Errors never
// quote the URL: it may hold a password.
func (r *reader) smtp(production bool) SMTP {
	s := SMTP{Timeout: r.duration("SWITCHBOARD_SMTP_TIMEOUT")}
	raw := strings.TrimSpace(r.str("SWITCHBOARD_SMTP_URL"))
	from := strings.TrimSpace(r.str("SWITCHBOARD_SMTP_FROM"))
	if raw == "" {
		return s
	}
	const name = "SWITCHBOARD_SMTP_URL"
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		r.fail(name, "must be smtps://[user:password@]host[:port], smtp://[user:password@]host[:port] or smtp+insecure://host[:port]")
		return s
	}
	p := &SMTPURL{Host: u.Hostname()}
	switch strings.ToLower(u.Scheme) {
	case "smtps":
		p.Security, p.Port = "tls", 465
	case "smtp":
		p.Security, p.Port = "starttls", 587
	case "smtp+insecure":
		p.Security, p.Port = "none", 25
		if production {
			r.fail(name, "smtp+insecure:// is for local test mail sinks and is refused when SWITCHBOARD_ENV=production")
		}
		if u.User != nil {
			r.fail(name, "smtp+insecure:// takes no credentials: they would cross the network in clear")
		}
	default:
		r.fail(name, "scheme must be smtps, smtp or smtp+insecure")
		return s
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			r.fail(name, "port must be from 1 to 65535")
			return s
		}
		p.Port = n
	}
	if u.User != nil {
		p.Username = u.User.Username()
		p.Password, _ = u.User.Password()
	}
	s.URL = p
	if from == "" {
		r.fail("SWITCHBOARD_SMTP_FROM", "required when SWITCHBOARD_SMTP_URL is set")
	} else if _, err := mail.ParseAddress(from); err != nil {
		r.fail("SWITCHBOARD_SMTP_FROM", fmt.Sprintf("must be an RFC 5322 address such as Acme Support <no-reply@acme.example>, got %q", clip(from)))
	}
	s.From = from
	return s
}

// clip keeps error messages short; values are never secrets where clip is used.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
