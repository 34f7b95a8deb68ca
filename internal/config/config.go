// Package config turns command-line flags, LATCHKEY_* environment variables
// and an optional config file into settings. The flag set is the schema:
// every setting is a flag, and flags win over the environment, which wins
// over the file.
package config

import (
	"errors"
	"flag"
	"fmt"
	"strings"

	"github.com/peterbourgon/ff/v3"
)

// EnvPrefix prefixes every environment variable: --sms-provider is read
// from LATCHKEY_SMS_PROVIDER.
const EnvPrefix = "LATCHKEY_"

// EnvName returns the environment variable for a flag name.
func EnvName(flagName string) string {
	return EnvPrefix + strings.ToUpper(strings.NewReplacer("-", "_", ".", "_").Replace(flagName))
}

// Parse parses args into fs. Flags not given on the command line are taken
// from getenv, then from the file named by the "config" flag (if fs has one
// and it is set), in the plain "name value" format, one per line.
func Parse(fs *flag.FlagSet, args []string, getenv func(string) string) error {
	// Environment values go first, so that the same flags given on the
	// command line (later in the list) win.
	var env []string
	fs.VisitAll(func(f *flag.Flag) {
		if v := getenv(EnvName(f.Name)); v != "" {
			env = append(env, "-"+f.Name+"="+v)
		}
	})
	opts := []ff.Option{}
	if fs.Lookup("config") != nil {
		opts = append(opts, ff.WithConfigFileFlag("config"), ff.WithConfigFileParser(ff.PlainParser))
	}
	if err := ff.Parse(fs, append(env, args...), opts...); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%s: %w", fs.Name(), err)
	}
	return nil
}

// StringList is a flag holding a comma-separated list.
type StringList []string

func (l *StringList) String() string { return strings.Join(*l, ",") }

// Set replaces the list with the comma-separated values of s.
func (l *StringList) Set(s string) error {
	*l = nil
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}
