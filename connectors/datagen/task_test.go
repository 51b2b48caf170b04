package datagen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// parse is what the runtime does with a connector config: the spec's
// checks, then the connector's own.
func parse(t *testing.T, raw map[string]string) connect.Config {
	t.Helper()
	cfg, errs := spec.Parse(raw)
	errs = append(errs, connector{}.Validate(cfg)...)
	if len(errs) > 0 {
		t.Fatalf("config %v: %v", raw, errs)
	}
	return cfg
}

// startTasks runs TaskConfigs and starts one task per config, each with
// its own offset store, as the runtime would.
func startTasks(t *testing.T, raw map[string]string, maxTasks int) ([]*task, []*connecttest.SourceContext) {
	t.Helper()
	cfgs, err := connector{}.TaskConfigs(parse(t, raw), maxTasks)
	if err != nil {
		t.Fatal(err)
	}
	var tasks []*task
	var ctxs []*connecttest.SourceContext
	for i, c := range cfgs {
		sc := &connecttest.SourceContext{Name: "gen", TaskNum: i, Log: quiet}
		tasks = append(tasks, startTask(t, c, sc))
		ctxs = append(ctxs, sc)
	}
	return tasks, ctxs
}

func startTask(t *testing.T, raw map[string]string, sc *connecttest.SourceContext) *task {
	t.Helper()
	tk := newTask()
	if err := tk.Start(context.Background(), parse(t, raw), sc); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tk.Stop(context.Background()) })
	return tk
}

// drain polls until the task has nothing more to give within a short wait,
// which for a finished share is immediately.
func drain(t *testing.T, tk *task) []*connect.Record {
	t.Helper()
	var all []*connect.Record
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, err := tk.Poll(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

// commitThroughJSON stores a record's source offset the way the runtime
// does after Kafka acked it: through the offsets topic, as JSON.
func commitThroughJSON(sc *connecttest.SourceContext, r *connect.Record) {
	b, _ := json.Marshal(r.SourceOffset)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var off map[string]any
	_ = dec.Decode(&off)
	sc.SetOffset(r.SourcePartition, off)
}

func TestIterationsAreSplitExactlyAcrossTasks(t *testing.T) {
	for _, tc := range []struct {
		iterations, maxTasks int
		wantTasks            int
		wantShares           []int
	}{
		{iterations: 10, maxTasks: 3, wantTasks: 3, wantShares: []int{4, 3, 3}},
		{iterations: 1000, maxTasks: 1, wantTasks: 1, wantShares: []int{1000}},
		{iterations: 7, maxTasks: 7, wantTasks: 7, wantShares: []int{1, 1, 1, 1, 1, 1, 1}},
		{iterations: 2, maxTasks: 4, wantTasks: 2, wantShares: []int{1, 1}}, // no task without work
		{iterations: 1234, maxTasks: 4, wantTasks: 4, wantShares: []int{309, 309, 308, 308}},
	} {
		t.Run(fmt.Sprintf("%d over %d tasks", tc.iterations, tc.maxTasks), func(t *testing.T) {
			tasks, _ := startTasks(t, map[string]string{"kafka.topic": "events", "iterations": fmt.Sprint(tc.iterations), "batch.size": "100"}, tc.maxTasks)
			if len(tasks) != tc.wantTasks {
				t.Fatalf("%d tasks, want %d", len(tasks), tc.wantTasks)
			}
			ids := map[string]bool{}
			for i, tk := range tasks {
				recs := drain(t, tk)
				if len(recs) != tc.wantShares[i] {
					t.Errorf("task %d generated %d, want %d", i, len(recs), tc.wantShares[i])
				}
				for _, r := range recs {
					v, _ := r.Value.Value()
					ids[v.(map[string]any)["event_id"].(string)] = true
				}
			}
			if len(ids) != tc.iterations {
				t.Fatalf("%d distinct events in total, want %d", len(ids), tc.iterations)
			}
		})
	}
}

func TestRecordsCarryKeyTopicAndSourcePosition(t *testing.T) {
	tasks, _ := startTasks(t, map[string]string{"kafka.topic": "events", "iterations": "20"}, 2)
	recs := drain(t, tasks[1])
	for i, r := range recs {
		v, err := r.Value.Value()
		if err != nil {
			t.Fatal(err)
		}
		if r.Topic != "events" || r.Partition != -1 || r.Timestamp.IsZero() {
			t.Fatalf("record %d: topic %q partition %d timestamp %v", i, r.Topic, r.Partition, r.Timestamp)
		}
		if r.Key.Format() != connect.FormatString || r.Value.Format() != connect.FormatJSON {
			t.Fatalf("key %v, value %v", r.Key.Format(), r.Value.Format())
		}
		if key := r.Key.String(); key != v.(map[string]any)["user_id"].(json.Number).String() {
			t.Fatalf("key %s is not the user_id of %s", key, r.Value.String())
		}
		if r.SourcePartition["task"] != 1 || r.SourceOffset["seq"] != int64(i+1) {
			t.Fatalf("record %d: partition %v offset %v", i, r.SourcePartition, r.SourceOffset)
		}
	}
}

func TestCompactShapeProducesCompactEvents(t *testing.T) {
	tasks, _ := startTasks(t, map[string]string{"kafka.topic": "events", "iterations": "50", "seed": "4", "event.shape": "compact"}, 1)
	for i, r := range drain(t, tasks[0]) {
		want, _ := AppendCompactEvent(nil, 4, 0, int64(i))
		if got := r.Value.String(); got != string(want) {
			t.Fatalf("record %d: %s, want %s", i, got, want)
		}
	}
}

func TestTasksWithTheSameSeedGenerateTheSameRecords(t *testing.T) {
	cfg := map[string]string{"kafka.topic": "events", "iterations": "300", "seed": "99", "batch.size": "64"}
	a, _ := startTasks(t, cfg, 2)
	b, _ := startTasks(t, cfg, 2)
	ra, rb := drain(t, a[1]), drain(t, b[1])
	if len(ra) != len(rb) {
		t.Fatalf("%d vs %d records", len(ra), len(rb))
	}
	for i := range ra {
		if ra[i].Value.String() != rb[i].Value.String() || ra[i].Key.String() != rb[i].Key.String() {
			t.Fatalf("record %d differs:\n%s\n%s", i, ra[i].Value.String(), rb[i].Value.String())
		}
	}
	cfg["seed"] = "100"
	c, _ := startTasks(t, cfg, 2)
	if rc := drain(t, c[1]); rc[0].Value.String() == ra[0].Value.String() {
		t.Fatal("another seed generated the same first event")
	}
}

// A task that stops with records polled but not yet acked by Kafka resumes
// from the last committed offset: the unacked records are generated again,
// identical, and the total over both runs is exactly the share.
func TestRestartContinuesFromTheCommittedOffset(t *testing.T) {
	cfg := map[string]string{"kafka.topic": "events", "iterations": "1000", "batch.size": "100"}
	reference := func() []*connect.Record {
		tasks, _ := startTasks(t, cfg, 3)
		return drain(t, tasks[2])
	}()
	for _, tc := range []struct {
		name   string
		commit func(sc *connecttest.SourceContext, r *connect.Record)
	}{
		{"offset through the JSON offsets topic (json.Number)", commitThroughJSON},
		{"offset decoded as float64", func(sc *connecttest.SourceContext, r *connect.Record) {
			sc.SetOffset(r.SourcePartition, map[string]any{"seq": float64(r.SourceOffset["seq"].(int64))})
		}},
		{"offset as int", func(sc *connecttest.SourceContext, r *connect.Record) {
			sc.SetOffset(r.SourcePartition, map[string]any{"seq": int(r.SourceOffset["seq"].(int64))})
		}},
		{"offset as the record carried it (int64)", func(sc *connecttest.SourceContext, r *connect.Record) {
			sc.SetOffset(r.SourcePartition, r.SourceOffset)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfgs, _ := connector{}.TaskConfigs(parse(t, cfg), 3)
			sc := &connecttest.SourceContext{Name: "gen", TaskNum: 2, Log: quiet}
			first := startTask(t, cfgs[2], sc)
			var polled []*connect.Record
			for len(polled) < 200 {
				recs, err := first.Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				polled = append(polled, recs...)
			}
			acked := polled[:150] // Kafka acked these; 50 were in flight at the crash
			for _, r := range acked {
				tc.commit(sc, r)
			}
			first.Stop(context.Background())

			second := startTask(t, cfgs[2], sc)
			rest := drain(t, second)
			got := append(append([]*connect.Record(nil), acked...), rest...)
			if len(got) != len(reference) {
				t.Fatalf("acked %d + resumed %d = %d records, want exactly %d", len(acked), len(rest), len(got), len(reference))
			}
			for i := range got {
				if got[i].Value.String() != reference[i].Value.String() {
					t.Fatalf("record %d differs from an uninterrupted run:\n%s\n%s", i, got[i].Value.String(), reference[i].Value.String())
				}
			}
		})
	}
}

func TestRestartRejectsAnUnreadableOffset(t *testing.T) {
	for _, off := range []map[string]any{{"seq": "12"}, {"seq": -1}, {"seq": 1.5}, {"other": 1}, {"seq": json.Number("x")}} {
		sc := &connecttest.SourceContext{Name: "gen", Log: quiet}
		sc.SetOffset(map[string]any{"task": 0}, off)
		err := newTask().Start(context.Background(), parse(t, map[string]string{"kafka.topic": "events"}), sc)
		if err == nil || !strings.Contains(err.Error(), "seq") {
			t.Errorf("offset %v: error %v, want one naming seq", off, err)
		}
	}
}

func TestPacingIsRoughlyHonoured(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cfg      map[string]string
		records  int
		min, max time.Duration // wide margins: this runs on loaded CI machines under -race
	}{
		{"rate 200/s", map[string]string{"rate": "200"}, 100, 300 * time.Millisecond, 3 * time.Second},
		{"max.interval 20ms averages 10ms", map[string]string{"max.interval": "20"}, 50, 200 * time.Millisecond, 3 * time.Second},
		{"rate wins over max.interval", map[string]string{"rate": "200", "max.interval": "1000"}, 50, 100 * time.Millisecond, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]string{"kafka.topic": "events", "batch.size": "10"}
			for k, v := range tc.cfg {
				raw[k] = v
			}
			tasks, _ := startTasks(t, raw, 1)
			cpu0 := cpuTime()
			start := time.Now()
			got := 0
			for got < tc.records {
				recs, err := tasks[0].Poll(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(recs) == 0 {
					t.Fatal("a paced Poll returned nothing although nothing cancelled it: it should wait instead")
				}
				got += len(recs)
			}
			elapsed := time.Since(start)
			if elapsed < tc.min || elapsed > tc.max {
				t.Errorf("%d records took %v, want between %v and %v", got, elapsed, tc.min, tc.max)
			}
			if cpu := cpuTime() - cpu0; cpu > elapsed/2 {
				t.Errorf("pacing used %v of CPU in %v: busy waiting?", cpu, elapsed)
			}
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func TestUnpacedPollReturnsFullBatches(t *testing.T) {
	tasks, _ := startTasks(t, map[string]string{"kafka.topic": "events", "batch.size": "250"}, 1)
	recs, err := tasks[0].Poll(context.Background())
	if err != nil || len(recs) != 250 {
		t.Fatalf("%d records, %v; want a full batch of 250", len(recs), err)
	}
}

func TestWaitingPollsEndOnCancelAndStop(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  map[string]string
		end  func(cancel context.CancelFunc, tk *task)
	}{
		{"slow rate, cancelled", map[string]string{"rate": "0.1"}, func(c context.CancelFunc, _ *task) { c() }},
		{"slow rate, stopped", map[string]string{"rate": "0.1"}, func(_ context.CancelFunc, tk *task) { tk.Stop(context.Background()) }},
		{"share done, cancelled", map[string]string{"iterations": "1"}, func(c context.CancelFunc, _ *task) { c() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]string{"kafka.topic": "events"}
			for k, v := range tc.cfg {
				raw[k] = v
			}
			tasks, _ := startTasks(t, raw, 1)
			if recs, _ := tasks[0].Poll(context.Background()); len(recs) != 1 {
				t.Fatalf("first poll gave %d records, want 1", len(recs))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, func() { tc.end(cancel, tasks[0]) })
			start := time.Now()
			recs, err := tasks[0].Poll(ctx)
			if err != nil || len(recs) != 0 {
				t.Fatalf("Poll returned %d records, %v; want nothing", len(recs), err)
			}
			if d := time.Since(start); d > 900*time.Millisecond {
				t.Fatalf("Poll took %v to notice", d)
			}
		})
	}
}

func TestValidationNamesTheKey(t *testing.T) {
	for _, tc := range []struct {
		raw map[string]string
		key string
	}{
		{map[string]string{}, "kafka.topic"},
		{map[string]string{"kafka.topic": "bad topic"}, "kafka.topic"},
		{map[string]string{"kafka.topic": "t", "iterations": "0"}, "iterations"},
		{map[string]string{"kafka.topic": "t", "iterations": "-5"}, "iterations"},
		{map[string]string{"kafka.topic": "t", "iterations": "many"}, "iterations"},
		{map[string]string{"kafka.topic": "t", "rate": "-1"}, "rate"},
		{map[string]string{"kafka.topic": "t", "rate": "NaN"}, "rate"},
		{map[string]string{"kafka.topic": "t", "max.interval": "-1"}, "max.interval"},
		{map[string]string{"kafka.topic": "t", "seed": "1.5"}, "seed"},
		{map[string]string{"kafka.topic": "t", "batch.size": "0"}, "batch.size"},
		{map[string]string{"kafka.topic": "t", "event.time": "yesterday"}, "event.time"},
		{map[string]string{"kafka.topic": "t", "event.shape": "tiny"}, "event.shape"},
	} {
		cfg, errs := spec.Parse(tc.raw)
		errs = append(errs, connector{}.Validate(cfg)...)
		if len(errs) != 1 || errs[0].Key != tc.key || !strings.Contains(errs[0].Message, tc.key) {
			t.Errorf("%v: errors %v, want one for %s", tc.raw, errs, tc.key)
		}
	}
}

func TestTaskConfigsCopyTheConnectorConfig(t *testing.T) {
	raw := map[string]string{"kafka.topic": "events", "seed": "3", "transforms": "x", "value.converter": "json"}
	cfgs, err := connector{}.TaskConfigs(parse(t, raw), 2)
	if err != nil || len(cfgs) != 2 {
		t.Fatalf("%d configs, %v", len(cfgs), err)
	}
	for i, c := range cfgs {
		for k, v := range raw {
			if c[k] != v {
				t.Errorf("task %d: %s=%q, want %q", i, k, c[k], v)
			}
		}
		if c[keyTaskIndex] != fmt.Sprint(i) || c[keyTaskCount] != "2" {
			t.Errorf("task %d: position %s of %s", i, c[keyTaskIndex], c[keyTaskCount])
		}
	}
	if _, ok := raw[keyTaskIndex]; ok {
		t.Fatal("TaskConfigs changed the connector config")
	}
}

func TestPluginAnswersToConfluentAndShortNames(t *testing.T) {
	r := connect.NewRegistry()
	r.MustRegister(Plugins()...)
	for _, name := range []string{"io.confluent.kafka.connect.datagen.DatagenConnector", "DatagenConnector", "datagen", "datagen-source"} {
		if _, err := r.LookupType(name, connect.PluginSource); err != nil {
			t.Error(err)
		}
	}
}
