package web

import (
	"net/http"
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

// FuzzDecode: any body gives either a decoded value or a documented error;
// never a panic, never a message that echoes a value from the body.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{}`, `{"code":"123456"}`, `{"code":1}`, `[]`, `{"x":1}`, `{"code":"a"} {}`, `nul`, "\x00", `{"code":"secret-value"`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest("POST", "/", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		var v struct {
			Code string `json:"code"`
		}
		err := decode(w, r, &v)
		if err == nil {
			return
		}
		if v.Code != "" && len(v.Code) > 3 && strings.Contains(err.Error(), v.Code) {
			t.Fatalf("error %q echoes a value", err)
		}
		if se, ok := err.(*statusError); ok && se.status != http.StatusRequestEntityTooLarge && se.status != http.StatusUnsupportedMediaType {
			t.Fatalf("unexpected status error %d", se.status)
		}
	})
}
