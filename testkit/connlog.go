package testkit

import (
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
)

// ConnLog records the connections an http.Server accepts, in the order it accepts them.
// Install it before the server starts: server.Config.ConnState = log.ConnState.
type ConnLog struct {
	mu    sync.Mutex
	addrs []string // the peers' addresses, in accept order
}

// ConnState is the http.Server hook that logs each new connection.
func (l *ConnLog) ConnState(c net.Conn, s http.ConnState) {
	if s != http.StateNew {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addrs = append(l.addrs, c.RemoteAddr().String())
}

// Count is the number of connections accepted so far.
func (l *ConnLog) Count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.addrs)
}

// AcceptedBefore is the positive signal for "nothing reached the server": it dials addr
// (the server's listener) with a plain TCP connection, waits until the server has accepted
// that probe, and returns how many connections it accepted before it. The kernel queues
// connections in arrival order and http.Server accepts and logs them one at a time, so once
// the probe is logged, every connection that reached the server earlier is logged too; no
// pause has to guess how long a stray connection would take to show. The probe is closed.
func (l *ConnLog) AcceptedBefore(tb testing.TB, addr string) int {
	tb.Helper()
	var d net.Dialer
	probe, err := d.DialContext(tb.Context(), "tcp", addr)
	if err != nil {
		tb.Fatalf("testkit: probe %s: %v", addr, err)
	}
	defer func() { _ = probe.Close() }()
	me := probe.LocalAddr().String()
	var before int
	Eventually(tb, "the server to accept the probe connection", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		before = slices.Index(l.addrs, me)
		return before >= 0
	})
	return before
}
