package config

import (
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDefaultsLoadFromAnEmptyEnvironment(t *testing.T) {
	c, err := LoadFrom(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != DefaultDatabaseURL || c.Addr != "127.0.0.1:8787" || c.ShutdownTimeout != 60*time.Second ||
		c.ApprovalTimeout != 300*time.Second || c.MaxIterations != 20 || c.HistoryMessages != 50 ||
		c.ResumeTokenTTL != 720*time.Hour || c.GatewayURL != "https://api.openai.com/v1" || c.DefaultModel != "gpt-4o-mini" ||
		c.AutoMigrate || c.Production || c.WSAuthStrict || c.EncryptionKey != nil || c.DBMaxConns != 10 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
	if c.TurnTimeout != 600*time.Second || c.GatewayResponseBytes != 32<<20 || c.GatewayEventBytes != 1<<20 ||
		c.GatewayToolCalls != 32 || c.ToolArgumentBytes != 65536 || c.ReplyBytes != 131072 {
		t.Fatalf("unexpected gateway budgets: %+v", c)
	}
	if err := c.RequireEncryptionKey(); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_ENCRYPTION_KEY") {
		t.Fatalf("missing key error = %v", err)
	}
}

func TestBadValuesNameTheirVariable(t *testing.T) {
	cases := map[string]string{
		"SWITCHBOARD_AUTO_MIGRATE":             "yes",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT":         "60",
		"SWITCHBOARD_APPROVAL_TIMEOUT":         "-1s",
		"SWITCHBOARD_DB_MAX_CONNS":             "0",
		"SWITCHBOARD_MAX_ITERATIONS":           "65",
		"SWITCHBOARD_ENCRYPTION_KEY":           "c2hvcnQ=",
		"SWITCHBOARD_ENV":                      "prod",
		"SWITCHBOARD_LOG_FORMAT":               "xml",
		"SWITCHBOARD_WS_AUTH":                  "loose",
		"SWITCHBOARD_TRUSTED_PROXIES":          "10.0.0.0/8,nope",
		"SWITCHBOARD_HISTORY_MESSAGES":         "many",
		"SWITCHBOARD_RESUME_TOKEN_TTL":         "30d",
		"SWITCHBOARD_INDEXING_MAX_QUEUED_RUNS": "-3",
		"SWITCHBOARD_TURN_TIMEOUT":             "0s",
		"SWITCHBOARD_GATEWAY_MAX_EVENT_BYTES":  "0",
		"SWITCHBOARD_GATEWAY_MAX_TOOL_CALLS":   "0",
		// The protocol's numbers are maxima: they keep every event within 1 MiB.
		"SWITCHBOARD_MAX_TOOL_ARGUMENT_BYTES": "65537",
		"SWITCHBOARD_MAX_REPLY_BYTES":         "131073",
		"SWITCHBOARD_PUBLIC_URL":              "chat.example.com",
		"SWITCHBOARD_PLAYGROUND":              "on",
	}
	for name, value := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := LoadFrom(env(map[string]string{name: value}))
			if err == nil || !strings.Contains(err.Error(), name+":") {
				t.Fatalf("%s=%q: err = %v, want an error naming the variable", name, value, err)
			}
		})
	}
}

func TestPlaygroundDefaultsFollowTheEnvironment(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, true},
		{map[string]string{"SWITCHBOARD_ENV": "production"}, false},
		{map[string]string{"SWITCHBOARD_ENV": "production", "SWITCHBOARD_PLAYGROUND": "1"}, true},
		{map[string]string{"SWITCHBOARD_PLAYGROUND": "0"}, false},
	}
	for _, tc := range cases {
		c, err := LoadFrom(env(tc.env))
		if err != nil || c.Playground != tc.want {
			t.Errorf("%v: playground %v, err %v; want %v", tc.env, c != nil && c.Playground, err, tc.want)
		}
	}
}

func TestDemoModelAndDocsDefaultsFollowTheEnvironment(t *testing.T) {
	cases := []struct {
		env        map[string]string
		demo, docs bool
		delay      time.Duration
	}{
		{map[string]string{}, true, true, 30 * time.Millisecond},
		{map[string]string{"SWITCHBOARD_ENV": "production"}, false, false, 30 * time.Millisecond},
		{map[string]string{"SWITCHBOARD_ENV": "production", "SWITCHBOARD_DEMO_MODEL": "1", "SWITCHBOARD_DOCS": "1"}, true, true, 30 * time.Millisecond},
		{map[string]string{"SWITCHBOARD_DEMO_MODEL": "0", "SWITCHBOARD_DOCS": "0", "SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY": "0s"}, false, false, 0},
	}
	for _, tc := range cases {
		c, err := LoadFrom(env(tc.env))
		if err != nil || c.DemoModel != tc.demo || c.Docs != tc.docs || c.DemoTokenDelay != tc.delay {
			t.Errorf("%v: err %v, got %+v; want demo %v docs %v delay %v", tc.env, err, c, tc.demo, tc.docs, tc.delay)
		}
	}
	for _, bad := range []string{"-1ms", "11s", "soon"} {
		if _, err := LoadFrom(env(map[string]string{"SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY": bad})); err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_DEMO_MODEL_TOKEN_DELAY:") {
			t.Errorf("%q: err %v", bad, err)
		}
	}
}

func TestPublicURLIsNormalised(t *testing.T) {
	for in, want := range map[string]string{
		"https://chat.example.com/":        "https://chat.example.com",
		"http://127.0.0.1:8787":            "http://127.0.0.1:8787",
		"https://example.com/switchboard/": "https://example.com/switchboard",
	} {
		c, err := LoadFrom(env(map[string]string{"SWITCHBOARD_PUBLIC_URL": in}))
		if err != nil || c.PublicURL != want {
			t.Errorf("%q: got %q, %v; want %q", in, c.PublicURL, err, want)
		}
	}
	for _, bad := range []string{"ftp://x", "https://u:p@x", "https://x/?a=1", "/relative"} {
		if _, err := LoadFrom(env(map[string]string{"SWITCHBOARD_PUBLIC_URL": bad})); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestAllProblemsAreReportedAtOnce(t *testing.T) {
	_, err := LoadFrom(env(map[string]string{"SWITCHBOARD_AUTO_MIGRATE": "2", "SWITCHBOARD_ENV": "x"}))
	if err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_AUTO_MIGRATE") || !strings.Contains(err.Error(), "SWITCHBOARD_ENV") {
		t.Fatalf("err = %v, want both variables named", err)
	}
}

func TestEncryptionKeyAcceptsPaddedAndUnpaddedBase64(t *testing.T) {
	for _, k := range []string{"MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY"} {
		c, err := LoadFrom(env(map[string]string{"SWITCHBOARD_ENCRYPTION_KEY": k}))
		if err != nil || len(c.EncryptionKey) != 32 {
			t.Fatalf("key %q: %v", k, err)
		}
	}
}

func TestSmooaiAliases(t *testing.T) {
	c, err := LoadFrom(env(map[string]string{"SMOOAI_GATEWAY_KEY": "k1", "SMOOAI_GATEWAY_URL": "http://gw"}))
	if err != nil || c.GatewayKey != "k1" || c.GatewayURL != "http://gw" {
		t.Fatalf("alias alone: %+v %v", c, err)
	}
	c, err = LoadFrom(env(map[string]string{"SMOOAI_GATEWAY_KEY": "k1", "SWITCHBOARD_GATEWAY_KEY": "k1"}))
	if err != nil || c.GatewayKey != "k1" {
		t.Fatalf("both equal: %v", err)
	}
	_, err = LoadFrom(env(map[string]string{"SMOOAI_GATEWAY_KEY": "k1", "SWITCHBOARD_GATEWAY_KEY": "k2"}))
	if err == nil || !strings.Contains(err.Error(), "SWITCHBOARD_GATEWAY_KEY") || strings.Contains(err.Error(), "k2") {
		t.Fatalf("both different: err = %v, want a conflict naming the variable and not the value", err)
	}
}

// The README table and .env.example are the operator's view of Vars; they must list every
// variable with its default.
func TestDocsListEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	example, err := os.ReadFile("../.env.example")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range Vars {
		def := "unset"
		if v.Default != "" {
			def = "`" + v.Default + "`"
		}
		row := "| `" + v.Name + "` | " + def + " |"
		if !strings.Contains(string(readme), row) {
			t.Errorf("README.md lacks the row %q", row)
		}
		line := v.Name + "=" + v.Default
		if !strings.Contains(string(example), "\n"+line+"\n") && !strings.Contains(string(example), "\n# "+line+"\n") {
			t.Errorf(".env.example lacks %q (or commented %q)", line, "# "+line)
		}
	}
}

func TestEdgeLimitDefaults(t *testing.T) {
	c, err := LoadFrom(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Limits{
		UpgradesPerIPPerMinute: 60, MaxConnectionsPerIP: 50, FrameBurst: 60, FramesPerSecond: 20,
		SessionsPerConnectionPerHour: 30, SessionsPerIPPerHour: 300, TurnsPerIPPerMinute: 60,
		TurnBurstPerSession: 30, TurnsPerSessionPerMinute: 12, OrgMaxConcurrentTurns: 256,
		ServerKeyMonthlyTokens: 5_000_000,
		Exempt:                 []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")},
	}
	if diff := cmp.Diff(want, c.Limits, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Fatalf("limits (-want +got):\n%s", diff)
	}
	if c.HTTP != (HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 60 * time.Second, Write: 60 * time.Second, Idle: 120 * time.Second}) || c.WidgetStrict {
		t.Fatalf("http %+v strict %v", c.HTTP, c.WidgetStrict)
	}
}

func TestRateLimitExemptDefaultsByEnvironmentAndEmptyMeansNone(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want int
	}{
		{map[string]string{}, 2},
		{map[string]string{"SWITCHBOARD_ENV": "production"}, 0},
		{map[string]string{"SWITCHBOARD_WS_RATE_LIMIT_EXEMPT": ""}, 0},
		{map[string]string{"SWITCHBOARD_WS_RATE_LIMIT_EXEMPT": "10.0.0.0/8", "SWITCHBOARD_ENV": "production"}, 1},
	} {
		c, err := LoadFrom(env(tc.vars))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Limits.Exempt) != tc.want {
			t.Errorf("%v: exempt %v", tc.vars, c.Limits.Exempt)
		}
	}
}

func TestLimitsAreNonNegativeIntegers(t *testing.T) {
	for _, name := range []string{"SWITCHBOARD_WS_FRAME_BURST", "SWITCHBOARD_ORG_MAX_CONCURRENT_TURNS", "SWITCHBOARD_SERVER_KEY_MONTHLY_TOKENS_PER_ORG"} {
		for _, bad := range []string{"-1", "1.5", "lots"} {
			if _, err := LoadFrom(env(map[string]string{name: bad})); err == nil || !strings.Contains(err.Error(), name+":") {
				t.Errorf("%s=%s: err = %v", name, bad, err)
			}
		}
		if c, err := LoadFrom(env(map[string]string{name: "0"})); err != nil || c == nil {
			t.Errorf("%s=0 (disabled): %v", name, err)
		}
	}
	if _, err := LoadFrom(env(map[string]string{"SWITCHBOARD_WS_RATE_LIMIT_EXEMPT": "localhost"})); err == nil {
		t.Error("a non-CIDR exemption was accepted")
	}
}

// JWT in production: issuer and audience required, and a /ws audience of its own.
func TestProductionJWTNeedsIssuerAndBothAudiences(t *testing.T) {
	base := map[string]string{"SWITCHBOARD_ENV": "production", "AUTH_JWT_SECRET": "0123456789abcdef0123456789abcdef"}
	_, err := LoadFrom(env(base))
	for _, name := range []string{"AUTH_JWT_ISSUER", "AUTH_JWT_AUDIENCE", "AUTH_WS_AUDIENCE"} {
		if err == nil || !strings.Contains(err.Error(), name+": required") {
			t.Errorf("err = %v, want %s required", err, name)
		}
	}
	full := map[string]string{"AUTH_JWT_ISSUER": "https://idp.example/", "AUTH_JWT_AUDIENCE": "admin", "AUTH_WS_AUDIENCE": "widget"}
	for k, v := range base {
		full[k] = v
	}
	if _, err := LoadFrom(env(full)); err != nil {
		t.Fatalf("complete production JWT config: %v", err)
	}
	full["AUTH_WS_AUDIENCE"] = "admin"
	if _, err := LoadFrom(env(full)); err == nil || !strings.Contains(err.Error(), "AUTH_WS_AUDIENCE: must differ") {
		t.Fatalf("same audience for both: %v", err)
	}
	// Without JWT key material nothing is required, and development requires nothing.
	if _, err := LoadFrom(env(map[string]string{"SWITCHBOARD_ENV": "production"})); err != nil {
		t.Fatalf("production without JWT: %v", err)
	}
	if _, err := LoadFrom(env(map[string]string{"AUTH_JWT_SECRET": "0123456789abcdef0123456789abcdef"})); err != nil {
		t.Fatalf("development with JWT: %v", err)
	}
}
