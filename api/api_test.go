package api

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

const errorRef = "#/components/schemas/Error"

func mustLoad(tb testing.TB) *openapi3.T {
	tb.Helper()
	doc, err := Load(context.Background())
	if err != nil {
		tb.Fatalf("Load: %v", err)
	}
	return doc
}

// eachOperation calls fn for every operation, in a stable order.
func eachOperation(doc *openapi3.T, fn func(name, path string, op *openapi3.Operation)) {
	for _, path := range doc.Paths.InMatchingOrder() {
		ops := doc.Paths.Value(path).Operations()
		methods := make([]string, 0, len(ops))
		for m := range ops {
			methods = append(methods, m)
		}
		slices.Sort(methods)
		for _, m := range methods {
			fn(m+" "+path, path, ops[m])
		}
	}
}

func TestLoad(t *testing.T) {
	doc := mustLoad(t)
	if got, want := doc.OpenAPI, "3.1.0"; got != want {
		t.Errorf("openapi: got %q, want %q", got, want)
	}
	if doc.Info.Title != "Latchkey" || doc.Info.Version != "1.0.0" {
		t.Errorf("info: got %q %q, want Latchkey 1.0.0", doc.Info.Title, doc.Info.Version)
	}
}

func TestJSON(t *testing.T) {
	b, err := JSON(context.Background())
	if err != nil {
		t.Fatalf("JSON: %v", err)
	}
	if !json.Valid(b) {
		t.Fatal("JSON: not valid JSON")
	}
	// The JSON rendering must be the same document: it loads, validates and
	// describes the same operations.
	loader := openapi3.NewLoader()
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(b)
	if err != nil {
		t.Fatalf("reload JSON: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("validate JSON: %v", err)
	}
	var got, want []string
	eachOperation(doc, func(name, _ string, _ *openapi3.Operation) { got = append(got, name) })
	eachOperation(mustLoad(t), func(name, _ string, _ *openapi3.Operation) { want = append(want, name) })
	if !slices.Equal(got, want) {
		t.Errorf("operations: got %q, want %q", got, want)
	}
	for _, s := range []string{`"type":["string","null"]`, `"__Host-latchkey_session"`} {
		if !strings.Contains(string(b), s) {
			t.Errorf("JSON lacks %s", s)
		}
	}
}

func TestOperations(t *testing.T) {
	doc := mustLoad(t)
	eachOperation(doc, func(name, _ string, op *openapi3.Operation) {
		if op.OperationID == "" {
			t.Errorf("%s: no operationId", name)
		}
		if op.Summary == "" {
			t.Errorf("%s: no summary", name)
		}
		var ok bool
		for code := range op.Responses.Map() {
			if strings.HasPrefix(code, "2") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("%s: no 2xx response", name)
		}
		if op.Responses.Default() != nil {
			// A default would let any undocumented status pass the contract tests.
			t.Errorf("%s: has a default response; list each status instead", name)
		}
	})
}

// TestErrorResponses checks that every error answer of the JSON API is the
// shared Error body, that 429 carries Retry-After, and that every route with a
// JSON body describes 400, 413 and 415.
func TestErrorResponses(t *testing.T) {
	doc := mustLoad(t)
	eachOperation(doc, func(name, path string, op *openapi3.Operation) {
		api := strings.HasPrefix(path, "/api/v1/")
		for code, resp := range op.Responses.Map() {
			status, err := strconv.Atoi(code)
			if err != nil {
				t.Errorf("%s: response %q: not a plain status", name, code)
				continue
			}
			if status < 400 {
				continue
			}
			mt := resp.Value.Content.Get("application/json")
			if mt == nil {
				if api {
					t.Errorf("%s %d: no application/json error body", name, status)
				}
				continue
			}
			if !refersToError(mt.Schema) {
				t.Errorf("%s %d: schema does not reference %s", name, status, errorRef)
			}
			if status == 429 {
				h := resp.Value.Headers["Retry-After"]
				if h == nil || !h.Value.Required {
					t.Errorf("%s 429: no required Retry-After header", name)
				}
			}
		}
		if !api {
			return
		}
		for _, status := range []string{"401", "429", "503"} {
			if op.Responses.Value(status) == nil && !slices.Contains(publicAPIOperations, name) {
				t.Errorf("%s: no %s response", name, status)
			}
		}
		if op.RequestBody != nil {
			for _, status := range []string{"400", "413", "415"} {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s: has a body but no %s response", name, status)
				}
			}
		}
	})
}

// publicAPIOperations need no session or token.
var publicAPIOperations = []string{"POST /api/v1/login", "GET /api/v1/dev/outbox"}

func refersToError(s *openapi3.SchemaRef) bool {
	if s == nil {
		return false
	}
	if s.Ref == errorRef {
		return true
	}
	return s.Value != nil && len(s.Value.AllOf) > 0 && s.Value.AllOf[0].Ref == errorRef
}

// TestErrorCodes pins the error codes of the contract (API.md), plus
// "internal" for the 500 that no request should ever meet.
func TestErrorCodes(t *testing.T) {
	doc := mustLoad(t)
	var got []string
	for _, v := range doc.Components.Schemas["ErrorCode"].Value.Enum {
		got = append(got, fmt.Sprint(v))
	}
	want := []string{
		"invalid_request", "unauthenticated", "invalid_credentials", "invalid_code",
		"mfa_required", "reauth_required", "enrollment_required", "forbidden",
		"not_found", "conflict", "rate_limited", "locked", "sms_unavailable", "unavailable", "internal",
	}
	if !slices.Equal(got, want) {
		t.Errorf("ErrorCode enum: got %q, want %q", got, want)
	}
	errProps := doc.Components.Schemas["Error"].Value.Properties["error"].Value
	if errProps.Properties["methods"] == nil {
		t.Error("Error: error.methods is not described")
	}
}

// TestClosedSchemas checks that every JSON object the API takes or gives
// under /api/v1/ is closed (additionalProperties: false) and lists its
// required fields, so a contract test catches an extra or missing field.
func TestClosedSchemas(t *testing.T) {
	doc := mustLoad(t)
	eachOperation(doc, func(name, path string, op *openapi3.Operation) {
		if !strings.HasPrefix(path, "/api/v1/") {
			return
		}
		if op.RequestBody != nil {
			for _, mt := range op.RequestBody.Value.Content {
				checkClosed(t, name+" request", mt.Schema, map[*openapi3.Schema]bool{})
			}
		}
		for code, resp := range op.Responses.Map() {
			for _, mt := range resp.Value.Content {
				checkClosed(t, name+" "+code, mt.Schema, map[*openapi3.Schema]bool{})
			}
		}
	})
}

func checkClosed(t *testing.T, where string, ref *openapi3.SchemaRef, seen map[*openapi3.Schema]bool) {
	t.Helper()
	if ref == nil || ref.Value == nil || seen[ref.Value] {
		return
	}
	s := ref.Value
	seen[s] = true
	if s.Type.Includes("object") {
		if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
			t.Errorf("%s: object schema %s is not additionalProperties: false", where, ref.Ref)
		}
		if len(s.Properties) > 0 && len(s.Required) == 0 {
			t.Errorf("%s: object schema %s has no required list", where, ref.Ref)
		}
	}
	for _, p := range s.Properties {
		checkClosed(t, where, p, seen)
	}
	if s.Items != nil {
		checkClosed(t, where, s.Items, seen)
	}
	for _, refs := range []openapi3.SchemaRefs{s.AllOf, s.AnyOf, s.OneOf} {
		for _, r := range refs {
			checkClosed(t, where, r, seen)
		}
	}
}
