package api

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// offsetsOf reads GET offsets through node n.
func offsetsOf(t *testing.T, n *node, name string) string {
	t.Helper()
	r := call(t, "GET", n.url+"/connectors/"+name+"/offsets", "")
	if r.code != 200 {
		t.Fatalf("get offsets: %s", r)
	}
	return string(r.body)
}

func TestSourceOffsets(t *testing.T) {
	c := shared(t)
	createOK(t, c.follower(), "offs-src", map[string]string{"connector.class": "datagen", "kafka.topic": "offs", "iterations": "20"})
	eventually(t, 20*time.Second, func() error {
		if b := offsetsOf(t, c.follower(), "offs-src"); !strings.Contains(b, `"offset":{"seq":20}`) {
			return fmt.Errorf("offsets %s", b)
		}
		return nil
	})
	part := `{"datagen.task":0}`
	if b := offsetsOf(t, c.leader(), "offs-src"); !strings.Contains(b, `"partition":`) {
		t.Fatalf("offsets %s", b)
	}
	running := "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/offs-src/stop' endpoint"
	var st struct {
		Offsets []struct {
			Partition map[string]any `json:"partition"`
		} `json:"offsets"`
	}
	call(t, "GET", c.leader().url+"/connectors/offs-src/offsets", "").json(t, &st)
	if len(st.Offsets) != 1 {
		t.Fatalf("offsets %+v", st)
	}
	part = mustJSON(st.Offsets[0].Partition)
	alter := func(off string) string { return `{"offsets":[{"partition":` + part + `,"offset":` + off + `}]}` }
	runCases(t, c, []tcase{
		{name: "alter while running", method: "PATCH", path: "/connectors/offs-src/offsets", body: alter(`{"seq":5}`), code: 400, msg: running},
		{name: "reset while running", method: "DELETE", path: "/connectors/offs-src/offsets", code: 400, msg: running},
		{name: "get unknown", method: "GET", path: "/connectors/nope/offsets", code: 404, msg: "Connector nope not found"},
		{name: "alter unknown", method: "PATCH", path: "/connectors/nope/offsets", body: alter(`{"seq":5}`), code: 404, msg: "Connector nope not found"},
		{name: "reset unknown", method: "DELETE", path: "/connectors/nope/offsets", code: 404, msg: "Connector nope not found"},
		{name: "alter empty body", method: "PATCH", path: "/connectors/offs-src/offsets", code: 400, msg: "Partitions / offsets need to be provided for an alter offsets request"},
		{name: "alter no offsets", method: "PATCH", path: "/connectors/offs-src/offsets", body: `{"offsets":[]}`, code: 400, msg: "Partitions / offsets need to be provided"},
		{name: "alter malformed", method: "PATCH", path: "/connectors/offs-src/offsets", body: `{"offsets":[{"partition":"p"}]}`, code: 400, msg: "Malformed JSON"},
	})
	if r := call(t, "PUT", c.follower().url+"/connectors/offs-src/stop", ""); r.code != 204 {
		t.Fatalf("stop: %s", r)
	}
	waitState(t, c.leader(), "offs-src", "STOPPED")
	waitState(t, c.follower(), "offs-src", "STOPPED")
	runCases(t, c, []tcase{
		{name: "alter nested offset value", method: "PATCH", path: "/connectors/offs-src/offsets", body: alter(`{"seq":{"a":1}}`), code: 400, msg: "must be primitives"},
		{name: "alter", method: "PATCH", path: "/connectors/offs-src/offsets", body: alter(`{"seq":5}`), code: 200,
			msg: `{"message":"The Connect framework-managed offsets for this connector have been altered successfully.`},
	})
	for _, n := range []*node{c.leader(), c.follower()} {
		eventually(t, 10*time.Second, func() error {
			if b := offsetsOf(t, n, "offs-src"); !strings.Contains(b, `"offset":{"seq":5}`) {
				return fmt.Errorf("offsets after alter %s", b)
			}
			return nil
		})
	}
	// A null offset removes the partition; so does a reset.
	if r := call(t, "PATCH", c.follower().url+"/connectors/offs-src/offsets", alter("null")); r.code != 200 {
		t.Fatalf("alter to null: %s", r)
	}
	if b := offsetsOf(t, c.leader(), "offs-src"); b != `{"offsets":[]}` {
		t.Fatalf("offsets after null alter: %s", b)
	}
	call(t, "PATCH", c.leader().url+"/connectors/offs-src/offsets", alter(`{"seq":7}`))
	r := call(t, "DELETE", c.follower().url+"/connectors/offs-src/offsets", "")
	if r.code != 200 || !strings.Contains(string(r.body), "have been reset successfully") {
		t.Fatalf("reset: %s", r)
	}
	for _, n := range []*node{c.leader(), c.follower()} {
		eventually(t, 10*time.Second, func() error {
			if b := offsetsOf(t, n, "offs-src"); b != `{"offsets":[]}` {
				return fmt.Errorf("offsets after reset %s", b)
			}
			return nil
		})
	}
}

func TestSinkOffsetsAndTopics(t *testing.T) {
	c := shared(t)
	createOK(t, c.leader(), "offs-gen", map[string]string{"connector.class": "datagen", "kafka.topic": "offs-sink-in", "iterations": "30"})
	createOK(t, c.follower(), "offs-snk", fileSinkConfig(t, "offs-sink-in"))
	want := `{"offsets":[{"partition":{"kafka_partition":0,"kafka_topic":"offs-sink-in"},"offset":{"kafka_offset":30}}]}`
	eventually(t, 20*time.Second, func() error {
		if b := offsetsOf(t, c.follower(), "offs-snk"); b != want {
			return fmt.Errorf("sink offsets %s", b)
		}
		return nil
	})
	runCases(t, c, []tcase{
		{name: "topics of a sink", method: "GET", path: "/connectors/offs-snk/topics", code: 200, msg: `{"offs-snk":{"topics":["offs-sink-in"]}}`},
		{name: "topics of a source", method: "GET", path: "/connectors/offs-gen/topics", code: 200, msg: `{"offs-gen":{"topics":["offs-sink-in"]}}`},
		{name: "topics of unknown", method: "GET", path: "/connectors/nope/topics", code: 200, msg: `{"nope":{"topics":[]}}`},
		{name: "alter running sink", method: "PATCH", path: "/connectors/offs-snk/offsets",
			body: `{"offsets":[{"partition":{"kafka_topic":"offs-sink-in","kafka_partition":0},"offset":{"kafka_offset":3}}]}`, code: 400, msg: "STOPPED"},
	})
	// Reset forgets the active topics on every worker.
	if r := call(t, "PUT", c.follower().url+"/connectors/offs-gen/topics/reset", ""); r.code != 202 {
		t.Fatalf("topics reset: %s", r)
	}
	for _, n := range []*node{c.leader(), c.follower()} {
		eventually(t, 10*time.Second, func() error {
			if r := call(t, "GET", n.url+"/connectors/offs-gen/topics", ""); strings.TrimSpace(string(r.body)) != `{"offs-gen":{"topics":[]}}` {
				return fmt.Errorf("after reset: %s", r)
			}
			return nil
		})
	}
	if r := call(t, "PUT", c.leader().url+"/connectors/offs-snk/stop", ""); r.code != 204 {
		t.Fatalf("stop: %s", r)
	}
	waitState(t, c.follower(), "offs-snk", "STOPPED")
	runCases(t, c, []tcase{
		{name: "sink partition without topic", method: "PATCH", path: "/connectors/offs-snk/offsets",
			body: `{"offsets":[{"partition":{"kafka_partition":0},"offset":{"kafka_offset":3}}]}`, code: 400, msg: "must contain the keys 'kafka_topic' and 'kafka_partition'"},
		{name: "sink partition not a number", method: "PATCH", path: "/connectors/offs-snk/offsets",
			body: `{"offsets":[{"partition":{"kafka_topic":"offs-sink-in","kafka_partition":"zero"},"offset":{"kafka_offset":3}}]}`, code: 400, msg: "Partition values for sink connectors need to be integers"},
		{name: "sink offset without kafka_offset", method: "PATCH", path: "/connectors/offs-snk/offsets",
			body: `{"offsets":[{"partition":{"kafka_topic":"offs-sink-in","kafka_partition":0},"offset":{"x":3}}]}`, code: 400, msg: "kafka_offset"},
	})
	// The group's member may take a moment to leave after STOPPED: a busy
	// group is a 500, as in Kafka Connect; retry until it is empty.
	eventually(t, 20*time.Second, func() error {
		r := call(t, "PATCH", c.follower().url+"/connectors/offs-snk/offsets",
			`{"offsets":[{"partition":{"kafka_topic":"offs-sink-in","kafka_partition":"0"},"offset":{"kafka_offset":3}}]}`)
		if r.code != 200 {
			return fmt.Errorf("alter sink: %s", r)
		}
		return nil
	})
	want3 := strings.Replace(want, `"kafka_offset":30`, `"kafka_offset":3`, 1)
	if b := offsetsOf(t, c.leader(), "offs-snk"); b != want3 {
		t.Fatalf("sink offsets after alter %s", b)
	}
	if r := call(t, "DELETE", c.follower().url+"/connectors/offs-snk/offsets", ""); r.code != 200 || !strings.Contains(string(r.body), "reset successfully") {
		t.Fatalf("reset sink: %s", r)
	}
	if b := offsetsOf(t, c.leader(), "offs-snk"); b != `{"offsets":[]}` {
		t.Fatalf("sink offsets after reset %s", b)
	}
	// Reset again: the group is gone, which is fine.
	if r := call(t, "DELETE", c.leader().url+"/connectors/offs-snk/offsets", ""); r.code != 200 {
		t.Fatalf("second reset: %s", r)
	}
}
