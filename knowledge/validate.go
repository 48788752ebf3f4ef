package knowledge

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/netguard"
)

// Field limits of ADMIN-API §5.2.
const (
	MaxDocumentsPerRequest = 100
	MaxTitleChars          = 512
	MaxContentBytes        = 1 << 20
	MaxACLEntries          = 1000
	MaxACLEntryChars       = 256
	MaxConnectorNameChars  = 128
	MaxScheduleChars       = 128
	MaxWebURLs             = 100
	MaxWebPages            = 2000
	DefaultWebMaxPages     = 200
)

var (
	setNameRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	docIDRe   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$`)
)

// ValidSetName reports whether name follows the document-set grammar (§5.2).
func ValidSetName(name string) bool { return setNameRe.MatchString(name) }

// ValidDocumentID reports whether id follows the document id grammar (§5.2).
func ValidDocumentID(id string) bool { return docIDRe.MatchString(id) }

// checkSetName validates a set name given as input at field.
func checkSetName(field, name string) *FieldError {
	if !ValidSetName(name) {
		return fieldErr(field, field+" must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ (got "+echo(name)+")")
	}
	return nil
}

// checkText checks what Postgres cannot store.
func checkText(field, s string) *FieldError {
	if !utf8.ValidString(s) {
		return fieldErr(field, field+" must be valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return fieldErr(field, field+" must not contain U+0000")
	}
	return nil
}

// validateDocuments checks a whole ingestion request, in order, and returns the first
// problem.
func validateDocuments(setName string, docs []DocumentInput) *FieldError {
	if fe := checkSetName("name", setName); fe != nil {
		return fe
	}
	if len(docs) < 1 || len(docs) > MaxDocumentsPerRequest {
		return fieldErr("documents", fmt.Sprintf("documents must hold 1..%d items", MaxDocumentsPerRequest))
	}
	seen := make(map[string]int, len(docs))
	for i, d := range docs {
		p := fmt.Sprintf("documents[%d]", i)
		if d.ID != "" {
			if !ValidDocumentID(d.ID) {
				return fieldErr(p+".id", p+".id must match ^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$ (got "+echo(d.ID)+")")
			}
			if j, dup := seen[d.ID]; dup {
				return fieldErr(p+".id", fmt.Sprintf("%s.id repeats documents[%d].id; ids must be distinct", p, j))
			}
			seen[d.ID] = i
		}
		if fe := checkText(p+".title", d.Title); fe != nil {
			return fe
		}
		if n := utf8.RuneCountInString(d.Title); n < 1 || n > MaxTitleChars {
			return fieldErr(p+".title", fmt.Sprintf("%s.title must be 1..%d characters", p, MaxTitleChars))
		}
		if d.URL != nil {
			// Metadata only, never fetched: the private-address rule does not apply.
			if err := netguard.ValidateURL(*d.URL, true); err != nil {
				return fieldErr(p+".url", p+".url "+err.Error())
			}
		}
		if fe := checkText(p+".content", d.Content); fe != nil {
			return fe
		}
		if n := len(d.Content); n < 1 || n > MaxContentBytes {
			return fieldErr(p+".content", fmt.Sprintf("%s.content must be 1..%d bytes", p, MaxContentBytes))
		}
		if d.ACL != nil {
			if fe := checkACL(p+".acl", d.ACL); fe != nil {
				return fe
			}
		}
	}
	return nil
}

// checkACL validates the lists of an ACL (§5.2) at path.
func checkACL(path string, a *ACL) *FieldError {
	if len(a.Users) > MaxACLEntries {
		return fieldErr(path+".users", fmt.Sprintf("%s.users must hold at most %d entries", path, MaxACLEntries))
	}
	for i, u := range a.Users {
		f := fmt.Sprintf("%s.users[%d]", path, i)
		if fe := checkText(f, u); fe != nil {
			return fe
		}
		rest := u
		if p, r, ok := strings.Cut(u, ":"); ok && (p == "jwt" || p == "ctx") {
			rest = r
		}
		if n := utf8.RuneCountInString(rest); n < 1 || n > MaxACLEntryChars {
			return fieldErr(f, fmt.Sprintf("%s must be jwt:<sub>, ctx:<userId> or a bare user id, the id 1..%d characters", f, MaxACLEntryChars))
		}
	}
	if len(a.Groups) > MaxACLEntries {
		return fieldErr(path+".groups", fmt.Sprintf("%s.groups must hold at most %d entries", path, MaxACLEntries))
	}
	for i, g := range a.Groups {
		f := fmt.Sprintf("%s.groups[%d]", path, i)
		if fe := checkText(f, g); fe != nil {
			return fe
		}
		if n := utf8.RuneCountInString(g); n < 1 || n > MaxACLEntryChars {
			return fieldErr(f, fmt.Sprintf("%s must be 1..%d characters", f, MaxACLEntryChars))
		}
	}
	return nil
}

// normalizeACL returns the stored form of a valid ACL: user entries prefixed (a bare
// entry means ctx:), duplicates dropped, lists never nil.
func normalizeACL(a *ACL) *ACL {
	if a == nil {
		return nil
	}
	out := &ACL{Public: a.Public, Users: []string{}, Groups: []string{}}
	seen := map[string]bool{}
	for _, u := range a.Users {
		if !strings.HasPrefix(u, "jwt:") && !strings.HasPrefix(u, "ctx:") {
			u = "ctx:" + u
		}
		if !seen[u] {
			seen[u] = true
			out.Users = append(out.Users, u)
		}
	}
	seenG := map[string]bool{}
	for _, g := range a.Groups {
		if !seenG[g] {
			seenG[g] = true
			out.Groups = append(out.Groups, g)
		}
	}
	return out
}

// echo renders a tenant value for a message: quoted and cut to 64 characters (§5.1).
func echo(s string) string {
	if utf8.RuneCountInString(s) > 64 {
		s = string([]rune(s)[:64]) + "…"
	}
	return "'" + strings.ToValidUTF8(s, "\uFFFD") + "'"
}
