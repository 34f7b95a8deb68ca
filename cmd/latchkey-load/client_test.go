package main

import (
	"strings"
	"testing"
)

func TestLoopbackURL(t *testing.T) {
	tests := []struct {
		url  string
		ok   bool
		want string // the normalised URL when ok
	}{
		{"http://127.0.0.1:8080", true, "http://127.0.0.1:8080"},
		{"http://127.0.0.1:8080/", true, "http://127.0.0.1:8080"},
		{"http://127.9.8.7:1", true, "http://127.9.8.7:1"},
		{"https://127.0.0.1", true, "https://127.0.0.1"},
		{"http://localhost:8080", true, "http://localhost:8080"},
		{"http://LocalHost", true, "http://LocalHost"},
		{"http://[::1]:8080", true, "http://[::1]:8080"},
		{"http://[::ffff:127.0.0.1]:8080", true, "http://[::ffff:127.0.0.1]:8080"},
		{"http://127.0.0.1:8080/prefix/", true, "http://127.0.0.1:8080/prefix"},

		{"http://10.0.0.1:8080", false, ""},
		{"http://192.168.1.10", false, ""},
		{"http://0.0.0.0:8080", false, ""},
		{"http://[::]:8080", false, ""},
		{"http://128.0.0.1", false, ""},
		{"http://example.com", false, ""},
		{"http://localhost.example.com", false, ""},
		{"http://127.0.0.1.nip.io", false, ""},
		{"http://2130706433", false, ""}, // 127.0.0.1 as a number: not a literal we accept
		{"http://0x7f.1", false, ""},
		{"http://[fe80::1%25lo]:8080", false, ""},
		{"http://[::1%25lo]:8080", false, ""},
		{"http://user@10.0.0.1", false, ""},
		{"http://127.0.0.1@10.0.0.1", false, ""},
		{"ftp://127.0.0.1", false, ""},
		{"127.0.0.1:8080", false, ""},
		{"//127.0.0.1:8080", false, ""},
		{"http://", false, ""},
		{"http://127.0.0.1:8080/?x=1", false, ""},
		{"", false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			u, err := loopbackURL(tc.url)
			if !tc.ok {
				if err == nil {
					t.Fatalf("loopbackURL(%q) = %v, want an error", tc.url, u)
				}
				return
			}
			if err != nil {
				t.Fatalf("loopbackURL(%q): %v", tc.url, err)
			}
			if got := u.String(); got != tc.want {
				t.Errorf("loopbackURL(%q) = %q, want %q", tc.url, got, tc.want)
			}
		})
	}
}

func TestDialLoopbackOnly(t *testing.T) {
	tests := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.1.2.3:80", true},
		{"[::1]:8080", true},
		{"10.0.0.1:8080", false},
		{"[2001:db8::1]:443", false},
		{"localhost:8080", false}, // the dialer sees resolved addresses only
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := dialLoopbackOnly("tcp", tc.addr, nil)
			if (err == nil) != tc.ok {
				t.Errorf("dialLoopbackOnly(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	var stderr strings.Builder
	t.Run("OK", func(t *testing.T) {
		cfg, help, err := parseFlags([]string{"--url", "http://[::1]:9", "--scenario", "login, session,login"},
			env(map[string]string{adminTokenEnv: "lk_x"}), &stderr)
		if err != nil || help {
			t.Fatalf("parseFlags: %v, help %v", err, help)
		}
		if cfg.adminToken != "lk_x" || strings.Join(cfg.scenarios, ",") != "login,session" || cfg.concurrency != 32 {
			t.Errorf("got %+v", cfg)
		}
	})
	t.Run("ErrRemoteURL", func(t *testing.T) {
		_, _, err := parseFlags([]string{"--url", "http://93.184.216.34", "--admin-token", "lk_x"}, env(nil), &stderr)
		if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
			t.Errorf("got %v, want a loopback error", err)
		}
	})
	t.Run("ErrNoToken", func(t *testing.T) {
		if _, _, err := parseFlags(nil, env(nil), &stderr); err == nil {
			t.Error("got no error without a token")
		}
	})
	t.Run("Rate", func(t *testing.T) {
		for _, c := range []struct {
			rate string
			ok   bool
		}{{"2500", true}, {"0", true}, {"-1", false}, {"NaN", false}, {"+Inf", false}} {
			cfg, _, err := parseFlags([]string{"--rate", c.rate, "--admin-token", "lk_x"}, env(nil), &stderr)
			if (err == nil) != c.ok {
				t.Errorf("--rate %s: got error %v, want ok %v", c.rate, err, c.ok)
			}
			if c.ok && c.rate == "2500" && cfg.rate != 2500 {
				t.Errorf("--rate 2500: got %v", cfg.rate)
			}
		}
	})
	t.Run("ErrUnknownScenario", func(t *testing.T) {
		if _, _, err := parseFlags([]string{"--scenario", "nope", "--admin-token", "lk_x"}, env(nil), &stderr); err == nil {
			t.Error("got no error for an unknown scenario")
		}
	})
}
