package interaction

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/contact"
)

// FieldError is one failed rule of §7.11.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Identity is the canonical values of a submitted identity intake, in the order name, email,
// phone; an empty field was not provided.
type Identity struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
	Phone string `json:"phone,omitempty"`
}

// Answer of a choices card, canonical.
type ChoiceAnswer struct {
	Header  string   `json:"header"`
	Options []string `json:"options"`
	Other   string   `json:"other,omitempty"`
}

// ChoicesValues is the canonical values of a submitted choices card.
type ChoicesValues struct {
	Answers []ChoiceAnswer `json:"answers"`
}

// Validated is the outcome of validating values: the canonical values, or the errors.
type Validated struct {
	Canonical json.RawMessage // nil when Errors is not empty
	Errors    []FieldError
	Identity  *Identity // the canonical identity values, for the host effect (§7.12)
}

// Validate applies §7.11 to values (a JSON object) for kind k against spec, the stored
// canonical spec; a nil spec runs the rules without one.
func Validate(k Kind, spec json.RawMessage, values json.RawMessage) Validated {
	var obj map[string]json.RawMessage
	if len(values) == 0 || json.Unmarshal(values, &obj) != nil || obj == nil {
		obj = map[string]json.RawMessage{}
	}
	if k == Choices {
		var s *ChoicesSpec
		if len(spec) > 0 {
			s = &ChoicesSpec{}
			if json.Unmarshal(spec, s) != nil {
				s = nil
			}
		}
		return validateChoices(s, obj)
	}
	var s *IdentitySpec
	if len(spec) > 0 {
		s = &IdentitySpec{}
		if json.Unmarshal(spec, s) != nil {
			s = nil
		}
	}
	return validateIdentity(s, obj)
}

var identityKeys = []string{"name", "email", "phone"}

const (
	maxNameChars  = 200
	maxPhoneChars = 32
	maxOtherChars = 500
	maxLabelEcho  = 64
)

const (
	msgEmail = "must be a valid email address"
	msgPhone = "must be a valid phone number (include your country code, e.g. +1 555 123 4567)"
)

func validateIdentity(spec *IdentitySpec, obj map[string]json.RawMessage) Validated {
	var errs []FieldError
	given := map[string]string{}
	for _, k := range identityKeys {
		raw, ok := obj[k]
		if !ok {
			continue
		}
		s, ok := str(raw)
		if !ok {
			errs = append(errs, FieldError{Field: k, Message: "must be a string"})
			continue
		}
		if t := strings.TrimSpace(s); t != "" {
			given[k] = t
		}
	}
	if len(errs) > 0 {
		return Validated{Errors: errs}
	}
	if len(given) == 0 {
		return Validated{Errors: []FieldError{{Field: "values", Message: "provide at least one of name/email/phone, or declined=true"}}}
	}
	if spec != nil {
		for _, f := range spec.Fields {
			if _, ok := given[f.Key]; f.Required && !ok {
				errs = append(errs, FieldError{Field: f.Key, Message: "this field is required"})
			}
		}
	}
	var id Identity
	if v, ok := given["name"]; ok {
		switch {
		case utf8.RuneCountInString(v) > maxNameChars:
			errs = append(errs, FieldError{Field: "name", Message: "must be at most 200 characters"})
		case strings.ContainsFunc(v, func(r rune) bool { return r <= 0x1f || r == 0x7f }):
			errs = append(errs, FieldError{Field: "name", Message: "must not contain control characters"})
		default:
			id.Name = v
		}
	}
	if v, ok := given["email"]; ok {
		if e, ok := contact.Email(v); ok {
			id.Email = e
		} else {
			errs = append(errs, FieldError{Field: "email", Message: msgEmail})
		}
	}
	if v, ok := given["phone"]; ok {
		if p, ok := Phone(v); ok {
			id.Phone = p
		} else {
			errs = append(errs, FieldError{Field: "phone", Message: msgPhone})
		}
	}
	if len(errs) > 0 {
		return Validated{Errors: errs}
	}
	return Validated{Canonical: Marshal(id), Identity: &id}
}

// CanonicalValues re-encodes stored canonical values of kind k (jsonb reorders keys and adds
// spaces) in the canonical key order, compact.
func CanonicalValues(k Kind, stored json.RawMessage) json.RawMessage {
	if k == Choices {
		var v ChoicesValues
		if json.Unmarshal(stored, &v) != nil {
			return stored
		}
		if v.Answers == nil {
			v.Answers = []ChoiceAnswer{}
		}
		for i := range v.Answers {
			if v.Answers[i].Options == nil {
				v.Answers[i].Options = []string{}
			}
		}
		return Marshal(v)
	}
	var v Identity
	if json.Unmarshal(stored, &v) != nil {
		return stored
	}
	return Marshal(v)
}

// Phone applies the phone rule of §7.11 to a trimmed value: at most 32 characters as typed;
// after removing spaces, '-', '.', '(' and ')', '+' and 8 to 15 digits not starting with 0,
// or 10 digits (+1 is added), or 11 digits starting with 1. It returns the E.164 form.
func Phone(s string) (string, bool) {
	if utf8.RuneCountInString(s) > maxPhoneChars {
		return "", false
	}
	d := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
	digits, plus := strings.CutPrefix(d, "+")
	if !allDigits(digits) {
		return "", false
	}
	switch {
	case plus:
		if len(digits) < 8 || len(digits) > 15 || digits[0] == '0' {
			return "", false
		}
		return "+" + digits, true
	case len(digits) == 10:
		return "+1" + digits, true
	case len(digits) == 11 && digits[0] == '1':
		return "+" + digits, true
	}
	return "", false
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// answer is one submitted answer after step 3 of the choices rules.
type answer struct {
	header  string
	options []string
	other   string
}

func validateChoices(spec *ChoicesSpec, obj map[string]json.RawMessage) Validated {
	var list []json.RawMessage
	if raw, ok := obj["answers"]; !ok || json.Unmarshal(raw, &list) != nil || list == nil {
		return Validated{Errors: []FieldError{{Field: "values", Message: "'answers' must be an array"}}}
	}
	// Step 2: shapes.
	var errs []FieldError
	type rawAnswer struct {
		header  string
		options []string
		other   *string
	}
	raws := make([]rawAnswer, 0, len(list))
	for _, item := range list {
		var fields map[string]json.RawMessage
		if json.Unmarshal(item, &fields) != nil || fields == nil {
			errs = append(errs, FieldError{Field: "values", Message: "each answer needs a string 'header'"})
			continue
		}
		header, ok := str(fields["header"])
		if !ok {
			errs = append(errs, FieldError{Field: "values", Message: "each answer needs a string 'header'"})
			continue
		}
		a := rawAnswer{header: header}
		if raw, ok := fields["options"]; ok {
			if a.options, ok = strList(raw); !ok {
				errs = append(errs, FieldError{Field: header, Message: "'options' must be an array of strings"})
			}
		}
		if raw, ok := fields["other"]; ok {
			o, ok := str(raw)
			if !ok {
				errs = append(errs, FieldError{Field: header, Message: "'other' must be a string"})
			} else {
				a.other = &o
			}
		}
		raws = append(raws, a)
	}
	if len(errs) > 0 {
		return Validated{Errors: errs}
	}
	// Step 3: normalize.
	answers := make([]answer, 0, len(raws))
	for _, r := range raws {
		a := answer{header: strings.TrimSpace(r.header), options: []string{}}
		for _, l := range r.options {
			if l = strings.TrimSpace(l); l != "" && !slices.Contains(a.options, l) {
				a.options = append(a.options, l)
			}
		}
		if r.other != nil {
			a.other = strings.TrimSpace(*r.other)
			if utf8.RuneCountInString(a.other) > maxOtherChars {
				errs = append(errs, FieldError{Field: a.header, Message: "'other' must be at most 500 characters"})
			}
		}
		answers = append(answers, a)
	}
	// Step 4: against the questions.
	var out ChoicesValues
	if spec == nil {
		if len(answers) == 0 {
			errs = append(errs, FieldError{Field: "answers", Message: "provide an answer for each question, or declined=true"})
		}
		seen := map[string]bool{}
		for _, a := range answers {
			if seen[a.header] {
				continue
			}
			seen[a.header] = true
			if len(a.options) == 0 && a.other == "" {
				errs = append(errs, FieldError{Field: a.header, Message: "select an option or provide an 'other' answer"})
			}
			out.Answers = append(out.Answers, ChoiceAnswer{Header: a.header, Options: a.options, Other: a.other})
		}
	} else {
		for _, q := range spec.Questions {
			i := slices.IndexFunc(answers, func(a answer) bool { return a.header == q.Header })
			if i < 0 {
				errs = append(errs, FieldError{Field: q.Header, Message: "this question must be answered"})
				continue
			}
			a := answers[i]
			for _, l := range a.options {
				if !slices.ContainsFunc(q.Options, func(o Option) bool { return o.Label == l }) {
					errs = append(errs, FieldError{Field: q.Header, Message: "'" + cutRunes(l, maxLabelEcho) + "' is not one of the offered options"})
				}
			}
			picks := len(a.options)
			if a.other != "" {
				picks++
			}
			switch {
			case picks == 0:
				errs = append(errs, FieldError{Field: q.Header, Message: "select an option or provide an 'other' answer"})
			case picks > 1 && !q.MultiSelect:
				errs = append(errs, FieldError{Field: q.Header, Message: "this question takes a single answer"})
			}
			out.Answers = append(out.Answers, ChoiceAnswer{Header: q.Header, Options: a.options, Other: a.other})
		}
	}
	if len(errs) > 0 {
		return Validated{Errors: errs}
	}
	if out.Answers == nil {
		out.Answers = []ChoiceAnswer{}
	}
	return Validated{Canonical: Marshal(out)}
}

// str decodes a JSON string; null and every other value are not one.
func str(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// strList decodes a JSON array of strings.
func strList(raw json.RawMessage) ([]string, bool) {
	var items []json.RawMessage
	if len(raw) == 0 || raw[0] != '[' || json.Unmarshal(raw, &items) != nil {
		return nil, false
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		s, ok := str(it)
		if !ok {
			return nil, false
		}
		out = append(out, s)
	}
	return out, true
}

func cutRunes(s string, n int) string {
	i := 0
	for at := range s {
		if i == n {
			return s[:at]
		}
		i++
	}
	return s
}
