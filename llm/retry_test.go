package llm_test

import (
	"context"
	"errors"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/llm"
	"github.com/switchboard-dev/switchboard/llm/llmtest"
)

// retrying is a client that repeats failed requests twice, waiting at most a millisecond,
// and records each repeat.
func retrying(t *testing.T, baseURL string, permanent func(error) bool) (*llm.Client, *[]llm.Retry) {
	t.Helper()
	var retries []llm.Retry
	c, err := llm.New(llm.Config{
		BaseURL: baseURL, APIKey: testKey, StallTimeout: 5 * time.Second,
		Retries: 2, RetryMaxDelay: time.Millisecond,
		OnRetry: func(r llm.Retry) { retries = append(retries, r) }, Permanent: permanent,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, &retries
}

func TestPreStreamFailuresAreRetried(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Error(429, ""), llmtest.Error(503, ""), llmtest.Text("Hello", " there").WithUsage(7, 2))
	c, retries := retrying(t, gw.BaseURL(), nil)
	rec := &recorder{}
	res, err := c.Stream(context.Background(), simpleRequest(), rec.handler())
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Hello there" || !reflect.DeepEqual(rec.tokens("text"), []string{"Hello", " there"}) {
		t.Fatalf("text %q, tokens %q", res.Text, rec.tokens("text"))
	}
	if res.Usage.PromptTokens != 7 || res.Usage.CompletionTokens != 2 || res.Usage.Estimated {
		t.Fatalf("usage %+v: want the successful attempt's", res.Usage)
	}
	if want := []llm.Retry{{Attempt: 2, Status: 429}, {Attempt: 3, Status: 503}}; !reflect.DeepEqual(*retries, want) {
		t.Fatalf("retries %+v, want %+v", *retries, want)
	}
	if gw.RequestCount() != 3 {
		t.Fatalf("%d requests, want 3", gw.RequestCount())
	}
	// Every attempt sent the same request.
	if a, b := gw.Request(0).Body, gw.Request(2).Body; string(a) != string(b) {
		t.Fatalf("retried body differs:\n%s\n%s", a, b)
	}
}

func TestRetriesAreBounded(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Error(502, ""), llmtest.Error(502, ""), llmtest.Error(500, ""))
	c, retries := retrying(t, gw.BaseURL(), nil)
	res, err := c.Stream(context.Background(), simpleRequest(), llm.Handler{})
	if e := gatewayError(t, err); e.Message() != "model gateway error (HTTP 500)" {
		t.Fatalf("Message() = %q: want the last attempt's", e.Message())
	}
	if gw.RequestCount() != 3 || len(*retries) != 2 || res.Usage != (llm.Usage{}) {
		t.Fatalf("%d requests, retries %+v, usage %+v", gw.RequestCount(), *retries, res.Usage)
	}
}

func TestOnlyConnectionErrors429And5xxAreRetried(t *testing.T) {
	cases := map[string]llmtest.Response{
		"400":                     llmtest.Error(400, ""),
		"401":                     llmtest.Error(401, ""),
		"408":                     llmtest.Error(408, ""),
		"409":                     llmtest.Error(409, ""),
		"503 x-should-retry":      llmtest.Error(503, "").WithHeader("x-should-retry", "false"),
		"429 Retry-After too far": llmtest.Error(429, "").WithHeader("Retry-After", "60"),
	}
	for name, resp := range cases {
		t.Run(name, func(t *testing.T) {
			gw := llmtest.New(t)
			gw.Push(resp)
			c, retries := retrying(t, gw.BaseURL(), nil)
			_, err := c.Stream(context.Background(), simpleRequest(), llm.Handler{})
			if e := gatewayError(t, err); e.Kind != llm.KindStatus {
				t.Fatalf("kind %v", e.Kind)
			}
			if gw.RequestCount() != 1 || len(*retries) != 0 {
				t.Fatalf("%d requests, retries %+v: want no retry", gw.RequestCount(), *retries)
			}
		})
	}
}

func TestConnectionErrorsAreRetriedUnlessPermanent(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	c, retries := retrying(t, "http://"+addr+"/v1", nil)
	_, err = c.Stream(context.Background(), simpleRequest(), llm.Handler{})
	if e := gatewayError(t, err); e.Kind != llm.KindUnreachable {
		t.Fatalf("kind %v", e.Kind)
	}
	if want := []llm.Retry{{Attempt: 2}, {Attempt: 3}}; !reflect.DeepEqual(*retries, want) {
		t.Fatalf("retries %+v, want %+v", *retries, want)
	}

	// A failure the caller calls permanent is reported at once.
	c, retries = retrying(t, "http://"+addr+"/v1", func(err error) bool { return true })
	_, err = c.Stream(context.Background(), simpleRequest(), llm.Handler{})
	if e := gatewayError(t, err); e.Kind != llm.KindUnreachable || e.Message() != "model gateway unreachable" {
		t.Fatalf("kind %v, message %q", e.Kind, e.Message())
	}
	if len(*retries) != 0 {
		t.Fatalf("retries %+v after a permanent failure", *retries)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("cause %v is not the dial error", err)
	}
}

func TestFailureAfterTheFirstTokenIsNotRetried(t *testing.T) {
	gw := llmtest.New(t)
	gw.Push(llmtest.Text("Here are your last", " three").BreakAfter(1), llmtest.Text("never sent"))
	c, retries := retrying(t, gw.BaseURL(), nil)
	rec := &recorder{}
	res, err := c.Stream(context.Background(), simpleRequest(), rec.handler())
	if e := gatewayError(t, err); e.Message() != "model stream interrupted" {
		t.Fatalf("Message() = %q", e.Message())
	}
	if got := rec.tokens("text"); !reflect.DeepEqual(got, []string{"Here are your last"}) || res.Text != "Here are your last" {
		t.Fatalf("tokens %q, text %q", got, res.Text)
	}
	if gw.RequestCount() != 1 || len(*retries) != 0 || gw.Pending() != 1 {
		t.Fatalf("%d requests, retries %+v: a started stream was repeated", gw.RequestCount(), *retries)
	}
}
