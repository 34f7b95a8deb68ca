package web_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestAdminTokenBearerOnly: the admin API takes its token from the
// Authorization header only. The same token in the session cookie is
// refused with 401 unauthenticated, even from the same origin, and changes
// nothing.
func TestAdminTokenBearerOnly(t *testing.T) {
	h := newHarness(t, sqliteDSN(t))
	_, _, full := h.totpUser(t, "bob@example.com")
	bob, err := h.db.UserByEmail(context.Background(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}
	sameOrigin := map[string]string{"Sec-Fetch-Site": "same-origin"}
	users := func() int {
		t.Helper()
		r := h.do(req{method: "GET", path: "/api/v1/admin/users", token: h.admin}).want(t, 200)
		return len(r.json(t)["users"].([]any))
	}
	before := users()

	tests := []struct {
		name string
		req  req
		want int
	}{
		{"CookieList", req{method: "GET", path: "/api/v1/admin/users", cookie: h.admin}, 401},
		{"CookieCreate", req{method: "POST", path: "/api/v1/admin/users", cookie: h.admin, header: sameOrigin,
			body: map[string]string{"email": "eve@example.com", "password": pw}}, 401},
		{"CookieResetMFA", req{method: "DELETE", path: fmt.Sprintf("/api/v1/admin/users/%d/mfa", bob.ID), cookie: h.admin, header: sameOrigin}, 401},
		{"Nothing", req{method: "GET", path: "/api/v1/admin/users"}, 401},
		{"OtherScheme", req{method: "GET", path: "/api/v1/admin/users", header: map[string]string{"Authorization": "Basic " + h.admin}}, 401},
		{"BearerBesideOtherCookie", req{method: "GET", path: "/api/v1/admin/users", token: h.admin, cookie: full}, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := h.do(tc.req)
			if tc.want != 401 {
				r.want(t, tc.want)
				return
			}
			r.want(t, 401, "unauthenticated")
			if msg := r.errorMessage(t); !strings.Contains(msg, "Authorization: Bearer") {
				t.Errorf("got message %q, want it to say the token goes in Authorization: Bearer", msg)
			}
		})
	}
	if got := users(); got != before {
		t.Errorf("got %d users, want %d: a refused call created one", got, before)
	}
	// The refused reset changed nothing: bob's session and app remain.
	if m := strs(h.security(t, full)["methods"]); !slices.Contains(m, "totp") {
		t.Errorf("got methods %v after a refused reset, want bob's app", m)
	}
}
