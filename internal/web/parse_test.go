package web

import (
	"encoding/json"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"Direct", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"UntrustedPeerXFFIgnored", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"TrustedProxy", "10.0.0.2:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"RightmostUntrusted", "10.0.0.2:1234", []string{"1.2.3.4, 198.51.100.1, 10.0.0.9"}, "198.51.100.1"},
		{"SeveralHeaders", "10.0.0.2:1234", []string{"1.2.3.4", "198.51.100.1"}, "198.51.100.1"},
		{"Malformed", "10.0.0.2:1234", []string{"a"}, "10.0.0.2"},
		{"MalformedAfterGood", "10.0.0.2:1234", []string{"198.51.100.1, nonsense"}, "10.0.0.2"},
		{"Huge", "10.0.0.2:1234", []string{strings.Repeat("x", 4096)}, "10.0.0.2"},
		{"IPv6", "[2001:db8::1]:443", nil, "2001:db8::1"},
		{"MappedIPv4", "[::ffff:203.0.113.5]:1", nil, "203.0.113.5"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, proxies); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// FuzzClientIP: any X-Forwarded-For yields either the peer or a parsed
// address, never the raw header text.
func FuzzClientIP(f *testing.F) {
	for _, s := range []string{"", "a", "1.2.3.4", "1.2.3.4, 10.0.0.1", "::1", "[::1]", "1.2.3.4,,", strings.Repeat(",", 100)} {
		f.Add(s)
	}
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	f.Fuzz(func(t *testing.T, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = "10.0.0.2:1"
		r.Header.Set("X-Forwarded-For", xff)
		got := clientIP(r, proxies)
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("clientIP returned %q, not an address", got)
		}
	})
}

func TestDecode(t *testing.T) {
	const ctJSON = "application/json"
	tests := []struct {
		name, contentType, body string
		wantStatus              int    // 0: decoded
		wantCode                string // with wantStatus
		wantMessage             string // part of the message
	}{
		{"Object", ctJSON, `{"code":"123456"}`, 0, "", ""},
		{"ObjectPadded", ctJSON, " \r\n\t{\"code\":\"123456\"} \n", 0, "", ""},
		{"Empty", ctJSON, "", 0, "", ""},
		{"OnlySpace", ctJSON, " \n", 0, "", ""},
		{"Charset", "application/json; charset=utf-8", `{}`, 0, "", ""},
		{"EmptyWithoutContentType", "", "", 415, "invalid_request", "Content-Type must be application/json"},
		{"EmptyForm", "application/x-www-form-urlencoded", "", 415, "invalid_request", "Content-Type"},
		{"EmptyTextPlain", "text/plain", "", 415, "invalid_request", "Content-Type"},
		{"ObjectAsTextPlain", "text/plain", `{"code":"123456"}`, 415, "invalid_request", "Content-Type"},
		{"BadContentType", "application/json;;", `{}`, 415, "invalid_request", "Content-Type"},
		{"Null", ctJSON, `null`, 400, "invalid_request", "must be a JSON object"},
		{"NullPadded", ctJSON, " null\n", 400, "invalid_request", "must be a JSON object"},
		{"Array", ctJSON, `[]`, 400, "invalid_request", "must be a JSON object"},
		{"ArrayOfObject", ctJSON, `[{"code":"123456"}]`, 400, "invalid_request", "must be a JSON object"},
		{"Number", ctJSON, `1`, 400, "invalid_request", "must be a JSON object"},
		{"String", ctJSON, `"123456"`, 400, "invalid_request", "must be a JSON object"},
		{"True", ctJSON, `true`, 400, "invalid_request", "must be a JSON object"},
		{"OtherSpace", ctJSON, "\v{}", 400, "invalid_request", "must be a JSON object"},
		{"TwoObjects", ctJSON, `{} {}`, 400, "invalid_request", "one JSON object"},
		{"ObjectThenNull", ctJSON, `{} null`, 400, "invalid_request", "one JSON object"},
		{"UnknownField", ctJSON, `{"x":1}`, 400, "invalid_request", `Unknown field "x"`},
		{"WrongType", ctJSON, `{"code":1}`, 400, "invalid_request", "Field code must be of type string"},
		{"Truncated", ctJSON, `{"code":"1`, 400, "invalid_request", "Malformed JSON"},
		{"TooLarge", ctJSON, `{"code":"` + strings.Repeat("1", maxBody) + `"}`, 413, "invalid_request", "64 KiB"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
			if tc.contentType != "" {
				r.Header.Set("Content-Type", tc.contentType)
			}
			w := httptest.NewRecorder()
			v := struct {
				Code string `json:"code"`
			}{Code: "untouched"}
			err := decode(w, r, &v)
			if tc.wantStatus == 0 {
				if err != nil {
					t.Fatalf("got %v, want it decoded", err)
				}
				if want := map[bool]string{true: "123456", false: "untouched"}[strings.Contains(tc.body, "123456")]; v.Code != want {
					t.Errorf("got code %q, want %q", v.Code, want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got it decoded (%+v), want %d %s", v, tc.wantStatus, tc.wantCode)
			}
			status, code, msg := rendered(t, err)
			if status != tc.wantStatus || code != tc.wantCode || !strings.Contains(msg, tc.wantMessage) {
				t.Errorf("got %d %s %q, want %d %s with %q", status, code, msg, tc.wantStatus, tc.wantCode, tc.wantMessage)
			}
		})
	}
}

// rendered renders err as the API does and returns the status, code and
// message of the answer.
func rendered(t *testing.T, err error) (status int, code, message string) {
	t.Helper()
	w := httptest.NewRecorder()
	writeErrorJSON(w, err)
	var body errorBody
	if derr := json.Unmarshal(w.Body.Bytes(), &body); derr != nil {
		t.Fatalf("error answer %q is not the documented shape: %v", w.Body, derr)
	}
	return w.Code, body.Error.Code, body.Error.Message
}

// FuzzDecode: any body under any content type gives either a decoded JSON
// object or a documented 4xx error; never a panic, never a 5xx, never a
// message that echoes a value from the body.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"code":"123456"}`, `{"code":1}`, `[]`, `{"x":1}`, `{"code":"a"} {}`, `nul`, "\x00", `{"code":"secret-value"`,
		`null`, ` null `, `1`, `"s"`, ``, ` `, "\v{}", `{"code":null}`} {
		f.Add(s, "application/json")
	}
	f.Add(``, ``)
	f.Add(`{}`, `text/plain`)
	f.Add(``, `application/x-www-form-urlencoded`)
	f.Fuzz(func(t *testing.T, body, contentType string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		if contentType != "" {
			r.Header.Set("Content-Type", contentType)
		}
		w := httptest.NewRecorder()
		var v struct {
			Code string `json:"code"`
		}
		err := decode(w, r, &v)
		if err == nil {
			// Only JSON bodies that are one object (or nothing) decode.
			if !isJSON(contentType) {
				t.Fatalf("decoded a body sent as %q", contentType)
			}
			if trimmed := strings.Trim(body, jsonSpace); trimmed != "" && (trimmed[0] != '{' || !json.Valid([]byte(trimmed))) {
				t.Fatalf("decoded %q, which is not one JSON object", body)
			}
			return
		}
		status, code, msg := rendered(t, err)
		if status >= 500 || code != "invalid_request" {
			t.Fatalf("got %d %s for %q, want a 4xx invalid_request", status, code, body)
		}
		if len(v.Code) > 3 && strings.Contains(msg, v.Code) {
			t.Fatalf("message %q echoes a value", msg)
		}
	})
}
