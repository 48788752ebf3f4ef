package otp_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-dev/switchboard/config"
	"github.com/switchboard-dev/switchboard/otp"
	"github.com/switchboard-dev/switchboard/otp/otptest"
)

func sender(t *testing.T, security, addr, user, pass string) *otp.SMTPSender {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return otp.NewSMTPSender(config.SMTP{
		URL:  &config.SMTPURL{Security: security, Host: host, Port: p, Username: user, Password: pass},
		From: "Acme Support <no-reply@acme.example>", Timeout: 5 * time.Second,
	}, 10*time.Minute)
}

func TestSendDeliversThePlainTextCodeEmail(t *testing.T) {
	sink := otptest.Start(t, otptest.Options{})
	if err := sender(t, "none", sink.Addr(), "", "").Send(context.Background(), "Dana@example.com", "482913"); err != nil {
		t.Fatal(err)
	}
	msgs := sink.WaitCount(t, 1)
	if len(msgs) != 1 || msgs[0].From != "no-reply@acme.example" || len(msgs[0].To) != 1 || msgs[0].To[0] != "Dana@example.com" {
		t.Fatalf("envelope: %+v", msgs)
	}
	h := msgs[0].Header(t)
	for k, want := range map[string]string{
		"Subject": "Your verification code", "To": "<Dana@example.com>",
		"From": `"Acme Support" <no-reply@acme.example>`,
	} {
		if got := h.Get(k); got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
	if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") || !strings.Contains(strings.ToLower(ct), "charset=utf-8") {
		t.Errorf("Content-Type %q", ct)
	}
	if h.Get("Date") == "" || h.Get("Message-Id") == "" {
		t.Errorf("no Date or Message-ID: %v", h)
	}
	if h.Get("User-Agent") != "" || h.Get("X-Mailer") != "" {
		t.Errorf("the message names the mail library: %v", h)
	}
	if got := msgs[0].Code(t); got != "482913" {
		t.Fatalf("code %q", got)
	}
	body := strings.ReplaceAll(string(msgs[0].Data), "\r\n", "\n")
	if !strings.HasSuffix(strings.TrimRight(body, "\n"), strings.TrimRight(otp.Body("482913", 10*time.Minute), "\n")) {
		t.Fatalf("body:\n%s", body)
	}
}

func TestBodyShowsTheLifetimeInWholeMinutesRoundedUp(t *testing.T) {
	want := "Your verification code is 000042.\n\nEnter it in the chat to continue. It expires in 2 minutes.\nIf you did not ask for this code, you can ignore this email.\n"
	if got := otp.Body("000042", 61*time.Second); got != want {
		t.Fatalf("got %q", got)
	}
}

// testTLS is a server certificate for 127.0.0.1 and a client config that trusts only it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "sink.test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}, MinVersion: tls.VersionTLS12},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

func TestSendAuthenticatesOverSTARTTLSAndImplicitTLS(t *testing.T) {
	srvTLS, cliTLS := testTLS(t)
	users := map[string]string{"mailer@acme.example": "p@ss:word"}
	for _, c := range []struct {
		name, security string
		implicit       bool
	}{{"starttls", "starttls", false}, {"implicit", "tls", true}} {
		t.Run(c.name, func(t *testing.T) {
			sink := otptest.Start(t, otptest.Options{TLS: srvTLS, Implicit: c.implicit, Users: users})
			s := sender(t, c.security, sink.Addr(), "mailer@acme.example", "p@ss:word").WithTLSConfig(cliTLS)
			if err := s.Send(context.Background(), "alice@example.com", "123456"); err != nil {
				t.Fatal(err)
			}
			if m := sink.WaitCount(t, 1)[0]; m.Auth != "mailer@acme.example" || m.Code(t) != "123456" {
				t.Fatalf("auth %q", m.Auth)
			}
			// The certificate is verified: a client that does not trust it refuses to send.
			if err := sender(t, c.security, sink.Addr(), "mailer@acme.example", "p@ss:word").Send(context.Background(), "alice@example.com", "123456"); err == nil {
				t.Fatal("sent to a server whose certificate is not trusted")
			}
		})
	}
}

func TestSendFailsWithoutSTARTTLSAndNeverSendsCredentialsInClear(t *testing.T) {
	sink := otptest.Start(t, otptest.Options{}) // offers no STARTTLS
	if err := sender(t, "starttls", sink.Addr(), "", "").Send(context.Background(), "alice@example.com", "123456"); err == nil {
		t.Fatal("smtp:// sent without STARTTLS")
	}
	if err := sender(t, "none", sink.Addr(), "user", "secret-pass").Send(context.Background(), "alice@example.com", "123456"); err == nil {
		t.Fatal("credentials sent in clear")
	}
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("%d messages accepted", n)
	}
}

func TestSendFailureNamesNeitherTheAddressNorTheCode(t *testing.T) {
	sink := otptest.Start(t, otptest.Options{})
	sink.Reject(true)
	err := sender(t, "none", sink.Addr(), "", "").Send(context.Background(), "dana.secret@example.com", "482913")
	if err == nil {
		t.Fatal("a refused message reported sent")
	}
	for _, leak := range []string{"dana.secret", "482913"} {
		if strings.Contains(err.Error(), leak) {
			t.Fatalf("error %q contains %q", err, leak)
		}
	}
}
