package config

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestParse(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "latchkey.conf")
	if err := os.WriteFile(file, []byte("addr 127.0.0.1:1111\ndb from-file.db\nissuer FileCo\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name                    string
		args                    []string
		env                     map[string]string
		wantAddr, wantDB, wantI string
		wantRoles               []string
	}{
		{"defaults", nil, nil, ":8080", "", "Latchkey", nil},
		{"env", nil, map[string]string{"LATCHKEY_ADDR": ":9", "LATCHKEY_MFA_REQUIRED_ROLES": "admin, ops"}, ":9", "", "Latchkey", []string{"admin", "ops"}},
		{"flag wins over env", []string{"--addr", ":7"}, map[string]string{"LATCHKEY_ADDR": ":9"}, ":7", "", "Latchkey", nil},
		{"file", []string{"--config", file}, nil, "127.0.0.1:1111", "from-file.db", "FileCo", nil},
		{"env wins over file", []string{"--config", file}, map[string]string{"LATCHKEY_DB": "env.db"}, "127.0.0.1:1111", "env.db", "FileCo", nil},
		{"config file from env", nil, map[string]string{"LATCHKEY_CONFIG": file}, "127.0.0.1:1111", "from-file.db", "FileCo", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			addr := fs.String("addr", ":8080", "")
			db := fs.String("db", "", "")
			issuer := fs.String("issuer", "Latchkey", "")
			var roles StringList
			fs.Var(&roles, "mfa-required-roles", "")
			fs.String("config", "", "")
			if err := Parse(fs, tc.args, func(k string) string { return tc.env[k] }); err != nil {
				t.Fatal(err)
			}
			if *addr != tc.wantAddr || *db != tc.wantDB || *issuer != tc.wantI {
				t.Errorf("got addr=%q db=%q issuer=%q, want %q %q %q", *addr, *db, *issuer, tc.wantAddr, tc.wantDB, tc.wantI)
			}
			if len(roles) != len(tc.wantRoles) {
				t.Fatalf("got roles %q, want %q", roles, tc.wantRoles)
			}
			for i := range roles {
				if roles[i] != tc.wantRoles[i] {
					t.Errorf("got roles %q, want %q", roles, tc.wantRoles)
				}
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("n", 0, "")
	if err := Parse(fs, nil, func(k string) string {
		if k == "LATCHKEY_N" {
			return "not-a-number"
		}
		return ""
	}); err == nil {
		t.Error("got nil error for a malformed env value, want one")
	}
	if err := Parse(fs, []string{"--nope"}, func(string) string { return "" }); err == nil {
		t.Error("got nil error for an unknown flag, want one")
	}
}

func TestEnvName(t *testing.T) {
	for in, want := range map[string]string{"db": "LATCHKEY_DB", "sms-provider": "LATCHKEY_SMS_PROVIDER", "mfa-required-roles": "LATCHKEY_MFA_REQUIRED_ROLES"} {
		if got := EnvName(in); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", in, got, want)
		}
	}
}
