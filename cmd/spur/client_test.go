package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// clStartSpur starts `spur run` with its embedded broker and waits for
// /health (exempt from REST auth) to be 200. It returns the REST URL.
func clStartSpur(t *testing.T, name string, extra ...string) (string, *proc) {
	t.Helper()
	restPort := freePort(t)
	args := append([]string{"run", "--data-dir", filepath.Join(t.TempDir(), "data"),
		"--set", "embedded.broker.address=127.0.0.1:" + strconv.Itoa(freePort(t)),
		"--set", "listeners=http://127.0.0.1:" + strconv.Itoa(restPort),
		"--set", "offset.flush.interval.ms=500"}, extra...)
	p := startProc(t, name, args...)
	url := "http://127.0.0.1:" + strconv.Itoa(restPort)
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		_, code, err := httpDo(http.MethodGet, url+"/health", nil)
		if err != nil || code != 200 {
			return fmt.Errorf("spur not healthy: %v %d", err, code)
		}
		return nil
	})
	return url, p
}

// clResult is one run of the spur binary as a client.
type clResult struct {
	stdout, stderr string
	code           int
}

func (r clResult) String() string {
	return fmt.Sprintf("exit %d\n--- stdout:\n%s--- stderr:\n%s", r.code, r.stdout, r.stderr)
}

// clRun runs the spur binary with args; env entries are added to the
// test's environment minus any SPUR_* variable, so the tests do not
// depend on the caller's shell.
func clRun(t *testing.T, env []string, args ...string) clResult {
	t.Helper()
	cmd := exec.Command(spurBin, args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SPUR_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GORACE=halt_on_error=1")
	cmd.Env = append(cmd.Env, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if cmd.ProcessState == nil {
		t.Fatalf("spur %v did not run: %v", args, err)
	}
	return clResult{stdout: stdout.String(), stderr: stderr.String(), code: cmd.ProcessState.ExitCode()}
}

// clMust runs a client command against url and fails unless it exits 0.
func clMust(t *testing.T, url string, args ...string) clResult {
	t.Helper()
	r := clRun(t, []string{"SPUR_URL=" + url}, args...)
	if r.code != 0 {
		t.Fatalf("spur %s: %v", strings.Join(args, " "), r)
	}
	return r
}

func clWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// clWaitRunning waits until the connector and all its tasks run.
func clWaitRunning(t *testing.T, url string, names ...string) {
	t.Helper()
	checkFor(t, 60*time.Second, 100*time.Millisecond, func() error {
		for _, n := range names {
			st, err := status(url, n)
			if err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			if st.Connector.State != "RUNNING" || len(st.Tasks) == 0 {
				return fmt.Errorf("%s: %+v", n, st)
			}
			for _, ts := range st.Tasks {
				if ts.State != "RUNNING" {
					return fmt.Errorf("%s task %d: %s %s", n, ts.ID, ts.State, ts.Trace)
				}
			}
		}
		return nil
	})
}

func clConnectorState(t *testing.T, url, name string) string {
	t.Helper()
	st, err := status(url, name)
	if err != nil {
		return err.Error()
	}
	return st.Connector.State
}

// clRows parses a table's rows into their cells (header skipped).
func clRows(out string) [][]string {
	var rows [][]string
	sc := bufio.NewScanner(strings.NewReader(out))
	for first := true; sc.Scan(); first = false {
		if !first {
			rows = append(rows, strings.Fields(sc.Text()))
		}
	}
	return rows
}

func TestClientCommandsTablesJSONYAMLAndExitCodes(t *testing.T) {
	url, _ := clStartSpur(t, "spur")
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen.yaml")
	clWrite(t, gen, `
name: gen
config:
  connector.class: datagen
  kafka.topic: events
  rate: 200
  tasks.max: 2
`)
	out := filepath.Join(dir, "out.jsonl")
	clWrite(t, filepath.Join(dir, "sink.yaml"), "name: archive\nconfig: {connector.class: FileStreamSink, topics: events, file: "+out+"}\n")
	clMust(t, url, "apply", "-f", dir)
	clWaitRunning(t, url, "gen", "archive")

	// get connectors: a table, then the same data as JSON and YAML.
	r := clMust(t, url, "get", "connectors")
	rows := clRows(r.stdout)
	if len(rows) != 2 || strings.Join(rows[0], " ") != "archive sink RUNNING 1/1 FileStreamSink" ||
		strings.Join(rows[1], " ") != "gen source RUNNING 2/2 datagen" {
		t.Fatalf("get connectors table:\n%s", r.stdout)
	}
	var asJSON map[string]restExpanded
	if err := json.Unmarshal([]byte(clMust(t, url, "get", "connectors", "-o", "json").stdout), &asJSON); err != nil {
		t.Fatal(err)
	}
	var asYAML map[string]restExpanded
	yr := clMust(t, url, "-o", "yaml", "get", "connectors", "gen") // client flags before the command too
	if err := yaml.Unmarshal([]byte(yr.stdout), &asYAML); err != nil {
		t.Fatalf("%v:\n%s", err, yr.stdout)
	}
	if asJSON["gen"].Info == nil || asJSON["gen"].Info.Config["rate"] != "200" || asJSON["gen"].Status.Connector.State != "RUNNING" || len(asJSON) != 2 {
		t.Fatalf("get -o json: %+v", asJSON)
	}
	if len(asYAML) != 1 || asYAML["gen"].Info == nil || !strings.Contains(yr.stdout, "info:\n    name: gen\n") {
		t.Fatalf("get gen -o yaml:\n%s", yr.stdout)
	}

	// describe, status.
	r = clMust(t, url, "describe", "gen")
	for _, want := range []string{`Name:\s+gen\n`, `Type:\s+source\n`, `State:\s+RUNNING on 127\.0\.0\.1:`, `Tasks:\s+2\n`, `kafka\.topic\s+events\n`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("describe lacks %q:\n%s", want, r.stdout)
		}
	}
	r = clMust(t, url, "status")
	if rows := clRows(r.stdout); len(rows) != 5 { // archive, its task, gen, its 2 tasks
		t.Errorf("status of all connectors:\n%s", r.stdout)
	}
	var st restStatus
	if err := json.Unmarshal([]byte(clMust(t, url, "status", "gen", "-o", "json").stdout), &st); err != nil || st.Name != "gen" || len(st.Tasks) != 2 {
		t.Errorf("status gen -o json: %+v %v", st, err)
	}

	// pause, resume, stop, offsets, restart.
	clMust(t, url, "pause", "gen", "archive")
	checkFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		if s := clConnectorState(t, url, "gen"); s != "PAUSED" {
			return fmt.Errorf("gen is %s", s)
		}
		return nil
	})
	clMust(t, url, "resume", "archive")
	r = clMust(t, url, "offsets", "get", "gen")
	if !strings.Contains(r.stdout, `{"task":0}`) || !strings.Contains(r.stdout, `{"seq":`) {
		t.Errorf("offsets get gen:\n%s", r.stdout)
	}
	if r := clRun(t, []string{"SPUR_URL=" + url}, "offsets", "reset", "gen"); r.code != exitError || !strings.Contains(r.stderr, "STOPPED") {
		t.Errorf("offsets reset of a paused connector: want exit %d naming STOPPED: %v", exitError, r)
	}
	clMust(t, url, "stop", "gen")
	checkFor(t, 20*time.Second, 100*time.Millisecond, func() error {
		if s := clConnectorState(t, url, "gen"); s != "STOPPED" {
			return fmt.Errorf("gen is %s", s)
		}
		return nil
	})
	// A sink's group may still have its member for a moment after stopping.
	checkFor(t, 20*time.Second, 200*time.Millisecond, func() error {
		r := clRun(t, []string{"SPUR_URL=" + url}, "offsets", "reset", "gen")
		if r.code != 0 || !strings.Contains(r.stdout, "reset successfully") {
			return fmt.Errorf("%v", r)
		}
		return nil
	})
	var offs restOffsets
	if err := json.Unmarshal([]byte(clMust(t, url, "offsets", "get", "gen", "-o", "json").stdout), &offs); err != nil || len(offs.Offsets) != 0 {
		t.Errorf("offsets after reset: %+v %v", offs, err)
	}
	clMust(t, url, "resume", "gen")
	clWaitRunning(t, url, "gen", "archive")
	if r := clMust(t, url, "restart", "gen"); !strings.Contains(r.stdout, "connector gen restarted") {
		t.Errorf("restart: %v", r)
	}
	r = clMust(t, url, "restart", "gen", "--include-tasks")
	if rows := clRows(r.stdout[strings.Index(r.stdout, "\n")+1:]); len(rows) != 3 || rows[1][2] != "RESTARTING" {
		t.Errorf("restart --include-tasks plan:\n%s", r.stdout)
	}
	clMust(t, url, "restart", "gen", "--task", "1")
	clWaitRunning(t, url, "gen")

	// plugins and validate.
	r = clMust(t, url, "plugins")
	if !strings.Contains(r.stdout, "io.confluent.kafka.connect.datagen.DatagenConnector") || strings.Contains(r.stdout, "InsertField") {
		t.Errorf("plugins:\n%s", r.stdout)
	}
	if r := clMust(t, url, "plugins", "--all"); !strings.Contains(r.stdout, "InsertField") {
		t.Errorf("plugins --all lacks transforms:\n%s", r.stdout)
	}
	if r := clMust(t, url, "validate", "-f", dir); strings.Count(r.stdout, ": valid") != 2 {
		t.Errorf("validate:\n%s", r.stdout)
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	clWrite(t, bad, "name: bad\nconfig:\n  connector.class: FileStreamSink\n  topics: x\n  tasks.max: zero\n---\nname: nosuch\nconfig: {connector.class: NoSuchConnector}\n")
	r = clRun(t, []string{"SPUR_URL=" + url}, "validate", "-f", bad)
	for _, want := range []string{"connector bad", "tasks.max: Invalid value zero", "file: Missing required configuration", "connector nosuch", "NoSuchConnector"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("validate of bad definitions lacks %q: %v", want, r)
		}
	}
	if r.code != exitConfig {
		t.Errorf("validate of bad definitions: exit %d, want %d", r.code, exitConfig)
	}

	// Exit codes scripts rely on.
	notYAML := filepath.Join(t.TempDir(), "broken.yaml")
	clWrite(t, notYAML, "name: x\nconfig: [\n")
	for _, tc := range []struct {
		env  []string
		args []string
		code int
		want string
	}{
		{nil, []string{"describe", "nope"}, exitNotFound, "Connector nope not found"},
		{nil, []string{"status", "nope"}, exitNotFound, "nope"},
		{nil, []string{"delete", "nope"}, exitNotFound, "nope"},
		{nil, []string{"pause", "nope"}, exitNotFound, "nope"},
		{nil, []string{"restart", "nope"}, exitNotFound, "nope"},
		{nil, []string{"restart", "gen", "--task", "7"}, exitNotFound, "7"},
		{nil, []string{"get", "connectors", "gen", "nope"}, exitNotFound, "nope"},
		{nil, []string{"apply", "-f", notYAML}, exitConfig, "broken.yaml"},
		{nil, []string{"apply", "-f", bad}, exitConfig, "tasks.max"},
		{nil, []string{"apply", "-f", filepath.Join(dir, "missing")}, exitConfig, "missing"},
		{nil, []string{"apply"}, exitUsage, "usage"},
		{nil, []string{"get", "connectors", "--bogus"}, exitUsage, "bogus"},
		{nil, []string{"get", "connectors", "-o", "xml"}, exitUsage, "xml"},
		{nil, []string{"describe"}, exitUsage, "usage"},
		{nil, []string{"frobnicate"}, exitUsage, "unknown command"},
		{nil, []string{"--url", "http://127.0.0.1:1", "get", "connectors"}, exitError, "cannot reach"},
		{[]string{"SPUR_URL=http://127.0.0.1:1"}, []string{"status"}, exitError, "127.0.0.1:1"},
		{nil, []string{"--url", "ftp://x", "status"}, exitUsage, "--url"},
	} {
		env := tc.env
		if env == nil {
			env = []string{"SPUR_URL=" + url}
		}
		r := clRun(t, env, tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("spur %s: want exit %d and stderr naming %q, got %v", strings.Join(tc.args, " "), tc.code, tc.want, r)
		}
	}
	// The failed applies above applied nothing.
	if r := clMust(t, url, "get", "connectors"); len(clRows(r.stdout)) != 2 {
		t.Errorf("a failed apply changed the connectors:\n%s", r.stdout)
	}

	if r := clMust(t, url, "delete", "gen", "archive"); strings.Count(r.stdout, "deleted") != 2 {
		t.Errorf("delete: %v", r)
	}
	if r := clMust(t, url, "get", "connectors", "-o", "json"); strings.TrimSpace(r.stdout) != "{}" {
		t.Errorf("connectors left after delete: %s", r.stdout)
	}
}

func TestClientBasicAndBearerAuth(t *testing.T) {
	basicURL, _ := clStartSpur(t, "spur-basic", "--set", "rest.auth.type=basic", "--set", "rest.auth.users=alice:s3cret")
	bearerURL, _ := clStartSpur(t, "spur-bearer", "--set", "rest.auth.type=bearer", "--set", "rest.auth.token=tok-123")
	for _, tc := range []struct {
		name string
		url  string
		env  []string
		args []string
		code int
	}{
		{"basic, no credentials", basicURL, nil, nil, exitAuth},
		{"basic, wrong password", basicURL, nil, []string{"--user", "alice", "--password", "nope"}, exitAuth},
		{"basic, flags", basicURL, nil, []string{"--user", "alice", "--password", "s3cret"}, exitOK},
		{"basic, env", basicURL, []string{"SPUR_USER=alice", "SPUR_PASSWORD=s3cret"}, nil, exitOK},
		{"bearer, no token", bearerURL, nil, nil, exitAuth},
		{"bearer, flag", bearerURL, nil, []string{"--token", "tok-123"}, exitOK},
		{"bearer, env", bearerURL, []string{"SPUR_TOKEN=tok-123"}, nil, exitOK},
		{"bearer, wrong env token", bearerURL, []string{"SPUR_TOKEN=tok-999"}, nil, exitAuth},
		{"token and user together", bearerURL, nil, []string{"--token", "x", "--user", "y"}, exitUsage},
	} {
		args := append([]string{"get", "connectors"}, tc.args...)
		r := clRun(t, append([]string{"SPUR_URL=" + tc.url}, tc.env...), args...)
		if r.code != tc.code {
			t.Errorf("%s: want exit %d, got %v", tc.name, tc.code, r)
		}
	}
	// apply goes through the same client: a write with credentials works.
	dir := t.TempDir()
	clWrite(t, filepath.Join(dir, "g.yaml"), "name: g\nconfig: {connector.class: datagen, kafka.topic: t, rate: 1}\n")
	if r := clRun(t, []string{"SPUR_URL=" + bearerURL, "SPUR_TOKEN=tok-123"}, "apply", "-f", dir); r.code != 0 || !strings.Contains(r.stdout, "connector g created") {
		t.Errorf("apply with a bearer token: %v", r)
	}
	// -h never shows a password taken from the environment.
	if r := clRun(t, []string{"SPUR_PASSWORD=hunter2", "SPUR_USER=bob"}, "get", "-h"); r.code != 0 || strings.Contains(r.stderr+r.stdout, "hunter2") {
		t.Errorf("get -h: %v", r)
	}
}

// A server that answers 409 the way Kafka Connect does during a
// rebalance: the client retries within --retry-timeout, gives up with
// exit code 5 after it, and never retries the 409 of a create that exists.
func TestClientRetries409WithinRetryTimeout(t *testing.T) {
	var conflicts atomic.Int32
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/connectors/busy/pause":
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error_code":409,"message":"Cannot complete request because of a conflicting operation (e.g. worker rebalance)"}`)
		case r.URL.Path == "/connectors/flaky/pause" && conflicts.Add(1) <= 3:
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error_code":409,"message":"Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."}`)
		case r.URL.Path == "/connectors/flaky/pause":
			w.WriteHeader(http.StatusAccepted)
		case r.Method == http.MethodPost && r.URL.Path == "/connectors":
			w.WriteHeader(http.StatusConflict)
			fmt.Fprint(w, `{"error_code":409,"message":"Connector exists already exists"}`)
		case r.Method == http.MethodGet && r.URL.Path == "/connectors":
			fmt.Fprint(w, `{}`)
		case strings.HasSuffix(r.URL.Path, "/config/validate"):
			fmt.Fprint(w, `{"name":"datagen","error_count":0,"groups":[],"configs":[]}`)
		default:
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error_code":404,"message":"HTTP 404 Not Found"}`)
		}
	}))
	defer srv.Close()
	env := []string{"SPUR_URL=" + srv.URL}

	if r := clRun(t, env, "pause", "flaky"); r.code != 0 || conflicts.Load() != 4 {
		t.Errorf("three 409s then 202: want success after retries, got %v (%d requests)", r, conflicts.Load())
	}
	start := time.Now()
	r := clRun(t, env, "pause", "busy", "--retry-timeout", "1500ms")
	if took := time.Since(start); r.code != exitConflict || took > 10*time.Second || took < time.Second {
		t.Errorf("409 for ever: want exit %d after about 1.5s, got %v after %v", exitConflict, r, took)
	}
	if !strings.Contains(r.stderr, "rebalance") {
		t.Errorf("the error does not carry the server's message: %v", r)
	}
	// POST /connectors answering "already exists" is not retried; apply
	// then updates the connector with PUT (here a 404: exit 4).
	dir := t.TempDir()
	clWrite(t, filepath.Join(dir, "x.yaml"), "name: exists\nconfig: {connector.class: datagen}\ninitial_state: PAUSED\n")
	calls.Store(0)
	r = clRun(t, env, "apply", "-f", dir, "--retry-timeout", "30s")
	// GET list, validate, POST (409, not retried), PUT (404).
	if n := calls.Load(); n != 4 || r.code != exitNotFound {
		t.Errorf("create of an existing connector: %d requests, %v", n, r)
	}
}
