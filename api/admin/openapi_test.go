package admin_test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/switchboard-dev/switchboard/api"
	"github.com/switchboard-dev/switchboard/api/admin"
	"github.com/switchboard-dev/switchboard/api/ws"
	"github.com/switchboard-dev/switchboard/serve/servetest"
	"github.com/switchboard-dev/switchboard/version"
)

// openAPIDoc is the served document, decoded.
type openAPIDoc struct {
	OpenAPI    string                          `json:"openapi"`
	Info       map[string]any                  `json:"info"`
	Paths      map[string]map[string]openAPIOp `json:"paths"`
	Components struct {
		Schemas         map[string]any `json:"schemas"`
		SecuritySchemes map[string]any `json:"securitySchemes"`
	} `json:"components"`
}

// openAPIOp is one operation, with the keys these tests read.
type openAPIOp struct {
	OperationID string                     `json:"operationId"`
	MinRole     string                     `json:"x-min-role"`
	Security    json.RawMessage            `json:"security"`
	Parameters  []openAPIParam             `json:"parameters"`
	RequestBody *openAPIContent            `json:"requestBody"`
	Responses   map[string]openAPIResponse `json:"responses"`
}

type openAPIParam struct {
	Name     string `json:"name"`
	In       string `json:"in"`
	Required bool   `json:"required"`
	Schema   *struct {
		Type    any      `json:"type"`
		Minimum *float64 `json:"minimum"`
		Maximum *float64 `json:"maximum"`
		Default any      `json:"default"`
	} `json:"schema"`
}

type openAPIResponse struct {
	Description string `json:"description"`
	openAPIContent
}

// openAPIContent is a body by media type; each schema is kept as written.
type openAPIContent struct {
	Content map[string]struct {
		Schema map[string]any `json:"schema"`
	} `json:"content"`
}

// ref is the $ref of the JSON body's schema, "" when it has none.
func (c openAPIContent) ref() string {
	ref, _ := c.Content["application/json"].Schema["$ref"].(string)
	return ref
}

type docOp struct {
	method, path string
	op           openAPIOp
}

func (d openAPIDoc) ops() []docOp {
	var out []docOp
	for p, item := range d.Paths {
		for m, op := range item {
			out = append(out, docOp{strings.ToUpper(m), p, op})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

func fetchDoc(t *testing.T, s *server) (openAPIDoc, []byte) {
	t.Helper()
	r := s.do(t, "GET", "/openapi.json", "", nil).want(t, 200)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("content type %q", ct)
	}
	var d openAPIDoc
	if err := json.Unmarshal(r.body, &d); err != nil {
		t.Fatal(err)
	}
	return d, r.body
}

var fiberParam = regexp.MustCompile(`:([A-Za-z]+)`)

// routerRoutes builds the app exactly as serve wires it (api.New with the admin and /ws
// mounts) and returns its route table, without OPTIONS, /ws and middleware.
func routerRoutes(t *testing.T) []fiber.Route {
	t.Helper()
	cfg := servetest.Config(t, "postgres://unused/none", map[string]string{"AUTH_JWT_SECRET": jwtSecret})
	app := api.New(api.Deps{}, admin.Mount(admin.Deps{Config: cfg}), ws.New(ws.Deps{}).Mount).App()
	var out []fiber.Route
	for _, r := range app.GetRoutes(true) {
		if r.Method == fiber.MethodOptions || r.Path == "/ws" {
			continue
		}
		out = append(out, r)
	}
	return out
}

// routerOperations lists the router's routes in OpenAPI form.
func routerOperations(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	for _, r := range routerRoutes(t) {
		seen[r.Method+" "+fiberParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIOperationsEqualTheRouterRoutes(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	doc, _ := fetchDoc(t, s)
	var documented []string
	for _, o := range doc.ops() {
		documented = append(documented, o.method+" "+o.path)
	}
	sort.Strings(documented)
	routes := routerOperations(t)
	for _, r := range routes {
		if !slices.Contains(documented, r) {
			t.Errorf("route %s has no operation in /openapi.json", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(routes, d) {
			t.Errorf("operation %s has no route", d)
		}
	}
	// And on the real server: every documented operation is routed (no "route not found").
	for _, o := range doc.ops() {
		path := strings.NewReplacer("{id}", "00000000-0000-4000-8000-000000000000", "{toolId}", "00000000-0000-4000-8000-000000000001").Replace(o.path)
		r := s.do(t, o.method, path, "", nil)
		if o.method != "HEAD" && r.status == 404 && strings.Contains(string(r.body), "route not found") {
			t.Errorf("%s %s is documented but not routed by the server", o.method, o.path)
		}
	}
}

var placeholder = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// TestOpenAPIDocumentIsWellFormed checks the document structurally against the rules of
// OpenAPI 3.1 that matter here, and compiles every component schema with a JSON Schema
// 2020-12 compiler (which validates each against the 2020-12 metaschema). The official
// OpenAPI 3.1 meta-schema is not vendored into the repository.
func TestOpenAPIDocumentIsWellFormed(t *testing.T) {
	t.Parallel()
	s := start(t, nil)
	doc, raw := fetchDoc(t, s)
	if doc.OpenAPI != "3.1.0" || doc.Info["title"] == "" || doc.Info["version"] != version.Version {
		t.Fatalf("openapi %q info %v", doc.OpenAPI, doc.Info)
	}
	if b := doc.Components.SecuritySchemes["bearer"]; fmt.Sprint(b) != "map[description:a JWT or an org API key (sbk_…) scheme:bearer type:http]" {
		t.Fatalf("bearer scheme %v", b)
	}
	ids := map[string]bool{}
	for _, o := range doc.ops() {
		name := o.method + " " + o.path
		id := o.op.OperationID
		if id == "" || ids[id] {
			t.Errorf("%s: operationId %q missing or repeated", name, id)
		}
		ids[id] = true
		role, sec := o.op.MinRole, string(o.op.Security)
		switch role {
		case "public":
			if sec != "[]" {
				t.Errorf("%s: public operation declares security %s", name, sec)
			}
		case "basic", "curator", "admin":
			if sec != `[{"bearer":[]}]` {
				t.Errorf("%s: security %s", name, sec)
			}
		default:
			t.Errorf("%s: x-min-role %q", name, role)
		}
		// Path parameters: exactly the placeholders, each required.
		declared := map[string]bool{}
		for _, p := range o.op.Parameters {
			if p.Schema == nil || p.Name == "" {
				t.Errorf("%s: parameter without name or schema: %+v", name, p)
				continue
			}
			if p.In == "path" {
				declared[p.Name] = true
				if !p.Required {
					t.Errorf("%s: path parameter %s not required", name, p.Name)
				}
			}
			if p.Name == "limit" {
				one, most := 1.0, 200.0
				want := *p.Schema
				want.Type, want.Minimum, want.Maximum, want.Default = "integer", &one, &most, 50.0
				if diff := cmp.Diff(want, *p.Schema); diff != "" {
					t.Errorf("%s: limit schema (-want +got):\n%s", name, diff)
				}
			}
		}
		for _, m := range placeholder.FindAllStringSubmatch(o.path, -1) {
			if !declared[m[1]] {
				t.Errorf("%s: path parameter %s not declared", name, m[1])
			}
			delete(declared, m[1])
		}
		if len(declared) > 0 {
			t.Errorf("%s: declares path parameters not in the path: %v", name, declared)
		}
		responses := o.op.Responses
		if len(responses) == 0 {
			t.Errorf("%s: no responses", name)
		}
		for code, r := range responses {
			if r.Description == "" {
				t.Errorf("%s %s: response without description", name, code)
			}
			if code[0] == '4' || code == "500" {
				if diff := cmp.Diff(map[string]any{"$ref": "#/components/schemas/Error"}, r.Content["application/json"].Schema); diff != "" {
					t.Errorf("%s %s: error response schema (-want +got):\n%s", name, code, diff)
				}
			}
		}
		if role != "public" {
			for _, code := range []string{"401", "403", "429", "500"} {
				if _, ok := responses[code]; !ok {
					t.Errorf("%s: no %s response", name, code)
				}
			}
		}
		if rb := o.op.RequestBody; rb != nil {
			ref := rb.ref()
			if ref == "" {
				t.Errorf("%s: request body without a JSON schema $ref", name)
			}
			schemaName := strings.TrimPrefix(ref, "#/components/schemas/")
			checkClosed(t, name, schemaName, doc.Components.Schemas[schemaName], "")
		}
	}
	// Every $ref resolves.
	for _, m := range regexp.MustCompile(`"\$ref":"#/components/schemas/([A-Za-z]+)"`).FindAllStringSubmatch(string(raw), -1) {
		if doc.Components.Schemas[m[1]] == nil {
			t.Errorf("dangling $ref to %s", m[1])
		}
	}
	// Every component schema is a valid JSON Schema 2020-12.
	compiler := schemaCompiler(t, doc)
	for name := range doc.Components.Schemas {
		if _, err := compiler.Compile("mem://schemas.json#/$defs/" + name); err != nil {
			t.Errorf("schema %s: %v", name, err)
		}
	}
}

// checkClosed fails unless every object schema in a request body forbids additional
// properties, except tool parameters and the publish event (free-form, ADMIN-API §11).
func checkClosed(t *testing.T, op, name string, schema any, path string) {
	t.Helper()
	m, ok := schema.(map[string]any)
	if !ok {
		t.Errorf("%s: request schema %s%s missing", op, name, path)
		return
	}
	if path == ".parameters" || path == ".event" {
		return
	}
	types := fmt.Sprint(m["type"])
	if strings.Contains(types, "object") && m["additionalProperties"] != false {
		t.Errorf("%s: request schema %s%s allows additional properties", op, name, path)
	}
	props, _ := m["properties"].(map[string]any)
	for k, v := range props {
		checkClosed(t, op, name, v, path+"."+k)
	}
}

// schemaCompiler loads the document's component schemas as one JSON Schema resource,
// with #/components/schemas/ refs pointing at its $defs.
func schemaCompiler(t *testing.T, doc openAPIDoc) *jsonschema.Compiler {
	t.Helper()
	b, _ := json.Marshal(map[string]any{"$schema": "https://json-schema.org/draft/2020-12/schema", "$defs": doc.Components.Schemas})
	b = []byte(strings.ReplaceAll(string(b), "#/components/schemas/", "#/$defs/"))
	res, err := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("mem://schemas.json", res); err != nil {
		t.Fatal(err)
	}
	return c
}

// responseValidator validates bodies against the schema the document declares for an
// operation's status.
type responseValidator struct {
	doc      openAPIDoc
	compiler *jsonschema.Compiler
}

func (v responseValidator) check(t *testing.T, method, path string, r resp) {
	t.Helper()
	op, ok := v.doc.Paths[path][strings.ToLower(method)]
	if !ok {
		t.Fatalf("%s %s not documented", method, path)
	}
	res, ok := op.Responses[fmt.Sprint(r.status)]
	if !ok {
		t.Fatalf("%s %s: status %d not documented; body %s", method, path, r.status, r.body)
	}
	content := res.Content
	if content == nil {
		if len(r.body) != 0 {
			t.Fatalf("%s %s %d: body %s where none is documented", method, path, r.status, r.body)
		}
		return
	}
	if _, isJSON := content["application/json"]; !isJSON { // a text body (GET /metrics): its media type
		for mt := range content {
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, mt) || len(r.body) == 0 {
				t.Errorf("%s %s %d: Content-Type %q, %d bytes; documented %s", method, path, r.status, ct, len(r.body), mt)
			}
		}
		return
	}
	ref := res.ref()
	if ref == "" {
		t.Fatalf("%s %s %d: JSON body without a schema $ref", method, path, r.status)
	}
	sch, err := v.compiler.Compile("mem://schemas.json#/$defs/" + strings.TrimPrefix(ref, "#/components/schemas/"))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(string(r.body)))
	if err != nil {
		t.Fatalf("%s %s: body is not JSON: %s", method, path, r.body)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s %s %d: body does not match %s: %v\n%s", method, path, r.status, ref, err, r.body)
	}
}
