package tools

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/switchboard-dev/switchboard/netguard"
)

const (
	// DefaultTimeoutMs applies to a Call whose TimeoutMs is not positive (ADMIN-API §9.5).
	DefaultTimeoutMs = 10000
	// MaxResultBytes bounds the text of a 2xx tool response, in UTF-8 bytes after invalid
	// bytes are replaced.
	MaxResultBytes = 32 << 10
	// TruncatedSuffix is appended to a response text that was cut to MaxResultBytes.
	TruncatedSuffix = "\n[truncated]"
)

// ExecutorConfig configures an Executor.
type ExecutorConfig struct {
	// Version goes into the User-Agent header as "Switchboard/<Version>"; "" sends "dev".
	Version string
	// AllowPrivate is SWITCHBOARD_ALLOW_PRIVATE_TOOL_URLS: when false, tool URLs that point
	// to non-public addresses fail with TextRequestFailed (ADMIN-API §6.4).
	AllowPrivate bool
}

// Executor sends HTTP tool calls. It is safe for concurrent use; build one per process.
type Executor struct {
	client       *http.Client
	userAgent    string
	allowPrivate bool
}

// NewExecutor returns an Executor whose connections go through netguard and that never
// follows redirects.
func NewExecutor(cfg ExecutorConfig) *Executor {
	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	return &Executor{
		client: &http.Client{
			Transport:     netguard.Transport(cfg.AllowPrivate),
			CheckRedirect: netguard.NoRedirects,
		},
		userAgent:    "Switchboard/" + version,
		allowPrivate: cfg.AllowPrivate,
	}
}

// CloseIdleConnections closes the executor's idle keep-alive connections (at shutdown).
func (e *Executor) CloseIdleConnections() { e.client.CloseIdleConnections() }

// Call is one HTTP tool call, after its arguments were validated and any approval granted.
type Call struct {
	URL      string
	ToolName string
	// Arguments is the JSON object from ParseArguments; nil or empty means {}.
	Arguments      json.RawMessage
	ConversationID uuid.UUID
	OrgID          uuid.UUID
	// TimeoutMs bounds the whole exchange: resolving, connecting, sending and reading the
	// response. Not positive means DefaultTimeoutMs.
	TimeoutMs int
	// SigningSecret is the agent's tool signing secret; nil or empty sends the call unsigned.
	SigningSecret []byte
	// Verification names the verified visitor of a tool with requiresVerification
	// (PROTOCOL-1.1 Appendix C.2); nil for every other tool, whose body is unchanged.
	Verification *Verification
}

// errToolTimeout is the cause of the per-call deadline, which tells it apart from the
// caller's own context ending.
var errToolTimeout = errors.New("tool call exceeded its timeoutMs")

// Call sends the request of ADMIN-API §9.5 once (no retries, no redirects) and returns the
// tool result of PROTOCOL §7.4 for every outcome of the exchange: the 2xx body as text, a
// non-2xx status, a timeout after c.TimeoutMs, or a failed or refused connection.
//
// The error is non-nil only when ctx ended before the exchange did (the turn was cancelled or
// its own deadline passed); it wraps ctx.Err(), the Result is then empty, and the engine must
// stop rather than hand a result to the model.
func (e *Executor) Call(ctx context.Context, c Call) (Result, error) {
	if err := ctx.Err(); err != nil {
		return Result{}, contextError(ctx)
	}
	if err := netguard.ValidateURL(c.URL, e.allowPrivate); err != nil {
		return RequestFailed(fmt.Errorf("tool url %w", err)), nil
	}
	body, err := requestBody(c)
	if err != nil {
		return InvalidArguments(""), nil
	}
	timeoutMs := c.TimeoutMs
	if timeoutMs <= 0 {
		timeoutMs = DefaultTimeoutMs
	}
	delivery := uuid.NewString()

	callCtx, cancel := context.WithTimeoutCause(ctx, time.Duration(timeoutMs)*time.Millisecond, errToolTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(callCtx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return RequestFailed(withoutQuery(fmt.Errorf("build tool request: %w", err))), nil
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", e.userAgent)
	req.Header.Set("X-Switchboard-Delivery", delivery)
	if len(c.SigningSecret) > 0 {
		req.Header.Set("X-Switchboard-Signature", Sign(c.SigningSecret, body))
	}

	res, err := e.exchange(req)
	if err != nil {
		if ctx.Err() != nil {
			return Result{}, contextError(ctx)
		}
		if errors.Is(context.Cause(callCtx), errToolTimeout) {
			res = TimedOut(timeoutMs)
			res.Cause = err
		} else {
			res = RequestFailed(err)
		}
	}
	res.DeliveryID = delivery
	res.Cause = withoutQuery(res.Cause)
	return res, nil
}

// withoutQuery cuts the query string from the URL an HTTP client error quotes (`Post
// "https://…?key=…": …`), so that a credential in a tool's URL never reaches a log line.
func withoutQuery(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = netguard.WithoutQuery(ue.URL)
	}
	return err
}

// exchange sends req and reads the answer; an error means no result was obtained.
func (e *Executor) exchange(req *http.Request) (Result, error) {
	resp, err := e.client.Do(req)
	if err != nil {
		return Result{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return HTTPStatus(resp.StatusCode), nil
	}
	text, err := readText(resp.Body)
	if err != nil {
		return Result{}, fmt.Errorf("read tool response: %w", err)
	}
	return Success(text), nil
}

func contextError(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && cause != ctx.Err() { //nolint:errorlint // identity on purpose: any cause but ctx.Err() itself adds detail
		return fmt.Errorf("tool call abandoned: %w (%w)", ctx.Err(), cause)
	}
	return fmt.Errorf("tool call abandoned: %w", ctx.Err())
}

// Sign returns the X-Switchboard-Signature value for body: "sha256=" and the lowercase hex
// HMAC-SHA256 of the exact body bytes keyed with secret.
func Sign(secret, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// requestBody renders {"tool":…,"arguments":{…},"conversationId":…,"orgId":…} in that order,
// then "verification" for a gated tool (PROTOCOL-1.1 Appendix C.2), compact, without HTML
// escaping.
func requestBody(c Call) ([]byte, error) {
	args := bytes.TrimSpace(c.Arguments)
	if len(args) == 0 {
		args = []byte("{}")
	}
	if args[0] != '{' || !json.Valid(args) {
		return nil, errors.New("arguments are not a JSON object")
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(struct {
		Tool           string          `json:"tool"`
		Arguments      json.RawMessage `json:"arguments"`
		ConversationID uuid.UUID       `json:"conversationId"`
		OrgID          uuid.UUID       `json:"orgId"`
		Verification   *Verification   `json:"verification,omitempty"`
	}{c.ToolName, args, c.ConversationID, c.OrgID, c.Verification})
	if err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// readText reads a 2xx body as UTF-8 text: each byte that does not begin a valid sequence
// becomes U+FFFD, and so does U+0000, which Postgres cannot store (ADMIN-API §5.1). Text
// longer than MaxResultBytes is cut at a character boundary and TruncatedSuffix appended. At
// most MaxResultBytes+3 bytes are read, enough to decide both.
func readText(r io.Reader) (string, error) {
	raw, err := io.ReadAll(io.LimitReader(r, MaxResultBytes+utf8.UTFMax-1))
	if err != nil {
		return "", err
	}
	// Replacement only grows the text, so a raw read that hit the limit is always cut below,
	// and every character that could start before the cut is complete in raw.
	var sb strings.Builder
	sb.Grow(min(len(raw), MaxResultBytes) + len(TruncatedSuffix))
	for i := 0; i < len(raw); {
		ch, size := utf8.DecodeRune(raw[i:])
		if ch == 0 {
			ch = utf8.RuneError
		}
		if sb.Len()+utf8.RuneLen(ch) > MaxResultBytes {
			sb.WriteString(TruncatedSuffix)
			return sb.String(), nil
		}
		sb.WriteRune(ch)
		i += size
	}
	return sb.String(), nil
}
