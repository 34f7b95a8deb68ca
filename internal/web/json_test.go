package web_test

import (
	"testing"
)

// TestJSONBodyShape: through the real server, a body that is not one JSON
// object (null, an array, a number, a string) is refused with 400, and a
// body-taking call without Content-Type: application/json is refused with
// 415 even when the body is empty; neither changes anything. An empty body
// sent as JSON still means {}.
func TestJSONBodyShape(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	secret, _, tok := h.totpUser(t, "jo@example.com")
	h.reauth(tok, "totp", h.freshCode(t, secret)).want(t, 200)
	generated := func() int {
		t.Helper()
		return len(eventsOf(h.events(t, tok), "recovery_code_generated"))
	}
	before := generated()

	tests := []struct {
		name   string
		body   any
		header map[string]string
		want   int
	}{
		{"Null", "null", nil, 400},
		{"NullPadded", " null\n", nil, 400},
		{"Array", "[]", nil, 400},
		{"Number", "1", nil, 400},
		{"String", `"x"`, nil, 400},
		{"EmptyWithoutContentType", nil, nil, 415},
		{"EmptyForm", nil, map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"EmptyTextPlain", "", map[string]string{"Content-Type": "text/plain"}, 415},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, path := range []string{"/api/v1/me/recovery-code", "/api/v1/me/totp"} {
				h.do(req{method: "POST", path: path, token: tok, body: tc.body, header: tc.header}).want(t, tc.want, "invalid_request")
			}
		})
	}
	if got := generated(); got != before {
		t.Errorf("got %d recovery_code_generated events, want %d: a refused body regenerated the code", got, before)
	}
	if totp := h.security(t, tok)["totp"].(map[string]any); totp["pending"] != false {
		t.Errorf("got totp %v, want no pending enrolment: a refused body started one", totp)
	}

	// An empty body sent as JSON reads as {}.
	h.do(req{method: "POST", path: "/api/v1/me/recovery-code", token: tok, body: ""}).want(t, 201)
	if got := generated(); got != before+1 {
		t.Errorf("got %d recovery_code_generated events, want %d", got, before+1)
	}
}
