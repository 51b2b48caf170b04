package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// Exit codes of the client commands, beyond main.go's exitOK, exitError,
// exitUsage and exitConfig. They follow the REST status of the failing
// request, so a script can tell "not there" from "try again" from "denied".
const (
	exitNotFound = 4 // 404: the named connector, task or plugin does not exist
	exitConflict = 5 // 409 still after --retry-timeout, or creating a connector that exists
	exitAuth     = 6 // 401 or 403: missing or wrong credentials
)

const defaultURL = "http://127.0.0.1:8083"

// clientUsage documents the client commands; `spur help` prints it after
// the worker commands.
const clientUsage = `
Client commands (talk to the REST API at --url, default ` + defaultURL + `):
  spur get connectors [NAME...]        connectors with type, state, tasks and class
  spur describe NAME                   config, status and tasks of a connector
  spur status [NAME]                   connector and task states (all connectors without NAME)
  spur apply -f FILE|DIR [--prune] [--dry-run]
                                       make the cluster match YAML definitions; prints the diff
  spur delete NAME...                  delete connectors
  spur pause|resume|stop NAME...       change the target state
  spur restart NAME [--include-tasks] [--only-failed] [--task N]
  spur offsets get|reset NAME          show or reset offsets (reset needs a STOPPED connector)
  spur plugins [--all]                 connector plugins (--all: transforms, converters, ...)
  spur validate -f FILE|DIR            validate definitions against the server's plugins

Client flags (anywhere on the line):
  --url URL           REST API (env SPUR_URL)
  --user, --password  basic auth (env SPUR_USER, SPUR_PASSWORD)
  --token TOKEN       bearer auth (env SPUR_TOKEN)
  --cacert FILE       PEM CA certificates for an https:// URL; --insecure skips verification
  -o table|json|yaml  output format (default table)
  --retry-timeout D   how long 409 answers (rebalance) are retried (default 1m)

Exit codes: 0 ok, 1 error, 2 usage, 3 invalid definitions or config, 4 not found,
5 conflict (409 after retries, or connector exists), 6 authentication failed.
`

// clientFlags are the flags every client command accepts.
type clientFlags struct {
	url          string
	user         string
	password     string
	token        string
	cacert       string
	insecure     bool
	output       string
	retryTimeout time.Duration
}

// register adds the client flags to fs. Their defaults are the current
// values, so flags given before the command word carry over to the
// command's own flag set.
func (g *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&g.url, "url", g.url, "REST API URL (env SPUR_URL)")
	fs.StringVar(&g.user, "user", g.user, "basic auth user (env SPUR_USER)")
	fs.Var(secretFlag{&g.password}, "password", "basic auth `password` (env SPUR_PASSWORD)")
	fs.Var(secretFlag{&g.token}, "token", "bearer `token` (env SPUR_TOKEN)")
	fs.StringVar(&g.cacert, "cacert", g.cacert, "PEM file of CA certificates for https")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "do not verify the server's TLS certificate")
	fs.StringVar(&g.output, "o", g.output, "output format: table, json or yaml")
	fs.StringVar(&g.output, "output", g.output, "output format: table, json or yaml")
	fs.DurationVar(&g.retryTimeout, "retry-timeout", g.retryTimeout, "how long to retry 409 (rebalance) answers")
}

// secretFlag is a string flag whose value is never shown, so -h does not
// print a password taken from the environment as the default.
type secretFlag struct{ p *string }

func (s secretFlag) String() string { return "" }
func (s secretFlag) Set(v string) error {
	*s.p = v
	return nil
}

// usageError is a bad command line: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usageErrorf(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// configError is a definition that cannot be applied as written: exit code 3.
type configError struct{ err error }

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// exitCodeOf maps an error to the documented exit codes.
func exitCodeOf(err error) int {
	var ue *usageError
	var ce *configError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		return exitUsage
	case errors.As(err, &ce):
		return exitConfig
	}
	switch statusOf(err) {
	case 404:
		return exitNotFound
	case 409:
		return exitConflict
	case 401, 403:
		return exitAuth
	}
	return exitError
}

// cli is one client invocation.
type cli struct {
	g      clientFlags
	stdout io.Writer
	stderr io.Writer
	api    *apiClient
}

// cmdClient runs the client-side subcommands (get, describe, apply...).
func cmdClient(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	return runClient(ctx, args, os.Getenv, stdout, stderr)
}

func runClient(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	c := &cli{stdout: stdout, stderr: stderr, g: clientFlags{
		url: getenv("SPUR_URL"), user: getenv("SPUR_USER"), password: getenv("SPUR_PASSWORD"),
		token: getenv("SPUR_TOKEN"), output: "table", retryTimeout: time.Minute,
	}}
	if c.g.url == "" {
		c.g.url = defaultURL
	}
	// Client flags may come before the command word (spur --url X get ...).
	pre := flag.NewFlagSet("spur", flag.ContinueOnError)
	pre.SetOutput(io.Discard)
	c.g.register(pre)
	if err := pre.Parse(args); err != nil {
		fmt.Fprintln(stderr, "spur:", err)
		return exitUsage
	}
	if pre.NArg() == 0 {
		fmt.Fprint(stderr, clientUsage)
		return exitUsage
	}
	name, rest := pre.Arg(0), pre.Args()[1:]
	cmd, ok := c.command(name)
	if !ok {
		fmt.Fprintf(stderr, "spur: unknown command %q (try spur help)\n", name)
		return exitUsage
	}
	err := cmd(ctx, rest)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var quiet *silentError
	if err != nil && !errors.As(err, &quiet) {
		fmt.Fprintf(stderr, "spur %s: %v\n", name, err)
	}
	return exitCodeOf(err)
}

func (c *cli) command(name string) (func(context.Context, []string) error, bool) {
	switch name {
	case "get", "ls", "list":
		return c.cmdGet, true
	case "describe":
		return c.cmdDescribe, true
	case "status":
		return c.cmdStatus, true
	case "apply":
		return c.cmdApply, true
	case "delete":
		return c.cmdDelete, true
	case "pause", "resume", "stop":
		return func(ctx context.Context, args []string) error { return c.cmdTarget(ctx, name, args) }, true
	case "restart":
		return c.cmdRestart, true
	case "offsets":
		return c.cmdOffsets, true
	case "plugins":
		return c.cmdPlugins, true
	case "validate":
		return c.cmdValidate, true
	}
	return nil, false
}

// flags is a command's flag set with the client flags registered.
func (c *cli) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("spur "+name, flag.ContinueOnError)
	// Parse errors are reported once by runClient; -h prints the flags.
	fs.SetOutput(io.Discard)
	c.g.register(fs)
	return fs
}

// parse parses flags and positional arguments in any order (spur restart
// NAME --include-tasks), checks the output format and connects the API
// client. Arguments after "--" are positional.
func (c *cli) parse(fs *flag.FlagSet, args []string, minArgs, maxArgs int, what string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintf(c.stderr, "usage: %s %s\n", fs.Name(), what)
				fs.SetOutput(c.stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, &usageError{msg: err.Error()}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos, args = append(pos, args[0]), args[1:]
	}
	pos = append(pos, tail...)
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		return nil, usageErrorf("usage: %s %s", fs.Name(), what)
	}
	switch c.g.output {
	case "table", "json", "yaml":
	case "wide", "":
		c.g.output = "table"
	default:
		return nil, usageErrorf("-o %q: expected table, json or yaml", c.g.output)
	}
	api, err := newAPIClient(&c.g)
	if err != nil {
		return nil, err
	}
	c.api = api
	return pos, nil
}

// structured says whether the output is JSON or YAML rather than a table.
func (c *cli) structured() bool { return c.g.output == "json" || c.g.output == "yaml" }

func plural(n int, one, many string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, one)
	}
	return fmt.Sprintf("%d %s", n, many)
}

// firstLine shortens a stack trace for a table cell.
func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " ..."
	}
	return s
}
