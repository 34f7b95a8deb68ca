package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/internal/auth"
)

// maxBody is the largest request body accepted (API.md: 64 KiB).
const maxBody = 64 << 10

// decode reads a JSON request body into v strictly: the content type must be
// JSON, also when the body is empty (415 otherwise), the body is at most
// maxBody, holds one JSON object (null, an array or any other value is
// refused, not read as {}), and unknown fields are refused. An empty body
// decodes as {}, so that calls without fields may omit it.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	// Checked before the body, whatever its length: a cross-site HTML form
	// can only send form or text/plain bodies, and an empty form post must
	// not slip through as {}.
	if !isJSON(r.Header.Get("Content-Type")) {
		return &statusError{http.StatusUnsupportedMediaType, "invalid_request", "Content-Type must be application/json."}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return &statusError{http.StatusRequestEntityTooLarge, "invalid_request", "The request body is larger than 64 KiB."}
		}
		return auth.Invalidf("the request body could not be read")
	}
	if value := bytes.TrimLeft(body, jsonSpace); len(value) == 0 {
		body = []byte("{}")
	} else if value[0] != '{' {
		// encoding/json decodes null into a struct as a no-op: without this,
		// a body of null would act as {}.
		return auth.Invalidf("the request body must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return auth.Invalidf("%s", describeJSONError(err))
	}
	if dec.More() {
		return auth.Invalidf("the request body must hold one JSON object")
	}
	return nil
}

// jsonSpace is the whitespace JSON allows around a value (RFC 8259).
const jsonSpace = " \t\r\n"

func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// describeJSONError names the field at fault without echoing any value.
func describeJSONError(err error) string {
	if te, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if te.Field != "" {
			return fmt.Sprintf("field %s must be of type %s", te.Field, te.Type)
		}
		return "the request body must be a JSON object"
	}
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return fmt.Sprintf("malformed JSON at byte %d", se.Offset)
	}
	msg := err.Error()
	if len(msg) > 20 && msg[:20] == "json: unknown field " {
		return "unknown field " + msg[20:]
	}
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return "malformed JSON: unexpected end of body"
	}
	return "malformed JSON"
}

// writeJSON writes v with status. API answers are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// timeOrNil renders a zero time as JSON null.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
