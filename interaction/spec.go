package interaction

import (
	"bytes"
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// Parameter schemas of the raise tools (PROTOCOL-1.1 §7.8), sent to the gateway and used to
// validate a raise's arguments.
const (
	IdentitySchema = `{"type":"object","required":["fields","reason"],"properties":{` +
		`"fields":{"type":"array","minItems":1,"maxItems":3,` +
		`"description":"Which details to collect, in order: \"name\", \"email\", \"phone\", or objects {key, required?, label?}.",` +
		`"items":{"anyOf":[` +
		`{"type":"string","enum":["name","email","phone"]},` +
		`{"type":"object","required":["key"],"properties":{` +
		`"key":{"type":"string","enum":["name","email","phone"]},` +
		`"required":{"type":"boolean"},` +
		`"label":{"type":"string","maxLength":64}}}]}},` +
		`"reason":{"type":"string","description":"Why you need these details, phrased for the visitor."}}}`

	ChoicesSchema = `{"type":"object","required":["questions","reason"],"properties":{` +
		`"questions":{"type":"array","minItems":1,"maxItems":4,"items":{` +
		`"type":"object","required":["question","header","options"],"properties":{` +
		`"question":{"type":"string","minLength":1,"maxLength":300},` +
		`"header":{"type":"string","minLength":1,"maxLength":12,` +
		`"description":"Short label, unique within the call; the answer key."},` +
		`"options":{"type":"array","minItems":2,"maxItems":4,"items":{"anyOf":[` +
		`{"type":"string","minLength":1,"maxLength":100},` +
		`{"type":"object","required":["label"],"properties":{` +
		`"label":{"type":"string","minLength":1,"maxLength":100},` +
		`"description":{"type":"string","maxLength":200}}}]}},` +
		`"multiSelect":{"type":"boolean"}}}},` +
		`"reason":{"type":"string","description":"Why you ask, phrased for the visitor."}}}`
)

// Descriptions of the raise tools and the submit tool: model-facing, not protocol.
const (
	IdentityDescription = "Ask the visitor for their name, email address and/or phone number with a form. " +
		"Use this instead of asking for contact details in free text."
	ChoicesDescription = "Offer the visitor up to four questions, each with two to four options to pick from. " +
		"Use this instead of listing options in free text."
	SubmitDescription = "Submit the details or answers the visitor gave in conversation after a request_identity_intake " +
		"or request_choices call that returned mode 'conversational', or declined: true if the visitor refused."
)

// SubmitSchema is the submit_interaction tool's parameters for the kinds on the
// conversational path, identity_intake first (§7.10).
func SubmitSchema(kinds []Kind) string {
	names := make([]string, 0, len(kinds))
	for _, k := range Kinds {
		for _, c := range kinds {
			if c == k {
				names = append(names, string(k))
			}
		}
	}
	enum, _ := json.Marshal(names)
	return `{"type":"object","required":["kind"],"properties":{"kind":{"type":"string","enum":` + string(enum) +
		`},"values":{"type":"object"},"declined":{"type":"boolean"}}}`
}

// Field is one field of an identity intake's canonical spec.
type Field struct {
	Key      string `json:"key"`
	Required bool   `json:"required"`
	Label    string `json:"label,omitempty"`
}

// IdentitySpec is the canonical spec of an identity intake.
type IdentitySpec struct {
	Fields []Field `json:"fields"`
}

// Option is one option of a question.
type Option struct {
	Label       string `json:"label"`
	Description string `json:"description"`
}

// Question is one question of a choices card.
type Question struct {
	Question    string   `json:"question"`
	Header      string   `json:"header"`
	Options     []Option `json:"options"`
	MultiSelect bool     `json:"multiSelect"`
}

// ChoicesSpec is the canonical spec of a choices card.
type ChoicesSpec struct {
	Questions []Question `json:"questions"`
}

// Raise is a valid raise: its kind, canonical spec and reason.
type Raise struct {
	Kind   Kind
	Spec   json.RawMessage
	Reason string
}

// ArgumentError is a raise's arguments failing a rule of §7.8 after its schema: the reason
// of `Error: invalid tool arguments: <reason>`.
type ArgumentError struct{ Reason string }

func (e *ArgumentError) Error() string { return e.Reason }

// ParseRaise builds the canonical spec and reason from arguments that passed the kind's
// schema, applying the rules of §7.8 that follow it.
func ParseRaise(k Kind, args json.RawMessage) (Raise, error) {
	var spec any
	var reason string
	var err error
	if k == Choices {
		spec, reason, err = parseChoices(args)
	} else {
		spec, reason, err = parseIdentity(args)
	}
	if err != nil {
		return Raise{}, err
	}
	return Raise{Kind: k, Spec: Marshal(spec), Reason: canonicalReason(reason)}, nil
}

func parseIdentity(args json.RawMessage) (IdentitySpec, string, error) {
	var in struct {
		Fields []json.RawMessage `json:"fields"`
		Reason string            `json:"reason"`
	}
	if err := json.Unmarshal(args, &in); err != nil {
		return IdentitySpec{}, "", &ArgumentError{Reason: "arguments do not match the tool's schema"}
	}
	spec := IdentitySpec{Fields: make([]Field, 0, len(in.Fields))}
	seen := map[string]bool{}
	for _, raw := range in.Fields {
		f := Field{Required: true}
		var key string
		if json.Unmarshal(raw, &key) == nil {
			f.Key = key
		} else {
			var o struct {
				Key      string `json:"key"`
				Required *bool  `json:"required"`
				Label    string `json:"label"`
			}
			_ = json.Unmarshal(raw, &o)
			f.Key, f.Label = o.Key, strings.TrimSpace(o.Label)
			if o.Required != nil {
				f.Required = *o.Required
			}
		}
		if seen[f.Key] {
			return IdentitySpec{}, "", &ArgumentError{Reason: "duplicate field '" + f.Key + "'"}
		}
		seen[f.Key] = true
		spec.Fields = append(spec.Fields, f)
	}
	return spec, in.Reason, nil
}

func parseChoices(args json.RawMessage) (ChoicesSpec, string, error) {
	var in struct {
		Questions []struct {
			Question    string            `json:"question"`
			Header      string            `json:"header"`
			Options     []json.RawMessage `json:"options"`
			MultiSelect bool              `json:"multiSelect"`
		} `json:"questions"`
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(args, &in); err != nil {
		return ChoicesSpec{}, "", &ArgumentError{Reason: "arguments do not match the tool's schema"}
	}
	spec := ChoicesSpec{Questions: make([]Question, 0, len(in.Questions))}
	for _, q := range in.Questions {
		cq := Question{
			Question: strings.TrimSpace(q.Question), Header: strings.TrimSpace(q.Header),
			Options: make([]Option, 0, len(q.Options)), MultiSelect: q.MultiSelect,
		}
		for _, raw := range q.Options {
			var o Option
			var label string
			if json.Unmarshal(raw, &label) == nil {
				o.Label = label
			} else {
				_ = json.Unmarshal(raw, &o)
			}
			o.Label, o.Description = strings.TrimSpace(o.Label), strings.TrimSpace(o.Description)
			cq.Options = append(cq.Options, o)
		}
		spec.Questions = append(spec.Questions, cq)
	}
	// The first failing rule, in the order of §7.8's table, over every question.
	qs := spec.Questions
	for _, q := range qs {
		if q.Question == "" {
			return ChoicesSpec{}, "", &ArgumentError{Reason: "each question needs a non-empty 'question'"}
		}
	}
	for _, q := range qs {
		if q.Header == "" {
			return ChoicesSpec{}, "", &ArgumentError{Reason: "each question needs a non-empty 'header'"}
		}
	}
	headers := map[string]bool{}
	for _, q := range qs {
		if headers[q.Header] {
			return ChoicesSpec{}, "", &ArgumentError{Reason: "duplicate question header '" + q.Header + "'"}
		}
		headers[q.Header] = true
	}
	for _, q := range qs {
		for _, o := range q.Options {
			if o.Label == "" {
				return ChoicesSpec{}, "", &ArgumentError{Reason: "an option in '" + q.Header + "' has an empty label"}
			}
		}
	}
	for _, q := range qs {
		labels := map[string]bool{}
		for _, o := range q.Options {
			if labels[o.Label] {
				return ChoicesSpec{}, "", &ArgumentError{Reason: "duplicate option '" + o.Label + "' in '" + q.Header + "'"}
			}
			labels[o.Label] = true
		}
	}
	return spec, in.Reason, nil
}

const (
	maxReasonChars = 200
	defaultReason  = "to help you better"
)

// canonicalReason trims a reason; blank becomes "to help you better"; longer than 200
// characters is cut to 200 with "…" appended.
func canonicalReason(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return defaultReason
	}
	if utf8.RuneCountInString(s) <= maxReasonChars {
		return s
	}
	n := 0
	for i := range s {
		if n == maxReasonChars {
			return s[:i] + "…"
		}
		n++
	}
	return s
}

// Marshal encodes v as compact JSON without HTML escaping: results carry exactly the text a
// visitor typed.
func Marshal(v any) json.RawMessage {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("interaction: encode " + err.Error()) // only fixed shapes of strings, bools and raw JSON are encoded
	}
	return bytes.TrimRight(b.Bytes(), "\n")
}
