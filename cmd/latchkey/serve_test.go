package main

import (
	"flag"
	"io"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/latchkey/latchkey/internal/auth"
)

// TestServeFlagDefaults checks that serve without flags runs on
// auth.DefaultConfig: every flag that sets a rule takes its default from
// there, so a default changed in auth changes the binary.
func TestServeFlagDefaults(t *testing.T) {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f.register(fs)
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(auth.DefaultConfig(), f.config()); diff != "" {
		t.Errorf("config from default flags differs from auth.DefaultConfig (-want +got):\n%s", diff)
	}
}
