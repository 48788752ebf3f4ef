package tools

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

const (
	// MaxParametersBytes bounds a tool's parameters schema, measured on its compact
	// serialisation (whitespace outside strings does not count).
	MaxParametersBytes = 16 << 10
	// MaxParametersDepth bounds how deeply objects and arrays nest in a parameters schema;
	// the top-level object is depth 1.
	MaxParametersDepth = 32
	// DefaultParameters is the schema of a tool written without parameters (ADMIN-API §9.5).
	DefaultParameters = `{"type":"object","properties":{}}`

	// maxReasonChars bounds the reason of an invalid-arguments result.
	maxReasonChars = 200
	// maxEcho bounds how much of a value a message repeats (ADMIN-API §5.1).
	maxEcho = 64

	draft2020URL = "https://json-schema.org/draft/2020-12/schema"
	// schemaLocation is the base URI parameters are compiled under. It is never fetched: the
	// compiler's loader refuses every URL that is not the document itself or an embedded
	// metaschema. An https base makes a relative $ref resolve to a URL that reaches (and is
	// refused by) the loader instead of silently resolving to the document itself.
	schemaLocation = "https://switchboard.invalid/tool-parameters.json"
)

var printer = message.NewPrinter(language.English)

// Schema is a compiled tool parameters schema. It is safe for concurrent use.
type Schema struct {
	compiled *jsonschema.Schema
}

// SchemaError is the error CompileSchema returns; its message is a sentence for a
// VALIDATION_ERROR on the field "parameters" and repeats at most 64 characters of any value.
type SchemaError struct {
	msg string
}

func (e *SchemaError) Error() string { return e.msg }

func schemaErrorf(format string, args ...any) error {
	return &SchemaError{msg: fmt.Sprintf(format, args...)}
}

var errRemoteLoad = errors.New("remote schema loading is disabled")

// refuseLoader is the compiler's only URL loader: Switchboard never fetches a schema.
type refuseLoader struct{}

func (refuseLoader) Load(string) (any, error) { return nil, errRemoteLoad }

// CompileSchema checks and compiles a tool's parameters (ADMIN-API §5.2, §9.5): a JSON object
// of at most 16 KiB compact serialisation, nested at most 32 deep, without duplicate keys or
// U+0000, whose top-level "type" is the string "object", that is a JSON Schema 2020-12 ($schema,
// when present, must name 2020-12) and compiles, and whose $ref and $dynamicRef values all
// start with "#" (a JSON pointer "#/…" or an anchor into the same document). The $ref rule is
// applied to every "$ref" string in the document, even inside const, enum or examples. Nothing
// is ever loaded from a URL. Format keywords are annotations, as 2020-12 specifies by default.
func CompileSchema(params json.RawMessage) (*Schema, error) {
	if !utf8.Valid(params) {
		return nil, schemaErrorf("parameters must be valid UTF-8")
	}
	trimmed := bytes.TrimSpace(params)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, schemaErrorf("parameters must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, schemaErrorf("parameters must be valid JSON")
	}
	if buf.Len() > MaxParametersBytes {
		return nil, schemaErrorf("parameters must be at most %d bytes when serialised (got %d)", MaxParametersBytes, buf.Len())
	}
	if err := scanJSON(buf.Bytes(), MaxParametersDepth); err != nil {
		var dup duplicateKeyError
		switch {
		case errors.Is(err, errTooDeep):
			return nil, schemaErrorf("parameters must not nest objects and arrays more than %d levels deep", MaxParametersDepth)
		case errors.As(err, &dup):
			return nil, schemaErrorf("parameters must not repeat a key in one object (%s)", quote(string(dup)))
		case errors.Is(err, errNUL):
			return nil, schemaErrorf("parameters must not contain U+0000")
		default:
			return nil, schemaErrorf("parameters must be a single valid JSON object")
		}
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(buf.Bytes()))
	if err != nil {
		return nil, schemaErrorf("parameters must be a single valid JSON object")
	}
	obj := doc.(map[string]any)

	if v, ok := obj["$schema"]; ok {
		s, _ := v.(string)
		if strings.TrimSuffix(s, "#") != draft2020URL {
			return nil, schemaErrorf("parameters must be a JSON Schema 2020-12: $schema, when given, must be %q", draft2020URL)
		}
	}
	if t, _ := obj["type"].(string); t != "object" {
		return nil, schemaErrorf(`parameters must have "type": "object" at the top level`)
	}
	if ref, ok := findNonLocalRef(doc); ok {
		return nil, schemaErrorf("parameters may only use local $ref values starting with '#' (got %s)", quote(ref))
	}

	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(schemaLocation, doc); err != nil {
		return nil, schemaErrorf("parameters is not a valid JSON Schema")
	}
	compiled, err := c.Compile(schemaLocation)
	if err != nil {
		return nil, compileError(err)
	}
	// A schema that refers to itself without descending into the instance ({"$ref":"#"}
	// inside allOf, say) compiles but fails on every value; catch the common case now.
	if err := compiled.Validate(map[string]any{}); err != nil {
		var verr *jsonschema.ValidationError
		if errors.As(err, &verr) && hasRefCycle(verr) {
			return nil, schemaErrorf("parameters is not a valid JSON Schema: it refers to itself in a loop")
		}
	}
	return &Schema{compiled: compiled}, nil
}

func compileError(err error) error {
	var (
		sve    *jsonschema.SchemaValidationError
		load   *jsonschema.LoadURLError
		regex  *jsonschema.InvalidRegexError
		ptr    *jsonschema.JSONPointerNotFoundError
		anchor *jsonschema.AnchorNotFoundError
		dupID  *jsonschema.DuplicateIDError
		dupAnc *jsonschema.DuplicateAnchorError
		verr   *jsonschema.ValidationError
	)
	switch {
	case errors.As(err, &sve) && errors.As(sve.Err, &verr):
		return schemaErrorf("parameters is not a valid JSON Schema: %s", describe(verr))
	case errors.As(err, &load):
		return schemaErrorf("parameters may only use local $ref values starting with '#'")
	case errors.As(err, &regex):
		return schemaErrorf("parameters contains a regular expression that does not compile (%s)", quote(regex.Regex))
	case errors.As(err, &ptr), errors.As(err, &anchor):
		return schemaErrorf("parameters has a $ref that points to nothing in the schema")
	case errors.As(err, &dupID):
		return schemaErrorf("parameters declares the same $id twice")
	case errors.As(err, &dupAnc):
		return schemaErrorf("parameters declares the same anchor twice")
	default:
		return schemaErrorf("parameters is not a valid JSON Schema")
	}
}

// findNonLocalRef walks the whole document for "$ref" or "$dynamicRef" strings that do not
// start with "#", in a deterministic order.
func findNonLocalRef(v any) (string, bool) {
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if k == "$ref" || k == "$dynamicRef" {
				if s, ok := v[k].(string); ok && !strings.HasPrefix(s, "#") {
					return s, true
				}
			}
			if ref, ok := findNonLocalRef(v[k]); ok {
				return ref, true
			}
		}
	case []any:
		for _, item := range v {
			if ref, ok := findNonLocalRef(item); ok {
				return ref, true
			}
		}
	}
	return "", false
}

func hasRefCycle(e *jsonschema.ValidationError) bool {
	if _, ok := e.ErrorKind.(*kind.RefCycle); ok {
		return true
	}
	for _, c := range e.Causes {
		if hasRefCycle(c) {
			return true
		}
	}
	return false
}

// ParseArguments turns the model's argument text into the JSON object a tool is called with
// (PROTOCOL §7.4), returned in compact form with the model's key order and number literals.
// When the text is not a single JSON object, or is one that repeats a key in an object (which
// would let the validated value differ from what the tool reads) or contains U+0000 (which
// Postgres cannot store, ADMIN-API §5.1), it returns `{}` and false: the call gets arguments
// {} and the result InvalidArguments("").
//
// Empty or whitespace-only text is taken as `{}` and accepted: models send it for tools
// without parameters. The object is still validated, so a tool with required properties
// answers "missing property …".
func ParseArguments(raw string) (json.RawMessage, bool) {
	trimmed := strings.TrimSpace(raw)
	if trimmed == "" {
		return json.RawMessage("{}"), true
	}
	if !utf8.ValidString(trimmed) || trimmed[0] != '{' {
		return json.RawMessage("{}"), false
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, []byte(trimmed)); err != nil {
		return json.RawMessage("{}"), false
	}
	if err := scanJSON(buf.Bytes(), 0); err != nil {
		return json.RawMessage("{}"), false
	}
	return json.RawMessage(buf.Bytes()), true
}

// Validate checks arguments (a JSON object, normally from ParseArguments) against the schema.
// The error's message is the reason for InvalidArguments: one short line, the same for the
// same input, naming the first failing location in sorted order, e.g.
// "missing property 'number'" or "at '/amount': expected integer, got string". It never
// contains schema URLs.
func (s *Schema) Validate(args json.RawMessage) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(args))
	if err != nil {
		return errors.New("arguments are not valid JSON")
	}
	if _, ok := v.(map[string]any); !ok {
		return errors.New("arguments are not a JSON object")
	}
	if err := s.compiled.Validate(v); err != nil {
		var verr *jsonschema.ValidationError
		if errors.As(err, &verr) {
			return errors.New(describe(verr))
		}
		return errors.New("arguments do not match the tool's parameters")
	}
	return nil
}

// describe reduces a validation error tree to one deterministic line.
func describe(verr *jsonschema.ValidationError) string {
	type leaf struct{ ptr, msg string }
	var leaves []leaf
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		switch e.ErrorKind.(type) {
		case *kind.Schema, *kind.Group, *kind.Reference, *kind.AllOf:
			// Pass-through nodes: the failure is in their causes. anyOf, oneOf and not are
			// reported themselves, since one branch's failure says little on its own.
			if len(e.Causes) > 0 {
				for _, c := range e.Causes {
					walk(c)
				}
				return
			}
		}
		leaves = append(leaves, leaf{ptr: pointer(e.InstanceLocation), msg: kindMessage(e.ErrorKind)})
	}
	walk(verr)
	if len(leaves) == 0 {
		return "arguments do not match the tool's parameters"
	}
	slices.SortFunc(leaves, func(a, b leaf) int {
		if c := strings.Compare(a.ptr, b.ptr); c != 0 {
			return c
		}
		return strings.Compare(a.msg, b.msg)
	})
	l := leaves[0]
	s := l.msg
	if l.ptr != "" {
		s = "at " + quote(l.ptr) + ": " + s
	}
	s = strings.Join(strings.Fields(s), " ") // one line, whatever a library message holds
	if utf8.RuneCountInString(s) > maxReasonChars {
		s = string([]rune(s)[:maxReasonChars-1]) + "…"
	}
	return s
}

func kindMessage(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case nil:
		return "value does not match the schema"
	case *kind.Required:
		return plural("missing property ", "missing properties ", k.Missing)
	case *kind.Type:
		return fmt.Sprintf("expected %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.AdditionalProperties:
		props := slices.Clone(k.Properties)
		slices.Sort(props)
		return plural("unexpected property ", "unexpected properties ", props)
	case *kind.FalseSchema:
		return "value is not allowed"
	case *kind.AnyOf:
		return "value does not match any of the allowed schemas (anyOf)"
	case *kind.OneOf:
		if len(k.Subschemas) == 0 {
			return "value does not match any of the allowed schemas (oneOf)"
		}
		return "value matches more than one of the allowed schemas (oneOf)"
	case *kind.Not:
		return "value matches a schema it must not match (not)"
	case *kind.Pattern:
		return "does not match pattern " + quote(k.Want)
	case *kind.MinLength:
		return fmt.Sprintf("must be at least %d characters, got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters, got %d", k.Want, k.Got)
	case *kind.MinItems:
		return fmt.Sprintf("must have at least %d items, got %d", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items, got %d", k.Want, k.Got)
	case *kind.MinProperties:
		return fmt.Sprintf("must have at least %d properties, got %d", k.Want, k.Got)
	case *kind.MaxProperties:
		return fmt.Sprintf("must have at most %d properties, got %d", k.Want, k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("must be at least %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.Maximum:
		return fmt.Sprintf("must be at most %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMinimum:
		return fmt.Sprintf("must be greater than %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.ExclusiveMaximum:
		return fmt.Sprintf("must be less than %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.MultipleOf:
		return fmt.Sprintf("must be a multiple of %s, got %s", ratString(k.Want), ratString(k.Got))
	case *kind.PropertyNames:
		return "invalid property name " + quote(k.Property)
	case *kind.DependentRequired:
		return plural("missing property ", "missing properties ", k.Missing) + " (required when " + quote(k.Prop) + " is present)"
	case *kind.RefCycle:
		return "the tool's parameters schema refers to itself in a loop"
	case *kind.Format:
		return "is not a valid " + k.Want
	default:
		return k.LocalizedString(printer)
	}
}

func plural(one, many string, names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quote(n)
	}
	if len(q) == 1 {
		return one + q[0]
	}
	return many + strings.Join(q, ", ")
}

func ratString(r *big.Rat) string {
	if r == nil {
		return "?"
	}
	if r.IsInt() {
		return r.Num().String()
	}
	f, _ := r.Float64()
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// pointer renders an instance location as a JSON pointer ("/items/0/name").
func pointer(tokens []string) string {
	var sb strings.Builder
	for _, t := range tokens {
		sb.WriteByte('/')
		t = strings.ReplaceAll(t, "~", "~0")
		sb.WriteString(strings.ReplaceAll(t, "/", "~1"))
	}
	return sb.String()
}

// quote renders a value for a message: single-quoted, escaped onto one line, cut to 64
// characters with "…".
func quote(s string) string {
	if utf8.RuneCountInString(s) > maxEcho {
		s = string([]rune(s)[:maxEcho]) + "…"
	}
	q := strconv.Quote(s)
	q = strings.ReplaceAll(q[1:len(q)-1], `\"`, `"`)
	return "'" + strings.ReplaceAll(q, "'", `\'`) + "'"
}

var (
	errTooDeep = errors.New("nested too deeply")
	errNUL     = errors.New("contains U+0000")
	errSyntax  = errors.New("not a single JSON value")
)

type duplicateKeyError string

func (e duplicateKeyError) Error() string { return "duplicate key " + strconv.Quote(string(e)) }

// scanJSON checks that data is exactly one JSON value with no object repeating a key, no
// string (key or value) containing U+0000, and, when maxDepth > 0, no more than maxDepth
// nested objects and arrays.
func scanJSON(data []byte, maxDepth int) error {
	type frame struct {
		object  bool
		wantKey bool
		keys    map[string]struct{}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []*frame
	// valueDone records that a value finished inside the current container.
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	started := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			if started && len(stack) == 0 {
				return nil
			}
			return errSyntax
		}
		if err != nil {
			return errSyntax
		}
		if started && len(stack) == 0 {
			return errSyntax // a second top-level value
		}
		started = true
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				stack = append(stack, &frame{object: t == '{', wantKey: t == '{', keys: map[string]struct{}{}})
				if maxDepth > 0 && len(stack) > maxDepth {
					return errTooDeep
				}
			case '}', ']':
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if strings.ContainsRune(t, 0) {
				return errNUL
			}
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].wantKey {
				top := stack[n-1]
				if _, dup := top.keys[t]; dup {
					return duplicateKeyError(t)
				}
				top.keys[t] = struct{}{}
				top.wantKey = false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
	}
}
