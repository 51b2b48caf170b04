package api

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/runtime"
)

// tcase is one request and what must come back.
type tcase struct {
	name    string
	method  string
	path    string
	body    string
	headers []string
	code    int
	msg     string // substring of the error message, or of the body on success
}

// run sends each case to the leader and to the follower.
func runCases(t *testing.T, c *cluster, cases []tcase) {
	t.Helper()
	for _, target := range c.both() {
		for _, tc := range cases {
			t.Run(target.role+"/"+tc.name, func(t *testing.T) {
				path := strings.ReplaceAll(tc.path, "{role}", target.role)
				body := strings.ReplaceAll(tc.body, "{role}", target.role)
				r := call(t, tc.method, target.n.url+path, body, tc.headers...)
				if r.code != tc.code {
					t.Fatalf("%s %s: got %s, want %d", tc.method, path, r, tc.code)
				}
				if r.code >= 400 {
					e := r.errMsg(t)
					if !strings.Contains(e.Message, strings.ReplaceAll(tc.msg, "{role}", target.role)) {
						t.Fatalf("message %q does not contain %q", e.Message, tc.msg)
					}
				} else if tc.msg != "" && !strings.Contains(string(r.body), strings.ReplaceAll(tc.msg, "{role}", target.role)) {
					t.Fatalf("body %s does not contain %q", r.body, tc.msg)
				}
			})
		}
	}
}

func TestRootHealthAndGenericErrors(t *testing.T) {
	c := shared(t)
	runCases(t, c, []tcase{
		{name: "server info", method: "GET", path: "/", code: 200, msg: `"kafka_cluster_id":"`},
		{name: "health", method: "GET", path: "/health", code: 200, msg: `"status":"healthy"`},
		{name: "health HEAD", method: "HEAD", path: "/health", code: 200},
		{name: "unknown path", method: "GET", path: "/nope", code: 404, msg: "HTTP 404 Not Found"},
		{name: "unknown nested path", method: "GET", path: "/connectors/x/y/z", code: 404, msg: "HTTP 404 Not Found"},
		{name: "wrong method", method: "DELETE", path: "/connector-plugins", code: 405, msg: "HTTP 405 Method Not Allowed"},
		{name: "trailing slash", method: "GET", path: "/connectors/", code: 200},
		{name: "form content type", method: "POST", path: "/connectors", body: "name=x", headers: []string{"Content-Type", "application/x-www-form-urlencoded"},
			code: 415, msg: "HTTP 415 Unsupported Media Type"},
		{name: "accept excludes JSON", method: "GET", path: "/connectors", headers: []string{"Accept", "text/html"}, code: 406, msg: "HTTP 406 Not Acceptable"},
		{name: "malformed JSON", method: "POST", path: "/connectors", body: `{"name": "x", "config": {`, code: 400, msg: "Malformed JSON request body"},
		{name: "JSON syntax error names offset", method: "PUT", path: "/connectors/x/config", body: `{"a" "b"}`, code: 400, msg: "offset"},
	})
	// The server info carries the version and the cluster id.
	var info ServerInfo
	call(t, "GET", c.follower().url+"/", "").json(t, &info)
	if info.Version != runtime.Version || info.KafkaClusterID == "" || info.KafkaClusterID != c.leader().w.ClusterID() {
		t.Fatalf("server info %+v", info)
	}
}

func TestHealthStartingAndWritesBeforeReady(t *testing.T) {
	cfg, err := workerConfig("127.0.0.1:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	w, err := runtime.NewWorker(cfg, runtimeOptions(testRegistry(), testLogger()))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Options{Worker: w, Logger: testLogger()})
	if err != nil {
		t.Fatal(err)
	}
	h := srv.Handler()
	r := serve(h, "GET", "/health", "")
	if r.code != 503 || !strings.Contains(string(r.body), `"status":"starting"`) {
		t.Fatalf("health before ready: %s", r)
	}
	for _, req := range []struct{ method, path, body string }{
		{"POST", "/connectors", `{"name":"a","config":{"connector.class":"datagen","kafka.topic":"t"}}`},
		{"PUT", "/connectors/a/config", `{"connector.class":"datagen","kafka.topic":"t"}`},
		{"PATCH", "/connectors/a/config", `{"tasks.max":"2"}`},
		{"DELETE", "/connectors/a", ""},
	} {
		r := serve(h, req.method, req.path, req.body)
		if r.code != 409 || !strings.Contains(r.errMsg(t).Message, "still starting") {
			t.Errorf("%s %s before ready: %s", req.method, req.path, r)
		}
	}
}

func TestCreateConnector(t *testing.T) {
	c := shared(t)
	runCases(t, c, []tcase{
		{name: "created", method: "POST", path: "/connectors",
			body: `{"name":" create-{role} ","config":{"connector.class":"datagen","kafka.topic":"create","iterations":10,"tasks.max":1}}`,
			code: 201, msg: `"name":"create-{role}"`},
		{name: "exists", method: "POST", path: "/connectors",
			body: `{"name":"create-{role}","config":{"connector.class":"datagen","kafka.topic":"create"}}`,
			code: 409, msg: "Connector create-{role} already exists"},
		{name: "invalid config lists every error", method: "POST", path: "/connectors",
			body: `{"name":"bad-{role}","config":{"connector.class":"datagen","tasks.max":"zero","iterations":"x"}}`,
			code: 400, msg: "Connector configuration is invalid and contains the following 3 error(s):"},
		{name: "unknown plugin", method: "POST", path: "/connectors",
			body: `{"name":"bad-{role}","config":{"connector.class":"com.example.Nope"}}`, code: 400, msg: "com.example.Nope"},
		{name: "name mismatch", method: "POST", path: "/connectors",
			body: `{"name":"a-{role}","config":{"name":"b","connector.class":"datagen","kafka.topic":"t"}}`,
			code: 400, msg: "Connector name configuration (b) doesn't match connector name in the URL (a-{role})"},
		{name: "null value", method: "POST", path: "/connectors",
			body: `{"name":"null-{role}","config":{"connector.class":"datagen","kafka.topic":"t","seed":null}}`,
			code: 400, msg: "Null value can not be supplied as the configuration value. (seed)"},
		{name: "nested value", method: "POST", path: "/connectors",
			body: `{"name":"nested-{role}","config":{"connector.class":"datagen","kafka.topic":{"a":1}}}`,
			code: 400, msg: `the value of "kafka.topic" in config is an object`},
		{name: "missing config", method: "POST", path: "/connectors", body: `{"name":"nocfg-{role}"}`, code: 400, msg: "'config'"},
		{name: "empty name", method: "POST", path: "/connectors",
			body: `{"name":"  ","config":{"connector.class":"datagen","kafka.topic":"t"}}`, code: 400, msg: "String may not be empty"},
		{name: "bad initial state", method: "POST", path: "/connectors",
			body: `{"name":"init-{role}","initial_state":"SLEEPING","config":{"connector.class":"datagen","kafka.topic":"t"}}`,
			code: 400, msg: "initial_state"},
		{name: "config not an object", method: "POST", path: "/connectors", body: `{"name":"x","config":"a=b"}`, code: 400, msg: "config must be an object"},
		{name: "body not an object", method: "POST", path: "/connectors", body: `["x"]`, code: 400, msg: "must be an object"},
		{name: "paused initial state", method: "POST", path: "/connectors",
			body: `{"name":"paused-{role}","initial_state":"paused","config":{"connector.class":"datagen","kafka.topic":"p","iterations":"5"}}`,
			code: 201},
		{name: "stopped initial state", method: "POST", path: "/connectors",
			body: `{"name":"stopped-{role}","initial_state":"STOPPED","config":{"connector.class":"datagen","kafka.topic":"p","iterations":"5"}}`,
			code: 201},
	})
	for _, target := range c.both() {
		// Location points at the worker that was asked, numbers were stored as strings.
		r := call(t, "POST", target.n.url+"/connectors", `{"name":"loc-`+target.role+`","config":{"connector.class":"datagen","kafka.topic":"l","iterations":3}}`)
		if r.code != 201 || r.header.Get("Location") != target.n.url+"/connectors/loc-"+target.role {
			t.Fatalf("create via %s: %s Location %q", target.role, r, r.header.Get("Location"))
		}
		var info ConnectorInfo
		r.json(t, &info)
		if info.Config["iterations"] != "3" || info.Config["name"] != "loc-"+target.role || info.Type != "source" {
			t.Fatalf("created info %+v", info)
		}
		waitState(t, target.n, "paused-"+target.role, "PAUSED")
		waitState(t, target.n, "stopped-"+target.role, "STOPPED")
		waitState(t, target.n, "create-"+target.role, "RUNNING")
	}
}

func TestReadConnector(t *testing.T) {
	c := shared(t)
	createOK(t, c.leader(), "read", map[string]string{"connector.class": "datagen", "kafka.topic": "read", "iterations": "5", "tasks.max": "2"})
	runCases(t, c, []tcase{
		{name: "list", method: "GET", path: "/connectors", code: 200, msg: `"read"`},
		{name: "list expand status", method: "GET", path: "/connectors?expand=status", code: 200, msg: `"read":{"status":{"name":"read","connector":{"state":"RUNNING"`},
		{name: "list expand info", method: "GET", path: "/connectors?expand=info", code: 200, msg: `"read":{"info":{"name":"read"`},
		{name: "list expand both", method: "GET", path: "/connectors?expand=status&expand=info", code: 200, msg: `"type":"source"`},
		{name: "get", method: "GET", path: "/connectors/read", code: 200, msg: `"tasks":[{"connector":"read","task":0},{"connector":"read","task":1}],"type":"source"`},
		{name: "get unknown", method: "GET", path: "/connectors/nope", code: 404, msg: "Connector nope not found"},
		{name: "config", method: "GET", path: "/connectors/read/config", code: 200, msg: `"kafka.topic":"read"`},
		{name: "config unknown", method: "GET", path: "/connectors/nope/config", code: 404, msg: "Connector nope not found"},
		{name: "tasks", method: "GET", path: "/connectors/read/tasks", code: 200, msg: `{"id":{"connector":"read","task":1},"config":{`},
		{name: "tasks unknown", method: "GET", path: "/connectors/nope/tasks", code: 404, msg: "Connector nope not found"},
		{name: "tasks-config", method: "GET", path: "/connectors/read/tasks-config", code: 200, msg: `"read-1":{`},
		{name: "tasks-config unknown", method: "GET", path: "/connectors/nope/tasks-config", code: 404, msg: "Connector nope not found"},
		{name: "status", method: "GET", path: "/connectors/read/status", code: 200, msg: `"type":"source"`},
		{name: "status unknown", method: "GET", path: "/connectors/nope/status", code: 404, msg: "No status found for connector nope"},
		{name: "task status", method: "GET", path: "/connectors/read/tasks/1/status", code: 200, msg: `"id":1,"state":"RUNNING"`},
		{name: "task status unknown task", method: "GET", path: "/connectors/read/tasks/7/status", code: 404, msg: "No status found for task read-7"},
		{name: "task status not a number", method: "GET", path: "/connectors/read/tasks/abc/status", code: 404, msg: "HTTP 404 Not Found"},
		{name: "task status unknown connector", method: "GET", path: "/connectors/nope/tasks/0/status", code: 404, msg: "No status found for task nope-0"},
	})
	// Task configs carry the framework's task.class.
	var tasks []TaskInfo
	call(t, "GET", c.follower().url+"/connectors/read/tasks", "").json(t, &tasks)
	if len(tasks) != 2 || tasks[0].Config["task.class"] == "" {
		t.Fatalf("tasks %+v", tasks)
	}
}

func TestPutAndPatchConfig(t *testing.T) {
	c := shared(t)
	runCases(t, c, []tcase{
		{name: "put creates", method: "PUT", path: "/connectors/put-{role}/config",
			body: `{"connector.class":"datagen","kafka.topic":"put","iterations":"5"}`, code: 201, msg: `"name":"put-{role}"`},
		{name: "put updates", method: "PUT", path: "/connectors/put-{role}/config",
			body: `{"connector.class":"datagen","kafka.topic":"put","iterations":"6","name":"put-{role}"}`, code: 200, msg: `"iterations":"6"`},
		{name: "put name mismatch", method: "PUT", path: "/connectors/put-{role}/config",
			body: `{"connector.class":"datagen","kafka.topic":"put","name":"other"}`, code: 400,
			msg: "Connector name configuration (other) doesn't match connector name in the URL (put-{role})"},
		{name: "put invalid", method: "PUT", path: "/connectors/put-{role}/config",
			body: `{"connector.class":"datagen","tasks.max":"0"}`, code: 400, msg: "contains the following 2 error(s)"},
		{name: "put null", method: "PUT", path: "/connectors/put-{role}/config",
			body: `{"connector.class":"datagen","kafka.topic":null}`, code: 400, msg: "Null value can not be supplied"},
		{name: "put empty body", method: "PUT", path: "/connectors/put-{role}/config", code: 400, msg: "Request body is empty"},
		{name: "patch sets and removes", method: "PATCH", path: "/connectors/put-{role}/config",
			body: `{"seed":42,"iterations":null}`, code: 200, msg: `"seed":"42"`},
		{name: "patch unknown connector", method: "PATCH", path: "/connectors/nope-{role}/config", body: `{"seed":1}`, code: 404,
			msg: "Connector nope-{role} not found"},
		{name: "patch makes config invalid", method: "PATCH", path: "/connectors/put-{role}/config",
			body: `{"kafka.topic":null}`, code: 400, msg: `Missing required configuration "kafka.topic"`},
		{name: "patch name mismatch", method: "PATCH", path: "/connectors/put-{role}/config",
			body: `{"name":"x"}`, code: 400, msg: "doesn't match"},
	})
	for _, target := range c.both() {
		var cfg map[string]string
		call(t, "GET", target.n.url+"/connectors/put-"+target.role+"/config", "").json(t, &cfg)
		want := map[string]string{"connector.class": "datagen", "kafka.topic": "put", "seed": "42", "name": "put-" + target.role}
		if !reflect.DeepEqual(cfg, want) {
			t.Fatalf("config after patch %v, want %v", cfg, want)
		}
	}
}

func TestLifecycle(t *testing.T) {
	c := shared(t)
	for _, target := range c.both() {
		createOK(t, c.leader(), "life-"+target.role, datagenConfig("life"))
	}
	runCases(t, c, []tcase{
		{name: "pause", method: "PUT", path: "/connectors/life-{role}/pause", code: 202},
		{name: "pause again", method: "PUT", path: "/connectors/life-{role}/pause", code: 202},
		{name: "pause unknown", method: "PUT", path: "/connectors/nope/pause", code: 404, msg: "Unknown connector nope"},
		{name: "resume unknown", method: "PUT", path: "/connectors/nope/resume", code: 404, msg: "Unknown connector nope"},
		{name: "stop unknown", method: "PUT", path: "/connectors/nope/stop", code: 404, msg: "Unknown connector nope"},
		{name: "delete unknown", method: "DELETE", path: "/connectors/nope", code: 404, msg: "Connector nope not found"},
		{name: "pause wrong method", method: "POST", path: "/connectors/life-{role}/pause", code: 405},
	})
	for _, target := range c.both() {
		name := "life-" + target.role
		base := target.n.url + "/connectors/" + name
		waitState(t, target.n, name, "PAUSED")
		if r := call(t, "PUT", base+"/resume", ""); r.code != 202 || len(r.body) != 0 {
			t.Fatalf("resume: %s", r)
		}
		waitState(t, target.n, name, "RUNNING")
		if r := call(t, "PUT", base+"/stop", ""); r.code != 204 {
			t.Fatalf("stop: %s", r)
		}
		waitState(t, target.n, name, "STOPPED")
		if r := call(t, "PUT", base+"/stop", ""); r.code != 204 {
			t.Fatalf("stop again: %s", r)
		}
		var info ConnectorInfo
		call(t, "GET", base, "").json(t, &info)
		if len(info.Tasks) != 0 {
			t.Fatalf("stopped connector has tasks: %+v", info)
		}
		// Resume from STOPPED brings the tasks back.
		if r := call(t, "PUT", base+"/resume", ""); r.code != 202 {
			t.Fatalf("resume from stopped: %s", r)
		}
		waitState(t, target.n, name, "RUNNING")
		if r := call(t, "DELETE", base, ""); r.code != 204 {
			t.Fatalf("delete: %s", r)
		}
		// Reads are served from the local stores: eventually consistent.
		eventually(t, 20*time.Second, func() error {
			if r := call(t, "GET", base, ""); r.code != 404 {
				return fmt.Errorf("get after delete: %s", r)
			}
			if r := call(t, "GET", base+"/status", ""); r.code != 404 {
				return fmt.Errorf("status after delete: %s", r)
			}
			return nil
		})
	}
}

func TestRestart(t *testing.T) {
	c := shared(t)
	createOK(t, c.leader(), "rs", map[string]string{"connector.class": "datagen", "kafka.topic": "rs", "iterations": "5", "tasks.max": "4"})
	// With 2 workers and 4 tasks, each worker runs some: every task restart
	// below is executed locally by one worker and forwarded by the other.
	runCases(t, c, []tcase{
		{name: "legacy connector restart", method: "POST", path: "/connectors/rs/restart", code: 204},
		{name: "legacy explicit false", method: "POST", path: "/connectors/rs/restart?includeTasks=false&onlyFailed=no", code: 204},
		{name: "restart unknown", method: "POST", path: "/connectors/nope/restart", code: 404, msg: "Unknown connector: nope"},
		{name: "restart with tasks unknown", method: "POST", path: "/connectors/nope/restart?includeTasks=true", code: 404, msg: "Unknown connector: nope"},
		{name: "task 0 restart", method: "POST", path: "/connectors/rs/tasks/0/restart", code: 204},
		{name: "task 1 restart", method: "POST", path: "/connectors/rs/tasks/1/restart", code: 204},
		{name: "task 2 restart", method: "POST", path: "/connectors/rs/tasks/2/restart", code: 204},
		{name: "task 3 restart", method: "POST", path: "/connectors/rs/tasks/3/restart", code: 204},
		{name: "unknown task restart", method: "POST", path: "/connectors/rs/tasks/9/restart", code: 404, msg: "Unknown task: rs-9"},
		{name: "task restart unknown connector", method: "POST", path: "/connectors/nope/tasks/0/restart", code: 404, msg: "Unknown connector: nope"},
		{name: "task restart bad number", method: "POST", path: "/connectors/rs/tasks/x/restart", code: 404},
		{name: "restart wrong method", method: "GET", path: "/connectors/rs/restart", code: 405},
	})
	// The plan: everything RESTARTING; with onlyFailed nothing (all run).
	for _, target := range c.both() {
		waitState(t, target.n, "rs", "RUNNING")
		r := call(t, "POST", target.n.url+"/connectors/rs/restart?includeTasks=true", "")
		if r.code != 202 {
			t.Fatalf("restart includeTasks via %s: %s", target.role, r)
		}
		var plan runtime.ConnectorStatus
		r.json(t, &plan)
		if plan.Connector.State != runtime.StateRestarting || len(plan.Tasks) != 4 {
			t.Fatalf("plan %s", r)
		}
		for _, ts := range plan.Tasks {
			if ts.State != runtime.StateRestarting {
				t.Fatalf("plan %s", r)
			}
		}
		// The restart runs asynchronously (RESTARTING statuses, then
		// RUNNING); once it is over, onlyFailed restarts nothing.
		eventually(t, 20*time.Second, func() error {
			r := call(t, "POST", target.n.url+"/connectors/rs/restart?includeTasks=TRUE&onlyFailed=true", "")
			if r.code != 202 || strings.Contains(string(r.body), "RESTARTING") || !strings.Contains(string(r.body), "RUNNING") {
				return fmt.Errorf("restart onlyFailed with nothing failed via %s: %s", target.role, r)
			}
			return nil
		})
	}
}

func TestRestartFailedTask(t *testing.T) {
	c := shared(t)
	cfg := map[string]string{"connector.class": "FileStreamSink", "topics": "rsf", "file": "/nonexistent-spur-dir/out.txt"}
	if r := call(t, "POST", c.follower().url+"/connectors", mustJSON(map[string]any{"name": "rsf", "config": cfg})); r.code != 201 {
		t.Fatalf("create: %s", r)
	}
	waitTask := func(n *node, state string) *runtime.ConnectorStatus {
		var st runtime.ConnectorStatus
		eventually(t, 30*time.Second, func() error {
			r := call(t, "GET", n.url+"/connectors/rsf/status", "")
			if r.code != 200 {
				return fmt.Errorf("%s", r)
			}
			r.json(t, &st)
			if len(st.Tasks) != 1 || string(st.Tasks[0].State) != state {
				return fmt.Errorf("%s", r)
			}
			return nil
		})
		return &st
	}
	for _, target := range c.both() {
		st := waitTask(target.n, "FAILED")
		if !strings.Contains(st.Tasks[0].Trace, "does not exist") || st.Connector.State != runtime.StateRunning {
			t.Fatalf("failed status %+v", st)
		}
		r := call(t, "GET", target.n.url+"/connectors/rsf/tasks/0/status", "")
		if r.code != 200 || !strings.Contains(string(r.body), `"trace":"`) {
			t.Fatalf("task status: %s", r)
		}
		r = call(t, "POST", target.n.url+"/connectors/rsf/restart?includeTasks=true&onlyFailed=true", "")
		var plan runtime.ConnectorStatus
		r.json(t, &plan)
		if r.code != 202 || plan.Connector.State != runtime.StateRunning || plan.Tasks[0].State != runtime.StateRestarting || plan.Tasks[0].Trace == "" {
			t.Fatalf("plan via %s: %s", target.role, r)
		}
		// It fails again (the directory still does not exist).
		waitTask(target.n, "FAILED")
		if r := call(t, "POST", target.n.url+"/connectors/rsf/tasks/0/restart", ""); r.code != 204 {
			t.Fatalf("restart failed task via %s: %s", target.role, r)
		}
	}
}

func TestRestartPlanRules(t *testing.T) {
	st := &runtime.ConnectorStatus{Name: "x", Type: "sink", Tasks: []runtime.TaskStatus{
		{ID: 0, State: runtime.StateRunning}, {ID: 1, State: runtime.StateFailed, Trace: "boom"}}}
	st.Connector.State = runtime.StateFailed
	for _, tc := range []struct {
		include, only bool
		conn          runtime.State
		tasks         []runtime.State
	}{
		{false, true, runtime.StateRestarting, []runtime.State{runtime.StateRunning, runtime.StateFailed}},
		{true, false, runtime.StateRestarting, []runtime.State{runtime.StateRestarting, runtime.StateRestarting}},
		{true, true, runtime.StateRestarting, []runtime.State{runtime.StateRunning, runtime.StateRestarting}},
	} {
		p := restartPlan(st, tc.include, tc.only)
		if p.Connector.State != tc.conn || p.Tasks[0].State != tc.tasks[0] || p.Tasks[1].State != tc.tasks[1] || p.Tasks[1].Trace != "boom" {
			t.Errorf("include=%v only=%v: %+v", tc.include, tc.only, p)
		}
	}
	if st.Tasks[1].State != runtime.StateFailed {
		t.Fatal("the plan changed the status it was built from")
	}
	running := *st
	running.Connector.State = runtime.StateRunning
	if p := restartPlan(&running, true, true); p.Connector.State != runtime.StateRunning {
		t.Errorf("onlyFailed restarted a running connector: %+v", p)
	}
}

func TestForwardHops(t *testing.T) {
	c := shared(t)
	f := c.follower()
	cfg := `{"name":"hop","config":{"connector.class":"datagen","kafka.topic":"hop","iterations":"1"}}`
	// A follower that receives forward=false cannot forward again: 409.
	r := call(t, "POST", f.url+"/connectors?forward=false", cfg)
	if r.code != 409 || r.errMsg(t).Message != msgConflict {
		t.Fatalf("forward=false on follower: %s", r)
	}
	// forward=true: one more hop (to the leader, with forward=false) is allowed.
	r = call(t, "POST", f.url+"/connectors?forward=true", cfg)
	if r.code != 201 {
		t.Fatalf("forward=true on follower: %s", r)
	}
	// The leader executes writes whatever forward says.
	r = call(t, "DELETE", c.leader().url+"/connectors/hop?forward=false", "")
	if r.code != 204 {
		t.Fatalf("delete on leader with forward=false: %s", r)
	}
	// Unknown query parameters are ignored.
	if r := call(t, "GET", f.url+"/connectors?validated=true", ""); r.code != 200 {
		t.Fatalf("unknown query parameter: %s", r)
	}
}

func TestErrorMapping(t *testing.T) {
	for _, tc := range []struct {
		err  error
		code int
		msg  string
	}{
		{&runtime.NotLeaderError{}, 409, "Cannot complete request momentarily due to no known leader URL, likely because a rebalance was underway."},
		{&runtime.NotLeaderError{LeaderURL: "http://x:1"}, 409, msgConflict},
		{runtime.ErrNotReady, 409, "still starting"},
		{fmt.Errorf("Connector a not found: %w", runtime.ErrNotFound), 404, "Connector a not found"},
		{fmt.Errorf("Connector a already exists: %w", runtime.ErrExists), 409, "Connector a already exists"},
		{fmt.Errorf("must be STOPPED: %w", runtime.ErrBadRequest), 400, "must be STOPPED"},
		{runtime.ErrNotOwner, 409, msgConflict},
		{fmt.Errorf("Topic tracking is disabled.: %w", runtime.ErrForbidden), 403, "Topic tracking is disabled."},
		{fmt.Errorf("boom"), 500, "boom"},
	} {
		code, msg := httpError(tc.err)
		if code != tc.code || !strings.Contains(msg, tc.msg) || strings.HasSuffix(msg, ": not found") || strings.HasSuffix(msg, ": forbidden") {
			t.Errorf("%v: %d %q, want %d %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
	// No known leader: the request is not forwarded anywhere.
	srv := &Server{}
	if err := srv.orForward(nil, nil, &runtime.NotLeaderError{}); err == nil || !strings.Contains(err.Error(), "no known leader URL") {
		t.Fatalf("no leader: %v", err)
	}
	_ = http.StatusOK
}

// A worker that loses its Kafka cluster reports itself unhealthy (500) once
// it has not heard from the group coordinator for a session timeout, as a
// Kafka Connect worker does when its herder cannot take requests.
func TestHealthTurnsUnhealthyWhenKafkaIsGone(t *testing.T) {
	c, err := startCluster(1, nil) // session.timeout.ms=6000
	if err != nil {
		t.Fatal(err)
	}
	n := c.nodes[0]
	if r := call(t, "GET", n.url+"/health", ""); r.code != 200 {
		t.Fatalf("health with Kafka up: %s", r)
	}
	c.kafka.Close()
	defer func() {
		n.cancel()
		select {
		case <-n.done:
		case <-time.After(30 * time.Second):
		}
	}()
	killed := time.Now()
	var st WorkerStatus
	eventually(t, 30*time.Second, func() error {
		r := call(t, "GET", n.url+"/health", "")
		if r.code != 500 {
			return fmt.Errorf("health %s", r)
		}
		r.json(t, &st)
		return nil
	})
	// The last response came up to a heartbeat (300 ms, more on a loaded
	// machine) before Kafka closed; what matters is that a worker is not
	// called unhealthy at the first missed heartbeat.
	if waited := time.Since(killed); waited < 4*time.Second {
		t.Fatalf("unhealthy after %v, before the 6 s session timeout", waited)
	}
	if st.Status != "unhealthy" || !strings.HasPrefix(st.Message, "Worker was unable to handle this request and may be unable to handle other requests. No response from the group coordinator") || !strings.Contains(st.Message, "session.timeout.ms=6000") {
		t.Fatalf("unhealthy status: %+v", st)
	}
	t.Logf("unhealthy %v after Kafka went away: %s", time.Since(killed).Round(100*time.Millisecond), st.Message)
}

// HEAD answers without a body, so a keep-alive connection stays in step:
// the response to the next request on it is that request's.
func TestHeadKeepsTheConnectionInStep(t *testing.T) {
	c := shared(t)
	addr := strings.TrimPrefix(c.leader().url, "http://")
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(conn, "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\nGET /connectors/nope HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(conn)
	head, err := http.ReadResponse(rd, &http.Request{Method: "HEAD"})
	if err != nil || head.StatusCode != 200 {
		t.Fatalf("HEAD /health: %v %v", head, err)
	}
	get, err := http.ReadResponse(rd, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("the response after HEAD does not parse (a HEAD body was sent?): %v", err)
	}
	defer get.Body.Close()
	body, _ := io.ReadAll(get.Body)
	if get.StatusCode != 404 || !strings.Contains(string(body), "Connector nope not found") {
		t.Fatalf("GET after HEAD: %d %s", get.StatusCode, body)
	}
}
