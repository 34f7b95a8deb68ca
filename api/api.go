// Package api embeds Latchkey's OpenAPI document, the authoritative
// description of its HTTP API. The server serves it at /api/openapi.json and
// /api/openapi.yaml, and tests check every exchange against it.
package api

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"

	"github.com/getkin/kin-openapi/openapi3"
)

// OpenAPIYAML is the document as written in openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPIYAML []byte

// Load parses and validates the document. Each call returns a fresh copy, so
// callers may keep or change it without affecting others.
func Load(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	// The document is self-contained; never fetch anything while loading it.
	loader.IsExternalRefsAllowed = false
	doc, err := loader.LoadFromData(OpenAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("load openapi.yaml: %w", err)
	}
	if err := doc.Validate(ctx); err != nil {
		return nil, fmt.Errorf("validate openapi.yaml: %w", err)
	}
	return doc, nil
}

// JSON returns the document rendered as JSON, for GET /api/openapi.json.
func JSON(ctx context.Context) ([]byte, error) {
	doc, err := Load(ctx)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("render openapi.json: %w", err)
	}
	return b, nil
}
