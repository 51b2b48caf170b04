package api

import (
	"fmt"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/runtime"
)

// TestTerraformSequence replays what the Terraform provider
// (go-kafka-connect) does, over real HTTP, through the follower: create,
// poll GET until 200, PUT an update then poll GET /config until it equals
// the submitted map plus name, status, pause, resume, delete then poll
// status until 404.
func TestTerraformSequence(t *testing.T) {
	c := shared(t)
	for _, target := range c.both() {
		t.Run(target.role, func(t *testing.T) {
			base := target.n.url
			name := "tf-" + target.role
			cfg := map[string]string{"connector.class": "io.confluent.kafka.connect.datagen.DatagenConnector", "kafka.topic": "tf", "iterations": "10", "tasks.max": "1"}
			r := call(t, "POST", base+"/connectors", mustJSON(map[string]any{"name": name, "config": cfg}))
			if r.code != 201 {
				t.Fatalf("create: %s", r)
			}
			eventually(t, 20*time.Second, func() error {
				if r := call(t, "GET", base+"/connectors/"+name, ""); r.code != 200 {
					return fmt.Errorf("get: %s", r)
				}
				return nil
			})
			cfg["iterations"] = "20"
			cfg["seed"] = "7"
			r = call(t, "PUT", base+"/connectors/"+name+"/config", mustJSON(cfg))
			if r.code != 200 {
				t.Fatalf("update: %s", r)
			}
			want := map[string]string{"name": name}
			for k, v := range cfg {
				want[k] = v
			}
			eventually(t, 20*time.Second, func() error {
				var got map[string]string
				r := call(t, "GET", base+"/connectors/"+name+"/config", "")
				r.json(t, &got)
				if !reflect.DeepEqual(got, want) {
					return fmt.Errorf("config %v, want %v", got, want)
				}
				return nil
			})
			waitState(t, target.n, name, "RUNNING")
			if r := call(t, "PUT", base+"/connectors/"+name+"/pause", ""); r.code != 202 {
				t.Fatalf("pause: %s", r)
			}
			waitState(t, target.n, name, "PAUSED")
			if r := call(t, "PUT", base+"/connectors/"+name+"/resume", ""); r.code != 202 {
				t.Fatalf("resume: %s", r)
			}
			waitState(t, target.n, name, "RUNNING")
			if r := call(t, "DELETE", base+"/connectors/"+name, ""); r.code != 204 {
				t.Fatalf("delete: %s", r)
			}
			eventually(t, 20*time.Second, func() error {
				if r := call(t, "GET", base+"/connectors/"+name+"/status", ""); r.code != 404 {
					return fmt.Errorf("status after delete: %s", r)
				}
				if r := call(t, "GET", base+"/connectors/"+name, ""); r.code != 404 {
					return fmt.Errorf("get after delete: %s", r)
				}
				return nil
			})
		})
	}
}

// TestKcctlAndStrimziCalls checks the calls kcctl and Strimzi make, with
// the paths and shapes they parse.
func TestKcctlAndStrimziCalls(t *testing.T) {
	c := shared(t)
	f := c.follower().url
	// Strimzi: PUT config creates (201) then updates (200).
	cfg := `{"connector.class":"datagen","kafka.topic":"kc","iterations":"5"}`
	if r := call(t, "PUT", f+"/connectors/kc/config", cfg); r.code != 201 || r.header.Get("Location") == "" {
		t.Fatalf("put create: %s", r)
	}
	if r := call(t, "PUT", f+"/connectors/kc/config", cfg); r.code != 200 {
		t.Fatalf("put update: %s", r)
	}
	waitState(t, c.follower(), "kc", "RUNNING")
	for _, path := range []string{"/", "/connector-plugins?connectorsOnly=true", "/connector-plugins/DatagenConnector/config",
		"/connectors/", "/connectors?expand=status&expand=info", "/connectors/kc/config", "/connectors/kc/status",
		"/connectors/kc/topics", "/connectors/kc/offsets", "/connectors/kc/tasks-config", "/admin/loggers/"} {
		if r := call(t, "GET", f+path, ""); r.code != 200 {
			t.Errorf("GET %s: %s", path, r)
		}
	}
	var expanded map[string]struct {
		Status *runtime.ConnectorStatus `json:"status"`
		Info   *ConnectorInfo           `json:"info"`
	}
	call(t, "GET", f+"/connectors?expand=status&expand=info", "").json(t, &expanded)
	if e := expanded["kc"]; e.Status == nil || e.Info == nil || e.Info.Type != "source" || e.Status.Connector.State != "RUNNING" {
		t.Fatalf("expanded %+v", expanded)
	}
	if r := call(t, "POST", f+"/connectors/kc/restart", ""); r.code != 204 {
		t.Fatalf("restart: %s", r)
	}
	if r := call(t, "POST", f+"/connectors/kc/restart?includeTasks=true&onlyFailed=false", ""); r.code != 202 {
		t.Fatalf("restart with params: %s", r)
	}
	if r := call(t, "DELETE", f+"/connectors/kc", ""); r.code != 204 {
		t.Fatalf("delete: %s", r)
	}
}

var sampleLine = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?[0-9.e+Inf]+$`)

func TestMetrics(t *testing.T) {
	c := shared(t)
	createOK(t, c.leader(), "met", map[string]string{"connector.class": "datagen", "kafka.topic": "met", "iterations": "30"})
	var st runtime.ConnectorStatus
	call(t, "GET", c.leader().url+"/connectors/met/status", "").json(t, &st)
	owner, other := c.leader(), c.follower()
	if st.Tasks[0].WorkerID != owner.w.WorkerID() {
		owner, other = other, owner
	}
	eventually(t, 20*time.Second, func() error {
		r := call(t, "GET", owner.url+"/metrics", "", "Accept", "text/plain")
		if r.code != 200 || r.header.Get("Content-Type") != metricsContentType {
			return fmt.Errorf("metrics: %d %v", r.code, r.header)
		}
		body := string(r.body)
		for _, want := range []string{
			`spur_task_records_in_total{connector="met",task="0"} 30`,
			`spur_task_records_out_total{connector="met",task="0"} 30`,
			`spur_task_state{connector="met",task="0",state="RUNNING"} 1`,
			`spur_task_state{connector="met",task="0",state="FAILED"} 0`,
			`spur_task_put_latency_seconds_count{connector="met",task="0"} `,
			"spur_worker_ready 1",
		} {
			if !strings.Contains(body, want) {
				return fmt.Errorf("metrics lack %q", want)
			}
		}
		for _, l := range strings.Split(body, "\n") {
			if l != "" && !strings.HasPrefix(l, "# ") && !sampleLine.MatchString(l) {
				return fmt.Errorf("not a Prometheus sample line: %q", l)
			}
		}
		return nil
	})
	r := call(t, "GET", other.url+"/metrics", "")
	if strings.Contains(string(r.body), `spur_task_records_in_total{connector="met",task="0"}`) {
		t.Fatalf("a worker reports a task it does not run")
	}
	if got := escapeLabel("a\"b\\c\nd"); got != `a\"b\\c\nd` {
		t.Fatalf("escape %q", got)
	}
}
