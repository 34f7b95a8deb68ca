package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/latchkey/latchkey/internal/config"
)

// errUsage means the usage was already printed; main adds nothing.
var errUsage = errors.New("usage")

// env bundles what a command may touch of the outside world, so tests can
// run every command in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

// command is one CLI command.
type command struct {
	name  string // "user add"
	usage string // one line
	run   func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	return []command{
		{"serve", "run the server", runServe},
		{"migrate", "apply database migrations and exit", runMigrate},
		{"user add", "create a user (password read from stdin)", runUserAdd},
		{"user reset-mfa", "remove every second factor of a user and sign them out", runUserResetMFA},
		{"token create", "create an API token (printed once)", runTokenCreate},
		{"keys generate", "print a new sealing key for --secret-keys", runKeysGenerate},
		{"keys rotate", "re-seal every secret under the newest (first) key", runKeysRotate},
		{"keys status", "show what still depends on each sealing key", runKeysStatus},
	}
}

// run is the whole program: main only calls it.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	rest := args[1:]
	for _, c := range commands() {
		words := strings.Fields(c.name)
		if len(rest) >= len(words) && strings.Join(rest[:len(words)], " ") == c.name {
			return c.run(ctx, e, rest[len(words):])
		}
	}
	if len(rest) > 0 && rest[0] != "-h" && rest[0] != "--help" && rest[0] != "help" {
		fmt.Fprintf(stderr, "latchkey: unknown command %q\n\n", strings.Join(rest, " "))
	}
	printUsage(stderr)
	if len(rest) == 0 || rest[0] != "-h" && rest[0] != "--help" && rest[0] != "help" {
		return errUsage
	}
	return nil
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "Latchkey: a self-hosted login and multi-factor authentication server.")
	fmt.Fprintln(w, "\nUsage: latchkey <command> [flags]   (every command takes --help)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.name, c.usage)
	}
	fmt.Fprintf(w, "\nEvery flag can also be set as an environment variable %sFLAG_NAME (e.g. %s); flags win.\n",
		config.EnvPrefix, config.EnvName("db"))
}

// newFlagSet returns a flag set whose --help prints to e.stderr.
func newFlagSet(e env, name, usage string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "Usage: latchkey %s [flags]\n\n%s\n\nFlags (each also read from %sFLAG_NAME):\n", name, usage, config.EnvPrefix)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses flags; --help is not an error.
func parse(fs *flag.FlagSet, args []string, e env) (help bool, err error) {
	err = config.Parse(fs, args, e.getenv)
	if errors.Is(err, flag.ErrHelp) {
		return true, nil
	}
	return false, err
}
