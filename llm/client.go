package llm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// DefaultStallTimeout is how long a call waits for the gateway to send
// anything (response headers or stream bytes) when Config.StallTimeout is
// zero. Reasoning models can think for a long while before their first
// byte, so it is generous.
const DefaultStallTimeout = 120 * time.Second

// Config builds a [Client]. A client is cheap: build one per turn with the
// key that pays for the turn (ADMIN-API §7.1).
type Config struct {
	// BaseURL is the gateway's OpenAI-compatible base, such as
	// "https://api.openai.com/v1"; the client posts to BaseURL +
	// "/chat/completions".
	BaseURL string
	// APIKey is sent as "Authorization: Bearer <APIKey>"; empty sends no
	// Authorization header.
	APIKey string
	// HTTPClient makes the requests; nil means http.DefaultClient. Pass a
	// client whose dialer refuses private addresses to enforce ADMIN-API
	// §6.4 at connect time. Its Timeout, if any, bounds a whole streamed
	// call, so leave it unset and rely on StallTimeout.
	HTTPClient *http.Client
	// StallTimeout fails a call with "model gateway timed out" when the
	// gateway sends nothing for this long while the client waits on it.
	// Time spent in the Handler does not count. Zero means
	// DefaultStallTimeout; negative disables the check.
	StallTimeout time.Duration
	// Limits bound what one call takes from the gateway; zero fields take the defaults.
	Limits Limits
	// Retries is how many times a call repeats its request when the attempt failed before
	// any byte of a response stream: no connection could be made or the request could not
	// be sent, or the gateway answered 429 or 5xx (unless it sent "x-should-retry: false").
	// A stream that has started is never repeated, so nothing reaches a handler twice. Zero
	// never repeats.
	Retries int
	// RetryMaxDelay bounds each wait between attempts: the jittered exponential backoff
	// (0.5 s, 1 s, 2 s, … less up to a quarter) is cut to it, and a gateway's Retry-After
	// longer than it ends the retries. Zero means DefaultRetryMaxDelay.
	RetryMaxDelay time.Duration
	// OnRetry, when set, is called before each repeated attempt, on the goroutine that
	// called Stream.
	OnRetry func(Retry)
	// Permanent, when set, reports connection errors that repeating cannot fix (an address
	// the dialer refuses); a call that meets one is not repeated.
	Permanent func(error) bool
}

// DefaultRetryMaxDelay is Config.RetryMaxDelay when it is zero.
const DefaultRetryMaxDelay = 8 * time.Second

// Retry describes a repeated attempt: why the one before it failed.
type Retry struct {
	// Attempt is the number of the attempt about to be made (2 for the first repeat).
	Attempt int
	// Status is the previous attempt's HTTP status (429 or 5xx), 0 when it got no response.
	Status int
}

// Client streams chat completions from one gateway with one key. It is safe
// for concurrent use.
type Client struct {
	completions openai.ChatCompletionService
	apiKey      string
	stall       time.Duration
	limits      Limits
	onRetry     func(Retry)
	permanent   func(error) bool
}

// New returns a client for cfg. It fails only on a BaseURL that is not an
// absolute http or https URL; the error does not quote the URL, which may
// carry credentials.
func New(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("llm: gateway base URL is not an absolute http(s) URL")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	stall := cfg.StallTimeout
	if stall == 0 {
		stall = DefaultStallTimeout
	}
	// NewChatCompletionService rather than openai.NewClient: the latter reads
	// OPENAI_BASE_URL, OPENAI_ORG_ID, OPENAI_CUSTOM_HEADERS and friends from
	// the environment, which would send the server's settings along with
	// a tenant's key.
	maxDelay := cfg.RetryMaxDelay
	if maxDelay <= 0 {
		maxDelay = DefaultRetryMaxDelay
	}
	completions := openai.NewChatCompletionService(
		option.WithBaseURL(cfg.BaseURL),
		option.WithAPIKey(cfg.APIKey),
		option.WithHTTPClient(hc),
		// openai-go repeats a request only before it hands the response stream over, so a
		// retry never replays text the visitor has seen; which failures are repeated is
		// decided by Stream's middleware.
		option.WithMaxRetries(max(cfg.Retries, 0)),
		option.WithMaxRetryDelay(maxDelay),
	)
	return &Client{
		completions: completions, apiKey: cfg.APIKey, stall: stall, limits: cfg.Limits.withDefaults(),
		onRetry: cfg.OnRetry, permanent: cfg.Permanent,
	}, nil
}

// Handler receives the deltas of a stream, in stream order, on the
// goroutine that called [Client.Stream]. Every token is non-empty and valid
// UTF-8 (PROTOCOL §7.3). Either func may be nil. A handler should not block
// for long: the stream is not read while it runs.
type Handler struct {
	// OnText receives a piece of the reply text.
	OnText func(token string)
	// OnReasoning receives a piece of the model's reasoning, streamed by the
	// gateway as reasoning_content or reasoning. It is never part of Result.
	OnReasoning func(token string)
	// OnWait, when set, is called each time Stream has delivered every piece
	// of what it has received and is about to wait for more of the gateway's
	// response. A caller that holds pieces back, to hand them on in batches,
	// hands them on here: it never holds one while Stream waits.
	OnWait func()
}

// Result is what one call produced.
type Result struct {
	// Text is the concatenation of every token passed to Handler.OnText.
	Text string
	// ToolCalls are the calls the model asked for, in the order of their
	// index. Set only when Stream returns no error.
	ToolCalls []ToolCall
	// FinishReason is the gateway's finish_reason ("stop", "tool_calls",
	// "length", ...).
	FinishReason string
	// ResponseModel is the model the gateway says answered (its chunks' "model"), "" when
	// it named none.
	ResponseModel string
	Usage         Usage
}

// Usage is the token count and cost of one call.
type Usage struct {
	PromptTokens     int64
	CompletionTokens int64
	// Reported is true when the gateway sent a usage object; the token counts
	// are then the gateway's, clamped to 0..[MaxReportedTokens].
	Reported bool
	// Estimated is true when the model may have run but the gateway reported
	// no usage: it answered 2xx without a usage object (a cancelled or broken
	// stream, or a gateway that ignores stream_options), or the request was
	// sent and no answer came (a timeout or a cancel before the first byte).
	// The token counts are then characters/4 of the text sent and received
	// ([EstimateTokens]). When neither flag is set nothing reached a model (the
	// request was never sent, or the gateway refused it with a non-2xx status)
	// and the counts are 0.
	Estimated bool
	// CostUSD is the cost the gateway reported in the usage object, under
	// the key "cost" or, failing that, "cost_usd" (a JSON number or a
	// numeric string, finite and not negative), at most [MaxReportedCostUSD],
	// rounded to [CostDecimals] places. It is 0 when CostReported is false:
	// price the tokens with a [PriceTable] then.
	CostUSD      float64
	CostReported bool
	// Clamped, when set, is what the gateway reported before its values were
	// brought into the sane ranges; the caller logs it.
	Clamped *ReportedUsage
}

// ReportedUsage is a usage object as the gateway sent it, kept only when some
// of it was out of range. Cost is the raw JSON text of the cost, if any.
type ReportedUsage struct {
	PromptTokens     int64
	CompletionTokens int64
	Cost             string
}

// errStalled is the cause the watchdog cancels a call with.
var errStalled = errors.New("gateway sent nothing within the stall timeout")

// errNoFinish reports a body that ended cleanly without a finish reason,
// which is what a gateway or proxy that closes a stream early looks like.
var errNoFinish = errors.New("stream ended without a finish reason")

// Stream makes one streaming /chat/completions call. Deltas go to h as they
// arrive; the Result holds the rest once the stream has ended.
//
// On failure the Result still holds the text delivered and the usage known
// so far (for the turn's usage row), and the error is one of:
//   - an [*Error]: the gateway failed, or sent more than the client's
//     [Limits] allow (KindInterrupted, with ErrResponseTooLarge,
//     ErrEventTooLarge or ErrTooManyToolCalls as its cause); Message is the
//     AGENT_ERROR text;
//   - a cancellation: ctx was cancelled; errors.Is(err, context.Canceled)
//     and errors.Is(err, context.Cause(ctx)) hold. No delta is delivered
//     once Stream has seen the cancellation, and a cancel from inside the
//     Handler stops delivery at once;
//   - anything else: req is malformed (no model, unknown role, tool
//     parameters that are not a JSON object), a bug in the caller.
//
// A ctx deadline is reported as KindTimeout ("model gateway timed out").
func (c *Client) Stream(ctx context.Context, req Request, h Handler) (Result, error) {
	body, err := req.body()
	if err != nil {
		return Result{}, fmt.Errorf("llm: %w", err)
	}
	if ctx.Err() != nil {
		return Result{}, c.contextError(ctx)
	}

	callCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	wd := newWatchdog(c.stall, func() { cancel(errStalled) })
	defer wd.stop()

	// The middleware runs on this goroutine, inside NewStreaming.
	var resp struct {
		received bool
		status   int
	}
	// sent: the whole request reached the gateway's connection, so the model
	// may run (and bill) even if no answer comes. The transport reports it
	// from its own goroutine.
	var sent atomic.Bool
	trace := &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}}
	// The middleware runs once per attempt: openai-go repeats the request (Config.Retries)
	// while no response stream has been handed over.
	attempt, prevStatus := 0, 0
	observe := func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
		attempt++
		if attempt > 1 {
			wd.touch() // the wait between attempts is the client's, not the gateway's silence
			if c.onRetry != nil {
				c.onRetry(Retry{Attempt: attempt, Status: prevStatus})
			}
		}
		resp.received, resp.status = false, 0
		sent.Store(false)
		res, err := next(r.WithContext(httptrace.WithClientTrace(r.Context(), trace)))
		prevStatus = 0
		if err != nil && c.permanent != nil && c.permanent(err) {
			// openai-go repeats every failure without a response; ending the call's context
			// stops it, and classify reports err.
			cancel(&permanentError{err})
		}
		if err == nil && res != nil {
			resp.received, resp.status = true, res.StatusCode
			prevStatus = res.StatusCode
			markRetry(res)
			if res.Body != nil {
				var body io.ReadCloser = newBoundedBody(res.Body, c.limits)
				if res.StatusCode/100 != 2 {
					body = struct {
						io.Reader
						io.Closer
					}{io.LimitReader(res.Body, errorBodyBytes), res.Body}
				}
				res.Body = &activityBody{ReadCloser: body, wd: wd, wait: h.OnWait}
			}
		}
		return res, err
	}

	wd.arm()
	// The body option replaces whatever the empty params marshal to;
	// NewStreaming still sets "stream" on it.
	stream := c.completions.NewStreaming(callCtx, openai.ChatCompletionNewParams{},
		option.WithRequestBody("application/json", body), option.WithMiddleware(observe))
	defer func() { _ = stream.Close() }()

	var (
		acc  = accumulator{maxCalls: c.limits.ToolCalls, maxArgs: c.limits.ArgumentBytes}
		text []byte
		res  Result
	)
	deliver := func(d delta) {
		if d.reasoning {
			acc.reasoningChars += int64(utf8.RuneCountInString(d.token))
			if h.OnReasoning != nil {
				h.OnReasoning(d.token)
			}
			return
		}
		text = append(text, d.token...)
		if h.OnText != nil {
			h.OnText(d.token)
		}
	}

	cancelled := false
stream:
	for {
		if ctx.Err() != nil {
			cancelled = true
			break
		}
		wd.arm()
		ok := stream.Next()
		wd.pause()
		if !ok {
			break
		}
		for _, d := range acc.add(stream.Current()) {
			if ctx.Err() != nil {
				cancelled = true
				break stream
			}
			deliver(d)
		}
		if acc.err != nil {
			break
		}
	}

	streamErr := stream.Err()
	switch {
	case cancelled || ctx.Err() != nil:
		err = c.contextError(ctx)
	case acc.err != nil:
		err = newError(KindInterrupted, 0, acc.err, c.apiKey)
	case streamErr != nil:
		err = c.classify(callCtx, resp.received, resp.status, streamErr)
	case !acc.finished:
		err = newError(KindInterrupted, 0, errNoFinish, c.apiKey)
	default:
		for _, d := range acc.flush() {
			deliver(d)
		}
		res.ToolCalls = acc.toolCalls()
	}

	res.Text = string(text)
	res.FinishReason = acc.finish
	res.ResponseModel = acc.model
	res.Usage = acc.usage
	if !res.Usage.Reported && (resp.received && resp.status/100 == 2 || !resp.received && sent.Load()) {
		res.Usage.PromptTokens = ceilQuarter(req.promptChars())
		res.Usage.CompletionTokens = ceilQuarter(int64(utf8.RuneCountInString(res.Text)) + acc.reasoningChars + acc.toolCallChars())
		res.Usage.Estimated = true
	}
	return res, err
}

// markRetry tells openai-go whether to repeat the request that got res: only after 429 or
// 5xx (it would also repeat 408, 409 and whatever a gateway marks "x-should-retry: true",
// 2xx included), and never when the gateway says "x-should-retry: false".
func markRetry(res *http.Response) {
	retry := res.StatusCode == http.StatusTooManyRequests || res.StatusCode >= 500
	if res.Header == nil {
		res.Header = http.Header{}
	}
	if res.Header.Get("x-should-retry") == "false" {
		retry = false
	}
	res.Header.Set("x-should-retry", strconv.FormatBool(retry))
}

// permanentError is the cause a call's context is ended with when a connection error is one
// repeating cannot fix (Config.Permanent).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// contextError reports why ctx ended: a deadline is a gateway timeout, a
// cancel is a cancellation.
func (c *Client) contextError(ctx context.Context) error {
	cause := context.Cause(ctx)
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		if cause != nil && !errors.Is(cause, context.DeadlineExceeded) {
			cause = fmt.Errorf("%w: %w", context.DeadlineExceeded, cause)
		}
		return newError(KindTimeout, 0, cause, c.apiKey)
	}
	return &canceledError{cause: cause}
}

// classify maps a failed call to its AGENT_ERROR kind. received and status
// describe the HTTP response, if one arrived.
func (c *Client) classify(callCtx context.Context, received bool, status int, err error) *Error {
	if errors.Is(context.Cause(callCtx), errStalled) {
		return newError(KindTimeout, 0, fmt.Errorf("%w (%s)", errStalled, c.stall), c.apiKey)
	}
	var perm *permanentError
	if errors.As(context.Cause(callCtx), &perm) {
		return newError(KindUnreachable, 0, perm.err, c.apiKey)
	}
	var apiErr *openai.Error
	if errors.As(err, &apiErr) {
		return newError(KindStatus, apiErr.StatusCode, describeAPIError(apiErr), c.apiKey)
	}
	if received && status/100 != 2 {
		// A non-2xx answer whose body openai-go could not parse.
		return newError(KindStatus, status, err, c.apiKey)
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return newError(KindTimeout, 0, err, c.apiKey)
	}
	if !received {
		return newError(KindUnreachable, 0, err, c.apiKey)
	}
	return newError(KindInterrupted, 0, err, c.apiKey)
}

// describeAPIError adds the gateway's error fields to the log text;
// openai.Error's own text only has the status.
func describeAPIError(e *openai.Error) error {
	if e.Type == "" && e.Code == "" && e.Message == "" {
		return e
	}
	return fmt.Errorf("%w: type=%q code=%q message=%q", e, e.Type, e.Code, e.Message)
}
