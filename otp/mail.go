package otp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"time"

	mail "github.com/wneessen/go-mail"

	"github.com/switchboard-dev/switchboard/config"
)

// Sender delivers one code to one address. It returns once the mail server accepted the
// message, or with the reason it did not; it never retries.
type Sender interface {
	Send(ctx context.Context, to, code string) error
}

// Subject is the subject of every code email (PROTOCOL-1.1 §7.14).
const Subject = "Your verification code"

// Body is the text of a code email: nothing in it is chosen by the visitor, the tenant or
// the model. ttl is shown in whole minutes, rounded up.
func Body(code string, ttl time.Duration) string {
	minutes := int(math.Ceil(ttl.Minutes()))
	return fmt.Sprintf("Your verification code is %s.\n\nEnter it in the chat to continue. It expires in %d minutes.\nIf you did not ask for this code, you can ignore this email.\n", code, minutes)
}

// SMTPSender sends codes through the operator's mail server (SWITCHBOARD_SMTP_*).
type SMTPSender struct {
	smtp config.SMTP
	ttl  time.Duration
	// tls overrides the TLS settings (tests with their own CA); nil verifies against the
	// system roots for the URL's host.
	tls *tls.Config
}

// NewSMTPSender returns the sender for s, or nil when s names no mail server: verification
// is then unavailable (PROTOCOL-1.1 §7.13 step 2).
func NewSMTPSender(s config.SMTP, codeTTL time.Duration) *SMTPSender {
	if s.URL == nil {
		return nil
	}
	return &SMTPSender{smtp: s, ttl: codeTTL}
}

// WithTLSConfig returns a copy of the sender that uses cfg for TLS (tests only).
func (s *SMTPSender) WithTLSConfig(cfg *tls.Config) *SMTPSender {
	c := *s
	c.tls = cfg
	return &c
}

// errNoCredentialsInClear refuses AUTH over a connection without TLS.
var errNoCredentialsInClear = errors.New("smtp: credentials are only sent over TLS")

// Send builds the code email and hands it to the mail server within SWITCHBOARD_SMTP_TIMEOUT.
// Its error never contains the code or the SMTP credentials.
func (s *SMTPSender) Send(ctx context.Context, to, code string) error {
	u := s.smtp.URL
	m := mail.NewMsg(mail.WithNoDefaultUserAgent(), mail.WithCharset(mail.CharsetUTF8), mail.WithEncoding(mail.EncodingQP))
	if err := m.From(s.smtp.From); err != nil {
		return fmt.Errorf("smtp: from address: %w", err)
	}
	if err := m.To(to); err != nil {
		return errors.New("smtp: the destination address is not usable")
	}
	m.Subject(Subject)
	m.SetDate()
	m.SetMessageID()
	m.SetBodyString(mail.TypeTextPlain, Body(code, s.ttl))

	tlsCfg := s.tls
	if tlsCfg == nil {
		tlsCfg = &tls.Config{ServerName: u.Host, MinVersion: tls.VersionTLS12}
	}
	opts := []mail.Option{mail.WithPort(u.Port), mail.WithTimeout(s.smtp.Timeout), mail.WithTLSConfig(tlsCfg)}
	switch u.Security {
	case "tls":
		opts = append(opts, mail.WithSSL())
	case "starttls":
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	default:
		if u.Username != "" {
			return errNoCredentialsInClear
		}
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	}
	if u.Username != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthPlain), mail.WithUsername(u.Username), mail.WithPassword(u.Password))
	}
	c, err := mail.NewClient(u.Host, opts...)
	if err != nil {
		return fmt.Errorf("smtp: client: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.smtp.Timeout)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		return sendFailure(err)
	}
	return nil
}

// sendFailure describes a failed send without the recipient: the mail server's own text and
// go-mail's error both may quote the address, and contact values are never logged in full.
func sendFailure(err error) error {
	var se *mail.SendError
	if errors.As(err, &se) {
		return fmt.Errorf("smtp: send failed: %s (reply code %d)", se.Reason, se.ErrorCode())
	}
	return fmt.Errorf("smtp: %w", err)
}
