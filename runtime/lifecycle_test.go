package runtime

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/spur-connect/spur/connect"
)

// slowStats tracks the live instances of slowSink tasks and what they were
// configured with.
type slowStats struct {
	mu        sync.Mutex
	live      map[string]int    // connector -> running task instances
	topics    map[string]string // connector -> topics its last task started with
	stopDelay time.Duration
}

func newSlowStats(stopDelay time.Duration) *slowStats {
	return &slowStats{live: map[string]int{}, topics: map[string]string{}, stopDelay: stopDelay}
}

func (st *slowStats) liveOf(c string) int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.live[c]
}

// slowSink takes stopDelay to stop, as a sink flushing a large batch does.
type slowSink struct {
	stats *slowStats
	conn  string
}

func (s *slowSink) Start(_ context.Context, cfg connect.Config, sc connect.SinkContext) error {
	s.conn = sc.Connector()
	s.stats.mu.Lock()
	s.stats.live[s.conn]++
	s.stats.topics[s.conn] = cfg.Raw()["topics"]
	s.stats.mu.Unlock()
	return nil
}
func (s *slowSink) Put(_ context.Context, recs []*connect.Record) error {
	connect.AckAll(recs)
	return nil
}
func (s *slowSink) Flush(context.Context) error { return nil }
func (s *slowSink) Stop(context.Context) error {
	time.Sleep(s.stats.stopDelay)
	s.stats.mu.Lock()
	s.stats.live[s.conn]--
	s.stats.mu.Unlock()
	return nil
}

func slowRegistry(stats *slowStats) *connect.Registry {
	reg := testRegistry(newMemStore())
	reg.MustRegister(&connect.Plugin{Class: "test.SlowSinkConnector", Aliases: []string{"slow"}, Type: connect.PluginSink, Spec: connect.NewSpec(),
		NewConnector: func() connect.Connector { return memSinkConnector{} }, NewSinkTask: func() connect.SinkTask { return &slowSink{stats: stats} }})
	return reg
}

// A task restarted through REST while a rebalance completes runs once: the
// rebalance must not start it a second time behind the restart's back.
func TestRestartDuringARebalanceRunsTheTaskOnce(t *testing.T) {
	kafka := startKafka(t)
	stats := newSlowStats(1500 * time.Millisecond)
	w := startWorker(t, kafka, slowRegistry(stats), nil)
	createConnector(t, w, "s", map[string]string{"connector.class": "slow", "topics": "t1", "tasks.max": "1"})
	waitTaskStates(t, w, "s", StateRunning)
	done := make(chan error, 1)
	go func() { done <- w.RestartTaskLocal(context.Background(), Item{"s", 0}) }()
	time.Sleep(100 * time.Millisecond)
	createConnector(t, w, "other", map[string]string{"connector.class": "mem", "topics": "t2", "tasks.max": "1"})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	if n := stats.liveOf("s"); n != 1 {
		t.Fatalf("after the restart %d instances of s's task run, want 1", n)
	}
	if err := w.DeleteConnector(context.Background(), "s"); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 10*time.Second, 50*time.Millisecond, func() error {
		if n := stats.liveOf("s"); n != 0 {
			return fmt.Errorf("%d instances of the deleted connector's task still run", n)
		}
		return nil
	})
}

// A connector deleted and created again with another config, seen by a
// worker in one go, runs its task with the new config.
func TestDeletedAndRecreatedConnectorRunsTheNewConfig(t *testing.T) {
	kafka := startKafka(t)
	stats := newSlowStats(2 * time.Second)
	w := startWorker(t, kafka, slowRegistry(stats), nil)
	createConnector(t, w, "busy", map[string]string{"connector.class": "slow", "topics": "b", "tasks.max": "1"})
	createConnector(t, w, "x", map[string]string{"connector.class": "slow", "topics": "old", "tasks.max": "1"})
	waitTaskStates(t, w, "x", StateRunning)
	waitTaskStates(t, w, "busy", StateRunning)
	ctx := context.Background()
	cfg, _ := w.configs.connector("busy")
	next := maps.Clone(cfg.Config)
	next["spur.test"] = "1"
	if _, err := w.PutConnector(ctx, "busy", next, "", true); err != nil { // its 2 s restart keeps the worker busy
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if err := w.DeleteConnector(ctx, "x"); err != nil {
		t.Fatal(err)
	}
	if _, err := w.PutConnector(ctx, "x", map[string]string{"name": "x", "connector.class": "slow", "topics": "new", "tasks.max": "1"}, "", false); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 15*time.Second, 100*time.Millisecond, func() error {
		w.mu.Lock()
		inst := w.running[Item{"x", 0}]
		w.mu.Unlock()
		if inst == nil || inst.env == nil {
			return fmt.Errorf("x's task 0 is not running")
		}
		if got := inst.env.cfg.String("topics"); got != "new" {
			return fmt.Errorf("the re-created connector's task consumes %q, want \"new\"", got)
		}
		return nil
	})
}

// A deleted connector has no status, even when the delete's own cleanup
// never ran (the worker stopped right after the delete).
func TestDeletedConnectorHasNoStatus(t *testing.T) {
	kafka := startKafka(t)
	reg := slowRegistry(newSlowStats(0))
	w := startWorker(t, kafka, reg, map[string]string{"group.id": "g"})
	createConnector(t, w, "gone", map[string]string{"connector.class": "slow", "topics": "g", "tasks.max": "1"})
	waitTaskStates(t, w, "gone", StateRunning)
	if err := w.DeleteConnector(context.Background(), "gone"); err != nil {
		t.Fatal(err)
	}
	w.stop(t) // within the delete's 2 s delay
	w2 := startWorker(t, kafka, reg, map[string]string{"group.id": "g"})
	if st, err := w2.Status("gone"); err == nil {
		t.Fatalf("deleted connector has a status: %+v", st)
	}
	// The new leader removes the stale statuses from the topic too, at a
	// config change two session timeouts after it first saw them.
	n := 0
	checkFor(t, 40*time.Second, time.Second, func() error {
		n++
		cfg := map[string]string{"name": "trigger", "connector.class": "mem", "topics": "t", "tasks.max": "1", "spur.test": fmt.Sprint(n)}
		if _, err := w2.PutConnector(context.Background(), "trigger", cfg, "", true); err != nil {
			return err
		}
		if _, ok := w2.statuses.connector("gone"); ok {
			return fmt.Errorf("the status topic still holds the deleted connector's status")
		}
		return nil
	})
}

// Restarting tasks that take long to stop does not starve the heartbeats:
// the worker stays in its group generation.
func TestSlowRestartsKeepTheGroupSession(t *testing.T) {
	kafka := startKafka(t)
	stats := newSlowStats(2500 * time.Millisecond)
	w := startWorker(t, kafka, slowRegistry(stats), nil) // session.timeout.ms=6000
	createConnector(t, w, "s", map[string]string{"connector.class": "slow", "topics": "t", "tasks.max": "4"})
	waitTaskStates(t, w, "s", StateRunning)
	gen := w.generation()
	cfg, _ := w.configs.connector("s")
	next := maps.Clone(cfg.Config)
	next["spur.test"] = "1"
	if _, err := w.PutConnector(context.Background(), "s", next, "", true); err != nil {
		t.Fatal(err)
	}
	time.Sleep(13 * time.Second) // four sequential 2.5 s stops, over the 6 s session
	if g := w.generation(); g != gen {
		t.Fatalf("group generation %d -> %d: the worker was expelled", gen, g)
	}
	waitTaskStates(t, w, "s", StateRunning)
}

// commitSource emits count records and counts Commit calls.
type commitSource struct {
	topic     string
	n, count  int
	committed *atomic.Int64
}

func (s *commitSource) Start(_ context.Context, cfg connect.Config, _ connect.SourceContext) error {
	s.topic, s.count = cfg.String("topic"), int(cfg.Int("count"))
	return nil
}

func (s *commitSource) Poll(ctx context.Context) ([]*connect.Record, error) {
	if s.n >= s.count {
		select {
		case <-ctx.Done():
		case <-time.After(50 * time.Millisecond):
		}
		return nil, nil
	}
	s.n++
	return []*connect.Record{{Topic: s.topic, Partition: -1, Value: connect.RawData(connect.FormatJSON, []byte(fmt.Sprintf(`{"n":%d}`, s.n))),
		SourcePartition: map[string]any{"p": "0"}, SourceOffset: map[string]any{"n": s.n}}}, nil
}
func (s *commitSource) Commit(context.Context, *connect.Record) error { s.committed.Add(1); return nil }
func (s *commitSource) Stop(context.Context) error                    { return nil }

// With errors.tolerance=all, records Kafka never acknowledged are not
// committed (an MQTT PUBACK) when the task stops with them in flight.
func TestStoppingASourceCommitsOnlyWhatKafkaAcknowledged(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // registered before the worker's cleanup, so it runs after it
	var stall atomic.Bool
	var stalledID atomic.Value
	stalledID.Store([16]byte{})
	c.ControlKey(kmsg.Produce.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		pr := req.(*kmsg.ProduceRequest)
		if !stall.Load() || len(pr.Topics) == 0 || (pr.Topics[0].Topic != "stalled" && pr.Topics[0].TopicID != stalledID.Load().([16]byte)) {
			return nil, nil, false
		}
		resp := pr.ResponseKind().(*kmsg.ProduceResponse)
		for _, rt := range pr.Topics {
			st := kmsg.NewProduceResponseTopic()
			st.Topic, st.TopicID = rt.Topic, rt.TopicID
			for _, rp := range rt.Partitions {
				sp := kmsg.NewProduceResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.NotEnoughReplicas.Code // retriable: the producer keeps the records
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	var committed atomic.Int64
	reg := testRegistry(newMemStore())
	reg.MustRegister(&connect.Plugin{Class: "test.CommitSourceConnector", Aliases: []string{"csrc"}, Type: connect.PluginSource, Spec: seqSpec,
		NewConnector: func() connect.Connector { return seqConnector{} }, NewSourceTask: func() connect.SourceTask { return &commitSource{committed: &committed} }})
	w := startWorker(t, c.ListenAddrs(), reg, map[string]string{"task.shutdown.graceful.timeout.ms": "1000"})
	createTopic(t, c.ListenAddrs(), "stalled", 1)
	td, err := w.adm.ListTopics(context.Background(), "stalled")
	if err != nil {
		t.Fatal(err)
	}
	stalledID.Store([16]byte(td["stalled"].ID)) // Produce v13 names topics by id
	stall.Store(true)
	createConnector(t, w, "src", map[string]string{"connector.class": "csrc", "topic": "stalled", "count": "5", "errors.tolerance": "all"})
	waitTaskStates(t, w, "src", StateRunning)
	time.Sleep(time.Second)
	if n := committed.Load(); n != 0 {
		t.Fatalf("%d records committed while the broker refused them", n)
	}
	if err := w.SetTarget(context.Background(), "src", TargetStopped); err != nil {
		t.Fatal(err)
	}
	time.Sleep(4 * time.Second)
	if n := committed.Load(); n != 0 {
		t.Fatalf("stopping the task committed %d records that Kafka never acknowledged", n)
	}
}

// cutGroup makes the fake coordinator answer JoinGroup and Heartbeat with
// COORDINATOR_NOT_AVAILABLE while cut is set.
func cutGroup(c *kfake.Cluster, cut *atomic.Bool) {
	for _, key := range []int16{kmsg.JoinGroup.Int16(), kmsg.Heartbeat.Int16()} {
		c.ControlKey(key, func(req kmsg.Request) (kmsg.Response, error, bool) {
			c.KeepControl()
			if !cut.Load() {
				return nil, nil, false
			}
			switch r := req.(type) {
			case *kmsg.JoinGroupRequest:
				resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
				resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
				return resp, nil, true
			case *kmsg.HeartbeatRequest:
				resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
				resp.ErrorCode = kerr.CoordinatorNotAvailable.Code
				return resp, nil, true
			}
			return nil, nil, false
		})
	}
}

func newCluster(t *testing.T) *kfake.Cluster {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.DefaultNumPartitions(1), kfake.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close) // registered before the worker's cleanup, so it runs after it
	return c
}

// A restart request while the worker cannot rejoin its group, or after it
// stopped, answers promptly (the REST API then says 409) instead of hanging.
func TestRestartWhileTheLoopIsBusyAnswers(t *testing.T) {
	c := newCluster(t)
	var cut atomic.Bool
	cutGroup(c, &cut)
	w := startWorker(t, c.ListenAddrs(), slowRegistry(newSlowStats(0)), nil)
	createConnector(t, w, "s", map[string]string{"connector.class": "slow", "topics": "t1", "tasks.max": "1"})
	waitTaskStates(t, w, "s", StateRunning)
	cut.Store(true)
	createConnector(t, w, "other", map[string]string{"connector.class": "slow", "topics": "t2", "tasks.max": "1"}) // a rejoin that fails
	time.Sleep(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	if err := w.RestartTaskLocal(ctx, Item{"s", 0}); !errors.Is(err, ErrNotOwner) || time.Since(start) > 5*time.Second {
		t.Fatalf("restart during a failing rejoin: %v after %v, want ErrNotOwner within seconds", err, time.Since(start).Round(time.Millisecond))
	}
	cut.Store(false)
	w.stop(t)
	if err := w.RestartTaskLocal(ctx, Item{"s", 0}); !errors.Is(err, ErrNotReady) || w.Ready() {
		t.Fatalf("restart after the worker stopped: %v, ready %v", err, w.Ready())
	}
}

// A worker whose session is lost while it is busy (a slow restart) stops
// its work: the group has moved it elsewhere by then.
func TestLostSessionDuringAConfigChangeStopsTheWork(t *testing.T) {
	c := newCluster(t)
	var cut atomic.Bool
	cutGroup(c, &cut)
	stats := newSlowStats(8 * time.Second) // longer than session.timeout.ms=6000
	w := startWorker(t, c.ListenAddrs(), slowRegistry(stats), map[string]string{"task.shutdown.graceful.timeout.ms": "10000"})
	createConnector(t, w, "s", map[string]string{"connector.class": "slow", "topics": "t1", "tasks.max": "1"})
	createConnector(t, w, "k", map[string]string{"connector.class": "slow", "topics": "t2", "tasks.max": "1"})
	waitTaskStates(t, w, "s", StateRunning)
	waitTaskStates(t, w, "k", StateRunning)
	cut.Store(true)
	// Restarts s-0 (an 8 s stop) and adds s-1: the change outlasts the session.
	if _, err := w.PutConnector(context.Background(), "s", map[string]string{"name": "s", "connector.class": "slow", "topics": "t1,t3", "tasks.max": "2"}, "", true); err != nil {
		t.Fatal(err)
	}
	checkFor(t, 40*time.Second, 200*time.Millisecond, func() error {
		w.mu.Lock()
		n := len(w.running)
		w.mu.Unlock()
		if n > 0 {
			return fmt.Errorf("%d items still run with no coordinator for longer than the session", n)
		}
		return nil
	})
	cut.Store(false)
}

// A source task that starts while the offsets topic cannot be read waits
// for it, and runs once it can, rather than failing.
func TestSourceStartWaitsThroughAnOffsetsOutage(t *testing.T) {
	c := newCluster(t)
	var cut atomic.Bool
	c.ControlKey(kmsg.ListOffsets.Int16(), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		r := req.(*kmsg.ListOffsetsRequest)
		if !cut.Load() || len(r.Topics) == 0 || r.Topics[0].Topic != "spur-offsets" {
			return nil, nil, false
		}
		resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
		for _, rt := range r.Topics {
			st := kmsg.NewListOffsetsResponseTopic()
			st.Topic = rt.Topic
			for _, rp := range rt.Partitions {
				sp := kmsg.NewListOffsetsResponseTopicPartition()
				sp.Partition = rp.Partition
				sp.ErrorCode = kerr.LeaderNotAvailable.Code
				st.Partitions = append(st.Partitions, sp)
			}
			resp.Topics = append(resp.Topics, st)
		}
		return resp, nil, true
	})
	w := startWorker(t, c.ListenAddrs(), testRegistry(newMemStore()), nil)
	cut.Store(true)
	createConnector(t, w, "src", map[string]string{"connector.class": "seq", "topic": "o", "count": "10", "tasks.max": "1"})
	time.Sleep(5 * time.Second) // several failed reads
	cut.Store(false)
	waitTaskStates(t, w, "src", StateRunning)
}
