// Package oapi checks HTTP exchanges against Latchkey's OpenAPI document
// (package api), for the API tests of other packages. It is not used by the
// server itself.
package oapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/latchkey/latchkey/api"
)

// Validator checks requests and responses against the OpenAPI document. It
// only reads the document once loaded, so one Validator may be shared by
// parallel tests.
type Validator struct {
	doc    *openapi3.T
	router routers.Router
}

// NewValidator loads and validates the document once and builds a router
// over its paths. It stops the test if the document does not load.
func NewValidator(tb testing.TB) *Validator {
	tb.Helper()
	doc, err := api.Load(context.Background())
	if err != nil {
		tb.Fatalf("oapi: %v", err)
	}
	// The legacy router matches paths exactly as written in the document
	// (no servers are declared, so the request's URL path is used as is).
	router, err := legacy.NewRouter(doc)
	if err != nil {
		tb.Fatalf("oapi: build router: %v", err)
	}
	return &Validator{doc: doc, router: router}
}

// Check validates one exchange: the request (method, URL path and query,
// headers, the JSON body reqBody) and the response (status, header, the body
// respBody). req's own Body is not read, so a request already sent may be
// passed. It reports through tb.Errorf when the route is not described, the
// status is not described for it, the response headers or body do not match,
// a body is returned where none is described, or the server answered 2xx to
// a request the document rejects. A request the document rejects is not an
// error when the server refused it with 4xx: tests send bad input on purpose.
// Security requirements are not enforced; authentication is the server's
// business and is tested on its own.
func (v *Validator) Check(tb testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	tb.Helper()
	ctx := context.Background()
	exchange := fmt.Sprintf("%s %s -> %d", req.Method, req.URL.RequestURI(), status)

	r := req.Clone(ctx)
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	route, pathParams, err := v.router.FindRoute(r)
	if err != nil {
		tb.Errorf("oapi: %s: route not described in api/openapi.yaml: %v", exchange, err)
		return
	}

	reqInput := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
			SkipSettingDefaults: true,
			MultiError:          true,
		},
	}
	if err := openapi3filter.ValidateRequest(ctx, reqInput); err != nil && status >= 200 && status < 300 {
		tb.Errorf("oapi: %s: the server accepted a request the document rejects: %v", exchange, err)
	}

	respRef := route.Operation.Responses.Status(status)
	if respRef == nil || respRef.Value == nil {
		tb.Errorf("oapi: %s: status %d is not described for %s %s (described: %s)",
			exchange, status, route.Method, route.Path, strings.Join(describedStatuses(route.Operation), ", "))
		return
	}
	if len(respRef.Value.Content) == 0 && len(respBody) > 0 {
		tb.Errorf("oapi: %s: the document describes no body, got %d bytes: %.200q", exchange, len(respBody), respBody)
	}

	if header == nil {
		header = http.Header{}
	}
	respInput := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: reqInput,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{
			IncludeResponseStatus: true,
			MultiError:            true,
		},
	}
	if err := openapi3filter.ValidateResponse(ctx, respInput); err != nil {
		tb.Errorf("oapi: %s: response does not match the document: %v\nbody: %.500s", exchange, err, respBody)
	}
}

// Operations returns every operation in the document as "METHOD /path", with
// path parameters as written ("DELETE /api/v1/admin/users/{id}/mfa"), sorted.
func (v *Validator) Operations() []string {
	var ops []string
	for path, item := range v.doc.Paths.Map() {
		for method := range item.Operations() {
			ops = append(ops, method+" "+path)
		}
	}
	slices.Sort(ops)
	return ops
}

// describedStatuses lists the statuses an operation describes, for messages.
func describedStatuses(op *openapi3.Operation) []string {
	var codes []string
	for code := range op.Responses.Map() {
		codes = append(codes, code)
	}
	slices.Sort(codes)
	return codes
}
