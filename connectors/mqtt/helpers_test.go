package mqtt

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/packets"
	"github.com/eclipse/paho.golang/paho"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

// taskHandle is a task driven the way the runtime drives it.
type taskHandle struct {
	t    testing.TB
	tk   *task
	sc   *connecttest.SourceContext
	logs *lockedBuffer
	once sync.Once
}

// taskConfig is a config for a task against b.
func taskConfig(b *broker, kv ...string) map[string]string {
	m := map[string]string{keyServerURI: b.uri(), keyTopics: "sensors/#", keyBackoff: "50", keyBackoffMax: "500", keyEmptyTimeout: "50"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

// taskConfigs runs TaskConfigs as the runtime's leader does.
func taskConfigs(t testing.TB, raw map[string]string, maxTasks int) []map[string]string {
	t.Helper()
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	tcs, err := connector{}.TaskConfigs(c, maxTasks)
	if err != nil {
		t.Fatal(err)
	}
	return tcs
}

// startTask starts task num of connector name with raw, sharing offsets
// with sc if given (as the runtime's offset store does across restarts).
func startTask(t testing.TB, raw map[string]string, name string, num int, sc *connecttest.SourceContext) *taskHandle {
	t.Helper()
	h, err := tryStartTask(t, raw, name, num, sc)
	if err != nil {
		t.Fatalf("start task %d: %v\nlog:\n%s", num, err, h.logs.String())
	}
	return h
}

func tryStartTask(t testing.TB, raw map[string]string, name string, num int, sc *connecttest.SourceContext) (*taskHandle, error) {
	t.Helper()
	c, errs := Spec().Parse(raw)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	logs := &lockedBuffer{}
	if sc == nil {
		sc = &connecttest.SourceContext{}
	}
	sc.Name, sc.TaskNum = name, num
	sc.Log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})).With("task", num)
	h := &taskHandle{t: t, tk: newTask(), sc: sc, logs: logs}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.tk.Start(ctx, c, sc); err != nil {
		return h, err
	}
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("task %d log:\n%s", num, logs.String())
		}
	})
	return h, nil
}

func (h *taskHandle) stop() {
	h.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		h.tk.Stop(ctx)
	})
}

// poll polls until it has n records or timeout passes.
func (h *taskHandle) poll(n int, timeout time.Duration) []*connect.Record {
	h.t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		recs, err := h.tk.Poll(context.Background())
		if err != nil {
			h.t.Fatalf("poll: %v", err)
		}
		out = append(out, recs...)
	}
	return out
}

// pollCommit polls and commits until n records came or timeout passes.
func (h *taskHandle) pollCommit(n int, timeout time.Duration) []*connect.Record {
	h.t.Helper()
	var out []*connect.Record
	deadline := time.Now().Add(timeout)
	for len(out) < n && time.Now().Before(deadline) {
		recs, err := h.tk.Poll(context.Background())
		if err != nil {
			h.t.Fatalf("poll: %v", err)
		}
		h.commit(recs)
		out = append(out, recs...)
	}
	return out
}

// commit commits records in order, as the runtime does after Kafka acked
// them, and stores their source offsets.
func (h *taskHandle) commit(recs []*connect.Record) {
	h.t.Helper()
	for _, r := range recs {
		if err := h.tk.Commit(context.Background(), r); err != nil {
			h.t.Fatalf("commit: %v", err)
		}
		h.sc.SetOffset(r.SourcePartition, r.SourceOffset)
	}
}

func (h *taskHandle) statsNow() stats {
	h.tk.mu.Lock()
	defer h.tk.mu.Unlock()
	return h.tk.stats
}

// publisher is an independent MQTT client publishing test messages.
type publisher struct {
	t testing.TB
	c *paho.Client
}

var pubSeq atomic.Int64

func newPublisher(t testing.TB, b *broker) *publisher {
	t.Helper()
	conn, err := net.Dial("tcp", b.addr())
	if err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{Conn: packets.NewThreadSafeConn(conn)})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: fmt.Sprintf("test-publisher-%d", pubSeq.Add(1)), KeepAlive: 30, CleanStart: true}); err != nil {
		t.Fatal(err)
	}
	p := &publisher{t: t, c: c}
	t.Cleanup(p.close)
	return p
}

func (p *publisher) close() { _ = p.c.Disconnect(&paho.Disconnect{}) }

func (p *publisher) publish(topic string, payload []byte, qos byte) {
	p.t.Helper()
	p.publishMsg(&paho.Publish{Topic: topic, Payload: payload, QoS: qos})
}

func (p *publisher) publishMsg(m *paho.Publish) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := p.c.Publish(ctx, m); err != nil {
		p.t.Fatalf("publish to %s: %v", m.Topic, err)
	}
}

// publishN publishes payloads "prefix-0".."prefix-(n-1)" with QoS 1.
func (p *publisher) publishN(topic, prefix string, n int) {
	p.t.Helper()
	for i := 0; i < n; i++ {
		p.publish(topic, []byte(fmt.Sprintf("%s-%d", prefix, i)), 1)
	}
}

func header(r *connect.Record, k string) string {
	v, ok := r.Headers.Get(k)
	if !ok {
		return "<none>"
	}
	return string(v)
}

func values(recs []*connect.Record) []string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Value.String()
	}
	return out
}

// tally counts how often each value occurs.
func tally(recs []*connect.Record) map[string]int {
	m := map[string]int{}
	for _, r := range recs {
		m[r.Value.String()]++
	}
	return m
}
