package oapi

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/api"
)

// recorder is a testing.TB that records Errorf calls instead of failing, so a
// test can assert that the validator reported a problem.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Error(args ...any) { r.errs = append(r.errs, fmt.Sprint(args...)) }

// exchange is one request and answer given to Check.
type exchange struct {
	method, target string
	reqBody        string
	status         int
	header         http.Header
	respBody       string
}

func jsonHeader(kv ...string) http.Header {
	h := http.Header{"Content-Type": {"application/json"}}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

const (
	token      = "0123456789abcdef0123456789abcdef0123456789abcdef"
	loginOK    = `{"session_token":"` + token + `","aal":1,"mfa_required":true,"enrollment_required":false,"methods":["totp","sms","recovery_code"],"preferred_method":"totp"}`
	sessionOK  = `{"user_id":7,"email":"a@example.com","role":"user","aal":2,"authenticated_at":"2026-01-02T03:04:05Z","verified_at":null}`
	securityOK = `{"totp":{"enabled":true,"enrolled_at":"2026-01-02T03:04:05Z","pending":false},` +
		`"sms":{"enabled":true,"phone":"+1•••••••4567","pending":false},` +
		`"recovery_code":{"exists":true,"created_at":"2026-01-02T03:04:05.123+01:00"},` +
		`"methods":["totp","sms","recovery_code"],"reauth_until":null,"reauth_method":null}`
	securityNone = `{"totp":{"enabled":false,"enrolled_at":null,"pending":true},` +
		`"sms":{"enabled":false,"phone":null,"pending":false},` +
		`"recovery_code":{"exists":false,"created_at":null},` +
		`"methods":[],"reauth_until":"2026-01-02T03:09:05Z","reauth_method":"password"}`
	totpOK = `{"secret":"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP","otpauth_uri":"otpauth://totp/Latchkey:a%40example.com?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP&issuer=Latchkey",` +
		`"qr_png":"iVBORw0KGgoAAAANSUhEUg==","qr_svg":"<svg xmlns=\"http://www.w3.org/2000/svg\"></svg>","expires_in":900}`
	recoveryOK = `{"recovery_code":"0123-4567-89AB-CDEF-GHJK-MNPQ"}`
)

func TestValidator_Check(t *testing.T) {
	v := NewValidator(t)
	cookie := http.Header{
		"Content-Type": {"application/json"},
		"Set-Cookie":   {"__Host-latchkey_session=" + token + "; Path=/; Secure; HttpOnly; SameSite=Lax"},
	}

	tests := []struct {
		name    string
		ex      exchange
		wantErr string // "" = must pass; otherwise a substring of the report
	}{
		{name: "OK login", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 200, cookie, loginOK}},
		{name: "OK login preferred_method null", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 200, cookie,
			strings.Replace(loginOK, `"preferred_method":"totp"`, `"preferred_method":null`, 1)}},
		{name: "ErrPreferredMethodNotInEnum", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 200, cookie,
			strings.Replace(loginOK, `"preferred_method":"totp"`, `"preferred_method":"recovery_code"`, 1)}, wantErr: `"/preferred_method"`},
		{name: "ErrLoginNoCookie", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 200, jsonHeader(), loginOK}, wantErr: `"Set-Cookie" missing`},
		{name: "ErrExtraField", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `}`, `,"password_hash":"x"}`, 1)}, wantErr: `"password_hash" is unsupported`},
		{name: "ErrMissingRequiredField", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"role":"user",`, ``, 1)}, wantErr: `"role" is missing`},
		{name: "ErrMissingNullableField", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `,"verified_at":null`, ``, 1)}, wantErr: `"verified_at" is missing`},
		{name: "ErrWrongType", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"user_id":7`, `"user_id":"7"`, 1)}, wantErr: `"/user_id": value must be an integer`},
		{name: "ErrAALOutOfEnum", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"aal":2`, `"aal":3`, 1)}, wantErr: `"/aal"`},
		{name: "ErrNotDateTime", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"2026-01-02T03:04:05Z"`, `"yesterday"`, 1)}, wantErr: `"/authenticated_at": string doesn't match the format "date-time"`},
		{name: "ErrNullableNotDateTime", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"verified_at":null`, `"verified_at":"soon"`, 1)}, wantErr: `"/verified_at": string doesn't match the format "date-time"`},
		{name: "ErrNullWhereNotNullable", ex: exchange{"GET", "/api/v1/session", "", 200, jsonHeader(),
			strings.Replace(sessionOK, `"authenticated_at":"2026-01-02T03:04:05Z"`, `"authenticated_at":null`, 1)}, wantErr: `"/authenticated_at": Value is not nullable`},
		{name: "ErrUndocumentedStatus", ex: exchange{"GET", "/api/v1/session", "", 418, jsonHeader(),
			`{"error":{"code":"conflict","message":"No."}}`}, wantErr: "status 418 is not described"},
		{name: "ErrUnknownRoute", ex: exchange{"GET", "/api/v1/nope", "", 200, jsonHeader(), `{}`}, wantErr: "route not described"},
		{name: "ErrUnknownMethod", ex: exchange{"PUT", "/api/v1/session", "", 200, jsonHeader(), `{}`}, wantErr: "route not described"},
		{name: "OK security", ex: exchange{"GET", "/api/v1/me/security", "", 200, jsonHeader(), securityOK}},
		{name: "OK security nulls", ex: exchange{"GET", "/api/v1/me/security", "", 200, jsonHeader(), securityNone}},
		{name: "ErrNestedExtraField", ex: exchange{"GET", "/api/v1/me/security", "", 200, jsonHeader(),
			strings.Replace(securityOK, `"pending":false},"sms"`, `"pending":false,"secret":"X"},"sms"`, 1)}, wantErr: `"secret" is unsupported`},
		{name: "ErrPhoneNotMasked", ex: exchange{"GET", "/api/v1/me/security", "", 200, jsonHeader(),
			strings.Replace(securityOK, `+1•••••••4567`, `+15551234567`, 1)}, wantErr: `"/sms/phone"`},
		{name: "OK error", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 401, jsonHeader(),
			`{"error":{"code":"invalid_credentials","message":"Wrong email or password."}}`}},
		{name: "ErrErrorCodeWrongForStatus", ex: exchange{"POST", "/api/v1/login", `{"email":"a@example.com","password":"pw"}`, 401, jsonHeader(),
			`{"error":{"code":"unauthenticated","message":"No."}}`}, wantErr: `"/error/code"`},
		{name: "ErrErrorCodeUnknown", ex: exchange{"GET", "/api/v1/session", "", 401, jsonHeader(),
			`{"error":{"code":"nope","message":"No."}}`}, wantErr: `"/error/code"`},
		{name: "ErrErrorNotWrapped", ex: exchange{"GET", "/api/v1/session", "", 401, jsonHeader(),
			`{"code":"unauthenticated","message":"No."}`}, wantErr: `property "code" is unsupported`},
		{name: "OK reauth_required with methods", ex: exchange{"POST", "/api/v1/me/phone", `{"phone":"+15557654321"}`, 403, jsonHeader(),
			`{"error":{"code":"reauth_required","message":"Verify it's you.","methods":["sms"]}}`}},
		{name: "ErrMethodsOutsideError", ex: exchange{"POST", "/api/v1/me/phone", `{"phone":"+15557654321"}`, 403, jsonHeader(),
			`{"error":{"code":"reauth_required","message":"Verify it's you."},"methods":["sms"]}`}, wantErr: `property "methods" is unsupported`},
		{name: "OK 429 with Retry-After", ex: exchange{"POST", "/api/v1/login/mfa", `{"method":"totp","code":"123456"}`, 429, jsonHeader("Retry-After", "900"),
			`{"error":{"code":"locked","message":"Too many tries."}}`}},
		{name: "Err429WithoutRetryAfter", ex: exchange{"POST", "/api/v1/login/mfa", `{"method":"totp","code":"123456"}`, 429, jsonHeader(),
			`{"error":{"code":"locked","message":"Too many tries."}}`}, wantErr: `"Retry-After" missing`},
		{name: "OK 204", ex: exchange{"POST", "/api/v1/logout", "", 204, http.Header{}, ""}},
		{name: "Err204WithBody", ex: exchange{"POST", "/api/v1/logout", "", 204, jsonHeader(), `{}`}, wantErr: "describes no body"},
		{name: "ErrAcceptedExtraRequestField", ex: exchange{"POST", "/api/v1/me/totp/confirm", `{"code":"123456","x":1}`, 200, jsonHeader(), recoveryOK}, wantErr: "accepted a request"},
		{name: "OK rejected extra request field", ex: exchange{"POST", "/api/v1/me/totp/confirm", `{"code":"123456","x":1}`, 400, jsonHeader(),
			`{"error":{"code":"invalid_request","message":"Unknown field \"x\"."}}`}},
		{name: "OK empty body route", ex: exchange{"POST", "/api/v1/me/recovery-code", `{}`, 201, jsonHeader(), recoveryOK}},
		{name: "OK path parameter", ex: exchange{"DELETE", "/api/v1/admin/users/42/mfa", "", 204, http.Header{}, ""}},
		{name: "OK query parameter", ex: exchange{"GET", "/api/v1/admin/users?email=a%40example.com", "", 200, jsonHeader(),
			`{"users":[{"id":1,"email":"a@example.com","role":"admin","methods":["totp"]}]}`}},
		{name: "ErrOutboxPurpose", ex: exchange{"GET", "/api/v1/dev/outbox", "", 200, jsonHeader(),
			`{"messages":[{"to":"+15551234567","body":"x","purpose":"marketing","at":"2026-01-02T03:04:05Z"}]}`}, wantErr: `"/messages/0/purpose"`},
		{name: "OK totp enrollment", ex: exchange{"POST", "/api/v1/me/totp", `{}`, 201, jsonHeader(), totpOK}},
		{name: "ErrSecretPadded", ex: exchange{"POST", "/api/v1/me/totp", `{}`, 201, jsonHeader(),
			strings.Replace(totpOK, `"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"`, `"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PX="`, 1)}, wantErr: `"/secret"`},
		{name: "ErrQRNotPNG", ex: exchange{"POST", "/api/v1/me/totp", `{}`, 201, jsonHeader(),
			strings.Replace(totpOK, `"iVBORw0KGgoAAAANSUhEUg=="`, `"R0lGODlh"`, 1)}, wantErr: `"/qr_png"`},
		{name: "OK mfa with recovery code", ex: exchange{"POST", "/api/v1/login/mfa", `{"method":"recovery_code","code":"0123 4567 89ab cdef ghjk mnpq"}`, 200, cookie,
			`{"session_token":"` + token + `","aal":2,"new_recovery_code":"0123-4567-89AB-CDEF-GHJK-MNPQ"}`}},
		{name: "ErrMFAAAL1", ex: exchange{"POST", "/api/v1/login/mfa", `{"method":"totp","code":"123456"}`, 200, cookie,
			`{"session_token":"` + token + `","aal":1}`}, wantErr: `"/aal"`},
		{name: "OK reauth with password", ex: exchange{"POST", "/api/v1/me/reauth", `{"method":"password","password":"pw"}`, 200, jsonHeader(),
			`{"reauth_until":"2026-01-02T03:09:05Z"}`}},
		{name: "ErrAcceptedUnknownMethod", ex: exchange{"POST", "/api/v1/me/reauth", `{"method":"email","code":"1"}`, 200, jsonHeader(),
			`{"reauth_until":"2026-01-02T03:09:05Z"}`}, wantErr: "accepted a request"},
		{name: "OK sms sent", ex: exchange{"POST", "/api/v1/login/mfa/sms", `{}`, 202, jsonHeader(), `{"phone":"+1•••4567","expires_in":300}`}},
		{name: "OK events", ex: exchange{"GET", "/api/v1/me/events", "", 200, jsonHeader(),
			`{"events":[{"type":"login_succeeded","at":"2026-01-02T03:04:05Z","ip":"192.0.2.1","user_agent":"curl/8","detail":""}]}`}},
		{name: "OK metrics", ex: exchange{"GET", "/metrics", "", 200,
			http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8; escaping=underscores"}}, "# HELP x y\nx 1\n"}},
		{name: "OK readyz down", ex: exchange{"GET", "/readyz", "", 503, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "database unreachable\n"}},
		{name: "OK confirm raises an enrolment-only session", ex: exchange{"POST", "/api/v1/me/totp/confirm", `{"code":"123456"}`, 200, cookie,
			strings.Replace(recoveryOK, `}`, `,"session_token":"`+token+`"}`, 1)}},
		{name: "OK reauth with recovery code", ex: exchange{"POST", "/api/v1/me/reauth", `{"method":"recovery_code","code":"0123-4567-89AB-CDEF-GHJK-MNPQ"}`, 200, jsonHeader(),
			`{"reauth_until":"2026-01-02T03:09:05Z","new_recovery_code":"ZZZZ-4567-89AB-CDEF-GHJK-MNPQ"}`}},
		{name: "OK 415", ex: exchange{"POST", "/api/v1/me/password", `current_password=a`, 415, jsonHeader(),
			`{"error":{"code":"invalid_request","message":"Content-Type must be application/json."}}`}},
		{name: "OK healthz", ex: exchange{"GET", "/healthz", "", 200, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "ok\n"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel() // one Validator is shared by parallel tests
			rec := &recorder{TB: t}
			req := httptest.NewRequest(tc.ex.method, tc.ex.target, nil)
			if tc.ex.reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			v.Check(rec, req, []byte(tc.ex.reqBody), tc.ex.status, tc.ex.header, []byte(tc.ex.respBody))
			switch {
			case tc.wantErr == "" && len(rec.errs) > 0:
				t.Errorf("got errors, want none:\n%s", strings.Join(rec.errs, "\n"))
			case tc.wantErr != "" && len(rec.errs) == 0:
				t.Errorf("got no error, want one mentioning %q", tc.wantErr)
			case tc.wantErr != "" && !slices.ContainsFunc(rec.errs, func(e string) bool {
				summary, _, _ := strings.Cut(e, "\n") // the body and schema dumps follow
				return strings.Contains(summary, tc.wantErr)
			}):
				t.Errorf("got %q, want an error mentioning %q", rec.errs, tc.wantErr)
			}
		})
	}
}

func TestValidator_Operations(t *testing.T) {
	ops := NewValidator(t).Operations()
	for _, want := range []string{
		"POST /api/v1/login",
		"DELETE /api/v1/admin/users/{id}/mfa",
		"GET /api/openapi.json",
		"GET /healthz",
	} {
		if !slices.Contains(ops, want) {
			t.Errorf("Operations() lacks %q; got %q", want, ops)
		}
	}
	if !slices.IsSorted(ops) {
		t.Errorf("Operations() is not sorted: %q", ops)
	}
}

// TestValidator_CheckDocument serves the document itself through Check: the
// routes that publish it must match their own description.
func TestValidator_CheckDocument(t *testing.T) {
	v := NewValidator(t)
	body, err := api.JSON(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{TB: t}
	v.Check(rec, httptest.NewRequest("GET", "/api/openapi.json", nil), nil, 200, jsonHeader(), body)
	v.Check(rec, httptest.NewRequest("GET", "/api/openapi.yaml", nil), nil, 200,
		http.Header{"Content-Type": {"application/yaml"}}, api.OpenAPIYAML)
	if len(rec.errs) > 0 {
		t.Errorf("got errors, want none:\n%s", strings.Join(rec.errs, "\n"))
	}
}
