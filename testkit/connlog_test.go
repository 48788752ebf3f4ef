package testkit_test

import (
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-dev/switchboard/testkit"
)

func TestAcceptedBeforeCountsEveryEarlierConnection(t *testing.T) {
	var log testkit.ConnLog
	srv := httptest.NewUnstartedServer(http.NotFoundHandler())
	srv.Config.ConnState = log.ConnState
	srv.Start()
	t.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()

	if n := log.AcceptedBefore(t, addr); n != 0 {
		t.Fatalf("a fresh server accepted %d connections before the probe, want 0", n)
	}
	// Two connections that reach the server and are dropped at once, as a stray dial
	// would be: the next probe must see both, without any pause.
	for range 2 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	if n := log.AcceptedBefore(t, addr); n != 3 { // the first probe and the two dials
		t.Fatalf("accepted %d connections before the second probe, want 3", n)
	}
	if n := log.Count(); n != 4 {
		t.Fatalf("Count = %d, want 4", n)
	}
}
