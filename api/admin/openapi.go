package admin

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/version"
)

// The OpenAPI 3.1 document of GET /openapi.json (ADMIN-API §11) is built from the
// operation table of openapi_ops.go and the schemas of openapi_schemas.go. A test compares
// its (method, path) set with the routes registered on the real router, so a route
// without an operation (or the reverse) cannot ship. Later endpoint families add their
// operations to that table.

type obj = map[string]any

// operation documents one route.
type operation struct {
	method, path string    // path in OpenAPI form: /admin/agents/{id}
	min          auth.Role // "" for public operations
	summary      string
	params       []obj  // parameters, see pathParam and queryParam
	body         string // request body schema name, "" for none
	status       int    // success status
	response     string // success body schema name, "" for none
	text         string // media type of a success body that is text, not JSON (GET /metrics)
	location     bool   // 201 with a Location header
	errs         []int  // error statuses besides the shared ones
}

const schemaRef = "#/components/schemas/"

func ref(name string) obj { return obj{"$ref": schemaRef + name} }

func pathParam(name, desc string) obj {
	return obj{"name": name, "in": "path", "required": true, "description": desc, "schema": obj{"type": "string"}}
}

func queryParam(name, desc string, schema obj) obj {
	return obj{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
}

var (
	limitParam  = queryParam("limit", "page size", obj{"type": "integer", "minimum": 1, "maximum": maxLimit, "default": defaultLimit})
	cursorParam = queryParam("cursor", "opaque position from a previous page's nextCursor, or a row offset "+
		"(a decimal integer 0.."+strconv.Itoa(store.MaxOffset)+", 0 = first page; the smooth-operator dialect, answered with an integer nextCursor)",
		obj{"type": "string", "maxLength": maxCursorChars})
	pageParams = []obj{limitParam, cursorParam}
)

var errorDescriptions = map[int]string{
	400: "VALIDATION_ERROR: malformed body, bad or unknown query parameter, bad cursor, wrong content type",
	401: "UNAUTHENTICATED, INVALID_TOKEN or MISSING_ROLE",
	403: "FORBIDDEN: the principal's role is below the operation's minimum",
	404: "NOT_FOUND",
	409: "CONFLICT",
	413: "PAYLOAD_TOO_LARGE: body over 2 MiB",
	429: "RATE_LIMITED (carries Retry-After)",
	500: "INTERNAL_ERROR",
}

func (op operation) document() obj {
	role := "public"
	if op.min != "" {
		role = string(op.min)
	}
	out := obj{
		"operationId": operationID(op),
		"summary":     op.summary,
		"x-min-role":  role,
		"responses":   op.responses(),
	}
	if op.min != "" {
		out["security"] = []obj{{"bearer": []string{}}}
	} else {
		out["security"] = []obj{}
	}
	if len(op.params) > 0 {
		out["parameters"] = op.params
	}
	if op.body != "" {
		out["requestBody"] = obj{
			"required": true,
			"content":  obj{"application/json": obj{"schema": ref(op.body)}},
		}
	}
	return out
}

func (op operation) responses() obj {
	res := obj{}
	success := obj{"description": "success"}
	if op.response != "" {
		success["content"] = obj{"application/json": obj{"schema": ref(op.response)}}
	}
	if op.text != "" {
		success["content"] = obj{op.text: obj{"schema": obj{"type": "string"}}}
	}
	if op.location {
		success["headers"] = obj{"Location": obj{"description": "path of the new resource", "schema": obj{"type": "string"}}}
	}
	res[strconv.Itoa(op.status)] = success
	errs := op.errs
	if op.min != "" {
		errs = append([]int{400, 401, 403, 413, 429, 500}, errs...)
	}
	for _, code := range errs {
		if code == 503 { // readiness answers its own document, not the error envelope
			res["503"] = obj{"description": "not ready", "content": obj{"application/json": obj{"schema": ref("Readiness")}}}
			continue
		}
		e := obj{
			"description": errorDescriptions[code],
			"content":     obj{"application/json": obj{"schema": ref("Error")}},
		}
		if code == 429 {
			e["headers"] = obj{"Retry-After": obj{"description": "seconds to wait", "schema": obj{"type": "integer", "minimum": 1}}}
		}
		res[strconv.Itoa(code)] = e
	}
	return res
}

// operationID is a stable name such as get_admin_agents_id.
func operationID(op operation) string {
	r := strings.NewReplacer("/", "_", "{", "", "}", "", "-", "_", ".", "_")
	return strings.ToLower(op.method) + r.Replace(op.path)
}

// buildOpenAPI renders the whole document once, at mount.
func buildOpenAPI() []byte {
	paths := obj{}
	for _, op := range operations() {
		item, _ := paths[op.path].(obj)
		if item == nil {
			item = obj{}
			paths[op.path] = item
		}
		item[strings.ToLower(op.method)] = op.document()
	}
	doc := obj{
		"openapi": "3.1.0",
		"info": obj{
			"title":       "Switchboard",
			"version":     version.Version,
			"description": "Public health endpoints and the REST admin API of Switchboard (docs/spec/ADMIN-API.md). The /ws protocol is specified in docs/spec/PROTOCOL.md.",
		},
		"paths": paths,
		"components": obj{
			"schemas":         withKnowledgeSchemas(schemas()),
			"securitySchemes": obj{"bearer": obj{"type": "http", "scheme": "bearer", "description": "a JWT or an org API key (sbk_…)"}},
		},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		panic("openapi: " + err.Error()) // the document is static data; this cannot fail
	}
	return b
}

// openapi serves GET /openapi.json (public).
func (h *handlers) openapi(c *fiber.Ctx) error {
	if _, err := query(c); err != nil {
		return err
	}
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSONCharsetUTF8)
	return c.Send(h.doc)
}
