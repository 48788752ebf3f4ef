package llmtest

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// WithDelay waits before each data event, never after it: the test fires every wait
// itself and records what the stream had sent when the wait began.
func TestDelayComesBeforeEachChunk(t *testing.T) {
	g := New(t)
	rec := httptest.NewRecorder()
	var waits []string
	// The handler runs on this goroutine, so the recorder holds exactly what was written
	// before each wait.
	g.after = func(d time.Duration) <-chan time.Time {
		waits = append(waits, fmt.Sprintf("%v after %d events", d, strings.Count(rec.Body.String(), "data: ")))
		fired := make(chan time.Time, 1)
		fired <- time.Time{}
		return fired
	}
	g.Push(Text("a", "b").WithDelay(50 * time.Millisecond))
	g.serveHTTP(rec, httptest.NewRequest("POST", "/v1/chat/completions", strings.NewReader(`{}`)))

	// Two text chunks and the finish chunk, each after a delay; "[DONE]" follows at once.
	want := []string{"50ms after 0 events", "50ms after 1 events", "50ms after 2 events"}
	if diff := cmp.Diff(want, waits); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	if n := strings.Count(rec.Body.String(), "data: "); n != 4 || !strings.HasSuffix(rec.Body.String(), "data: [DONE]\n\n") {
		t.Errorf("stream of %d events:\n%s", n, rec.Body.String())
	}
}
