package knowledge

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/netguard"
)

// Connector kinds.
const (
	KindWeb    = "web"
	KindGitHub = "github" // reserved; refused by this version
	KindFile   = "file"   // smooth-operator's local-directory kind; always refused
)

// MsgGitHubUnsupported is the exact message for the reserved kind (§9.11).
const MsgGitHubUnsupported = "connector kind 'github' is not supported yet"

// MsgFileUnsupported is the exact message for the kind file (§9.11): a tenant must never
// make the server read its own disk.
const MsgFileUnsupported = "connector kind 'file' is not supported: a connector never reads the server's disk; " +
	"use kind 'web', or send the documents to POST /admin/document-sets/{name}/documents"

// WebConfig is the stored, normalised config of a web connector: every key present,
// null when unset (§9.11). Exactly one of URLs and Sitemap is set; MaxPages is set (200 by
// default) only with Sitemap.
type WebConfig struct {
	URLs     []string `json:"urls"`
	Sitemap  *string  `json:"sitemap"`
	MaxPages *int     `json:"maxPages"`
	ACL      *ACL     `json:"acl"`
}

// webConfigView is a web config as the API shows it: the stored keys, plus url, the first
// of urls (null for a sitemap), for clients that read one URL (§9.11).
type webConfigView struct {
	URLs     []string `json:"urls"`
	URL      *string  `json:"url"`
	Sitemap  *string  `json:"sitemap"`
	MaxPages *int     `json:"maxPages"`
	ACL      *ACL     `json:"acl"`
}

func (c WebConfig) view() webConfigView {
	v := webConfigView{URLs: c.URLs, Sitemap: c.Sitemap, MaxPages: c.MaxPages, ACL: c.ACL}
	if len(c.URLs) > 0 {
		v.URL = &c.URLs[0]
	}
	return v
}

const msgOneSource = "config must set exactly one of urls (or url) and sitemap"

// parseWebConfig decodes and validates a web connector's config object. raw has already
// been checked as JSON by the API (syntax, duplicate keys, UTF-8); this checks keys,
// types and values and reports the first problem at its path under "config". A single
// url (the smooth-operator shape) is the same as urls holding it; it is never stored.
func parseWebConfig(raw json.RawMessage, allowPrivate bool) (WebConfig, *FieldError) {
	obj, fe := decodeObject("config", raw, "urls", "url", "sitemap", "maxPages", "acl")
	if fe != nil {
		return WebConfig{}, fe
	}
	var c WebConfig
	if v, ok := obj["urls"]; ok && !isNull(v) {
		urls, fe := decodeStrings("config.urls", v)
		if fe != nil {
			return WebConfig{}, fe
		}
		if len(urls) < 1 || len(urls) > MaxWebURLs {
			return WebConfig{}, fieldErr("config.urls", fmt.Sprintf("config.urls must hold 1..%d URLs", MaxWebURLs))
		}
		seen := map[string]bool{}
		for i, u := range urls {
			f := fmt.Sprintf("config.urls[%d]", i)
			if err := netguard.ValidateURL(u, allowPrivate); err != nil {
				return WebConfig{}, fieldErr(f, f+" "+err.Error())
			}
			if !seen[u] {
				seen[u] = true
				c.URLs = append(c.URLs, u)
			}
		}
	}
	if v, ok := obj["url"]; ok && !isNull(v) {
		var u string
		if json.Unmarshal(v, &u) != nil {
			return WebConfig{}, fieldErr("config.url", "config.url must be a string")
		}
		if c.URLs != nil {
			return WebConfig{}, fieldErr("config.url", msgOneSource)
		}
		if err := netguard.ValidateURL(u, allowPrivate); err != nil {
			return WebConfig{}, fieldErr("config.url", "config.url "+err.Error())
		}
		c.URLs = []string{u}
	}
	if v, ok := obj["sitemap"]; ok && !isNull(v) {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return WebConfig{}, fieldErr("config.sitemap", "config.sitemap must be a string")
		}
		if err := netguard.ValidateURL(s, allowPrivate); err != nil {
			return WebConfig{}, fieldErr("config.sitemap", "config.sitemap "+err.Error())
		}
		c.Sitemap = &s
	}
	switch {
	case c.URLs == nil && c.Sitemap == nil:
		return WebConfig{}, fieldErr("config", msgOneSource)
	case c.URLs != nil && c.Sitemap != nil:
		return WebConfig{}, fieldErr("config.sitemap", msgOneSource)
	}
	if v, ok := obj["maxPages"]; ok && !isNull(v) {
		n, fe := decodeInt("config.maxPages", v)
		if fe != nil {
			return WebConfig{}, fe
		}
		if c.Sitemap == nil {
			return WebConfig{}, fieldErr("config.maxPages", "config.maxPages is allowed only with sitemap")
		}
		if n < 1 || n > MaxWebPages {
			return WebConfig{}, fieldErr("config.maxPages", fmt.Sprintf("config.maxPages must be an integer 1..%d", MaxWebPages))
		}
		c.MaxPages = &n
	} else if c.Sitemap != nil {
		n := DefaultWebMaxPages
		c.MaxPages = &n
	}
	if v, ok := obj["acl"]; ok && !isNull(v) {
		a, fe := parseACL("config.acl", v)
		if fe != nil {
			return WebConfig{}, fe
		}
		c.ACL = normalizeACL(a)
	}
	return c, nil
}

// parseACL decodes an ACL object: keys public (boolean), users and groups (string arrays),
// each optional; unknown keys are refused.
func parseACL(path string, raw json.RawMessage) (*ACL, *FieldError) {
	obj, fe := decodeObject(path, raw, "public", "users", "groups")
	if fe != nil {
		return nil, fe
	}
	a := &ACL{}
	if v, ok := obj["public"]; ok && !isNull(v) {
		if json.Unmarshal(v, &a.Public) != nil {
			return nil, fieldErr(path+".public", path+".public must be a boolean")
		}
	}
	for _, k := range []string{"users", "groups"} {
		v, ok := obj[k]
		if !ok || isNull(v) {
			continue
		}
		list, fe := decodeStrings(path+"."+k, v)
		if fe != nil {
			return nil, fe
		}
		if k == "users" {
			a.Users = list
		} else {
			a.Groups = list
		}
	}
	if fe := checkACL(path, a); fe != nil {
		return nil, fe
	}
	return a, nil
}

// decodeObject reads raw as a JSON object whose keys are all in allowed; the first
// unknown key (in document order) is reported at path.key.
func decodeObject(path string, raw json.RawMessage, allowed ...string) (map[string]json.RawMessage, *FieldError) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, fieldErr(path, path+" must be an object")
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(trimmed, &obj); err != nil {
		return nil, fieldErr(path, path+" must be an object")
	}
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	var unknown []string
	for k := range obj {
		if !known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		k := firstInDocument(trimmed, unknown)
		return nil, fieldErr(path+"."+k, "unknown field '"+path+"."+k+"'")
	}
	return obj, nil
}

// firstInDocument picks, among keys, the one that appears first in the object's text,
// so the error names the same key on every call.
func firstInDocument(obj []byte, keys []string) string {
	dec := json.NewDecoder(bytes.NewReader(obj))
	_, _ = dec.Token() // the opening brace, already checked
	set := map[string]bool{}
	for _, k := range keys {
		set[k] = true
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			break
		}
		if k, ok := t.(string); ok && set[k] {
			return k
		}
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			break
		}
	}
	sort.Strings(keys)
	return keys[0]
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

func decodeStrings(path string, v json.RawMessage) ([]string, *FieldError) {
	var items []json.RawMessage
	t := bytes.TrimSpace(v)
	if len(t) == 0 || t[0] != '[' || json.Unmarshal(t, &items) != nil {
		return nil, fieldErr(path, path+" must be an array of strings")
	}
	out := make([]string, len(items))
	for i, it := range items {
		if json.Unmarshal(it, &out[i]) != nil || isNull(it) {
			f := fmt.Sprintf("%s[%d]", path, i)
			return nil, fieldErr(f, f+" must be a string")
		}
	}
	return out, nil
}

var intRe = regexp.MustCompile(`^-?(0|[1-9][0-9]{0,9})$`)

// decodeInt accepts a JSON integer literal only: 1.5, 1.0, 1e3 and strings are refused.
func decodeInt(path string, v json.RawMessage) (int, *FieldError) {
	s := string(bytes.TrimSpace(v))
	if !intRe.MatchString(s) {
		return 0, fieldErr(path, path+" must be an integer")
	}
	var n int
	if json.Unmarshal([]byte(s), &n) != nil {
		return 0, fieldErr(path, path+" must be an integer")
	}
	return n, nil
}

// ConnectorInput is the body of POST and PUT /admin/connectors (ConnectorWrite). Config is
// the raw JSON object as received (already checked as JSON by the API).
type ConnectorInput struct {
	Name        string
	Kind        string
	Config      json.RawMessage
	DocumentSet *string // nil: on create, DefaultSetName(Name); on replace, the current set
	Enabled     *bool   // nil: true
	Schedule    *string // nil: manual only
}

// connectorWrite is a validated ConnectorInput in stored form.
type connectorWrite struct {
	name     string
	kind     string
	config   json.RawMessage // normalised WebConfig
	set      string          // "": not given (see ConnectorInput.DocumentSet)
	enabled  bool
	schedule *string
}

// validateConnector checks a ConnectorWrite in field order (name, kind, config,
// documentSet, schedule) and returns its stored form.
func validateConnector(in ConnectorInput, allowPrivate bool) (connectorWrite, *FieldError) {
	name := strings.TrimSpace(in.Name)
	if fe := checkText("name", name); fe != nil {
		return connectorWrite{}, fe
	}
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxConnectorNameChars {
		return connectorWrite{}, fieldErr("name", fmt.Sprintf("name must be 1..%d characters", MaxConnectorNameChars))
	}
	if strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return connectorWrite{}, fieldErr("name", "name must not contain control characters")
	}
	switch in.Kind {
	case KindWeb:
	case KindGitHub:
		return connectorWrite{}, fieldErr("kind", MsgGitHubUnsupported)
	case KindFile:
		return connectorWrite{}, fieldErr("kind", MsgFileUnsupported)
	default:
		return connectorWrite{}, fieldErr("kind", "kind must be 'web' (got "+echo(in.Kind)+")")
	}
	cfg, fe := parseWebConfig(in.Config, allowPrivate)
	if fe != nil {
		return connectorWrite{}, fe
	}
	stored, err := json.Marshal(cfg)
	if err != nil {
		return connectorWrite{}, fieldErr("config", "config cannot be stored")
	}
	w := connectorWrite{name: name, kind: in.Kind, config: stored, enabled: true}
	if in.DocumentSet != nil {
		if fe := checkSetName("documentSet", *in.DocumentSet); fe != nil {
			return connectorWrite{}, fe
		}
		w.set = *in.DocumentSet
	}
	if in.Enabled != nil {
		w.enabled = *in.Enabled
	}
	if in.Schedule != nil {
		if _, err := ParseSchedule(*in.Schedule); err != nil {
			return connectorWrite{}, fieldErr("schedule", "schedule "+err.Error())
		}
		s := *in.Schedule
		w.schedule = &s
	}
	return w, nil
}

// DefaultSetName is the document set of a connector created without one (§9.11): its name
// when that is a valid set name; otherwise the name with every run of characters a set name
// cannot hold turned into "-", cut to 64 characters; and for a name with no ASCII letter or
// digit, "connector-" and 8 hex digits of its SHA-256.
func DefaultSetName(name string) string {
	if ValidSetName(name) {
		return name
	}
	var b strings.Builder
	dash := false
	for _, r := range name {
		switch {
		case r < utf8.RuneSelf && (r == '.' || r == '_' || r == '-' || unicode.IsLetter(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
			dash = false
		case !dash:
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimLeft(b.String(), "._-")
	if len(s) > 64 {
		s = s[:64]
	}
	s = strings.TrimRight(s, "-")
	if ValidSetName(s) {
		return s
	}
	sum := sha256.Sum256([]byte(name))
	return "connector-" + hex.EncodeToString(sum[:4])
}
