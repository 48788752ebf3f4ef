package config

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSMTPURLsParseWithTheirDefaultPortsAndCredentials(t *testing.T) {
	cases := map[string]SMTPURL{
		"smtps://mail.example.com":                           {Security: "tls", Host: "mail.example.com", Port: 465},
		"smtp://mail.example.com":                            {Security: "starttls", Host: "mail.example.com", Port: 587},
		"smtp+insecure://127.0.0.1:2525":                     {Security: "none", Host: "127.0.0.1", Port: 2525},
		"smtps://mailer%40acme:p%3Ass@mail.example.com:2465": {Security: "tls", Host: "mail.example.com", Port: 2465, Username: "mailer@acme", Password: "p:ss"},
	}
	for raw, want := range cases {
		c, err := LoadFrom(env(map[string]string{"SWITCHBOARD_SMTP_URL": raw, "SWITCHBOARD_SMTP_FROM": "Acme <no-reply@acme.example>"}))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		if diff := cmp.Diff(&want, c.SMTP.URL); diff != "" {
			t.Errorf("%s (-want +got):\n%s", raw, diff)
		}
	}
	c, err := LoadFrom(env(nil))
	if err != nil || c.SMTP.URL != nil || c.SMTP.Timeout != 10*time.Second {
		t.Fatalf("unset: %+v %v", c.SMTP, err)
	}
	if c.OTP != (OTP{TTL: 600 * time.Second, MaxAttempts: 5, VerifiedTTL: 24 * time.Hour, SendsPerSession: 3, SendsPerAddress: 5}) {
		t.Fatalf("OTP defaults %+v", c.OTP)
	}
}

func TestBadSMTPSettingsFailWithoutQuotingThePassword(t *testing.T) {
	cases := map[string]map[string]string{
		"SWITCHBOARD_SMTP_URL: scheme":                                {"SWITCHBOARD_SMTP_URL": "http://u:hunter2@mail.example.com", "SWITCHBOARD_SMTP_FROM": "a@b.example"},
		"SWITCHBOARD_SMTP_URL: port":                                  {"SWITCHBOARD_SMTP_URL": "smtps://u:hunter2@mail.example.com:99999", "SWITCHBOARD_SMTP_FROM": "a@b.example"},
		"SWITCHBOARD_SMTP_URL: smtp+insecure:// takes no credentials": {"SWITCHBOARD_SMTP_URL": "smtp+insecure://u:hunter2@127.0.0.1", "SWITCHBOARD_SMTP_FROM": "a@b.example"},
		"SWITCHBOARD_SMTP_URL: smtp+insecure:// is for local":         {"SWITCHBOARD_SMTP_URL": "smtp+insecure://127.0.0.1", "SWITCHBOARD_SMTP_FROM": "a@b.example", "SWITCHBOARD_ENV": "production"},
		"SWITCHBOARD_SMTP_FROM: required":                             {"SWITCHBOARD_SMTP_URL": "smtps://u:hunter2@mail.example.com"},
		"SWITCHBOARD_SMTP_FROM: must be an RFC":                       {"SWITCHBOARD_SMTP_URL": "smtps://u:hunter2@mail.example.com", "SWITCHBOARD_SMTP_FROM": "not an address"},
		"SWITCHBOARD_OTP_MAX_ATTEMPTS":                                {"SWITCHBOARD_OTP_MAX_ATTEMPTS": "0"},
		"SWITCHBOARD_OTP_TTL":                                         {"SWITCHBOARD_OTP_TTL": "0s"},
		"SWITCHBOARD_OTP_SENDS_PER_ADDRESS_PER_HOUR":                  {"SWITCHBOARD_OTP_SENDS_PER_ADDRESS_PER_HOUR": "-1"},
	}
	for want, vars := range cases {
		_, err := LoadFrom(env(vars))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: got %v, want an error containing %q", vars, err, want)
			continue
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the error quotes the password: %v", err)
		}
	}
}
