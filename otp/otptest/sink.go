// Package otptest runs a real SMTP server in the test process (github.com/emersion/go-smtp)
// that keeps every message it accepts, so that tests read one-time codes from delivered
// mail exactly as a visitor would.
package otptest

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"net"
	"net/mail"
	"regexp"
	"sync"
	"testing"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-dev/switchboard/testkit"
)

// Message is one accepted message.
type Message struct {
	From string
	To   []string
	Data []byte // as received: headers and body
	Auth string // the AUTH PLAIN username, "" without AUTH
}

// Header parses the message's headers.
func (m Message) Header(t testing.TB) mail.Header {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		t.Fatalf("otptest: unreadable message: %v", err)
	}
	return msg.Header
}

var codeRE = regexp.MustCompile(`Your verification code is ([0-9]{6})\.`)

// Code is the code the message carries; the test fails without one.
func (m Message) Code(t testing.TB) string {
	t.Helper()
	match := codeRE.FindSubmatch(m.Data)
	if match == nil {
		t.Fatalf("otptest: no code in message:\n%s", m.Data)
	}
	return string(match[1])
}

// Options shape the sink.
type Options struct {
	// TLS, when set, makes the sink offer STARTTLS with it (or, with Implicit, speak TLS
	// from the first byte).
	TLS      *tls.Config
	Implicit bool
	// Users are the AUTH PLAIN credentials accepted; none: AUTH is not offered.
	Users map[string]string
}

// Sink is the running server.
type Sink struct {
	addr string
	srv  *smtp.Server

	mu     sync.Mutex
	msgs   []Message
	reject error // non-nil: every DATA is refused with it
}

// Start runs a sink on 127.0.0.1 for the test's lifetime.
func Start(t testing.TB, o Options) *Sink {
	t.Helper()
	s := &Sink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		return &session{sink: s, users: o.Users}, nil
	}))
	srv.Domain = "sink.test"
	srv.AllowInsecureAuth = o.TLS == nil
	srv.TLSConfig = o.TLS
	srv.ErrorLog = log.New(io.Discard, "", 0)
	l, err := new(net.ListenConfig).Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otptest: listen: %v", err)
	}
	if o.TLS != nil && o.Implicit {
		l = tls.NewListener(l, o.TLS)
	}
	s.addr, s.srv = l.Addr().String(), srv
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// Addr is host:port.
func (s *Sink) Addr() string { return s.addr }

// URL is SWITCHBOARD_SMTP_URL for an insecure sink (no TLS, no credentials).
func (s *Sink) URL() string { return "smtp+insecure://" + s.addr }

// Reject makes the sink refuse every later message's DATA with a 554 (nil accepts again).
func (s *Sink) Reject(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reject = nil
	if on {
		s.reject = &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "refused by the test sink"}
	}
}

// Messages returns every accepted message so far.
func (s *Sink) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.msgs...)
}

// WaitCount waits until n messages were accepted and returns them.
func (s *Sink) WaitCount(t testing.TB, n int) []Message {
	t.Helper()
	testkit.Eventually(t, "messages delivered to the sink", func() bool { return len(s.Messages()) >= n })
	return s.Messages()
}

type session struct {
	sink  *Sink
	users map[string]string
	auth  string
	from  string
	to    []string
}

func (ss *session) AuthMechanisms() []string {
	if len(ss.users) == 0 {
		return nil
	}
	return []string{sasl.Plain}
}

func (ss *session) Auth(mech string) (sasl.Server, error) {
	if mech != sasl.Plain || len(ss.users) == 0 {
		return nil, smtp.ErrAuthUnsupported
	}
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if want, ok := ss.users[user]; ok && want == pass {
			ss.auth = user
			return nil
		}
		return errors.New("invalid credentials")
	}), nil
}

func (ss *session) Mail(from string, _ *smtp.MailOptions) error {
	if len(ss.users) > 0 && ss.auth == "" {
		return smtp.ErrAuthRequired
	}
	ss.from = from
	return nil
}

func (ss *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.to = append(ss.to, to)
	return nil
}

func (ss *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	ss.sink.mu.Lock()
	defer ss.sink.mu.Unlock()
	if ss.sink.reject != nil {
		return ss.sink.reject
	}
	ss.sink.msgs = append(ss.sink.msgs, Message{From: ss.from, To: append([]string(nil), ss.to...), Data: b, Auth: ss.auth})
	return nil
}

func (ss *session) Reset() { ss.from, ss.to = "", nil }

func (ss *session) Logout() error { return nil }
