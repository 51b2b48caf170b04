package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// End-to-end tests of the HTTP sink through the real runtime: a `spur
// broker` process, `spur run` worker processes (SIGKILLed where the test
// says so) and a net/http receiver that records what arrived.

// hsBroker starts a broker process and returns its address and a client.
func hsBroker(t *testing.T, topics map[string]int32) (string, *kgo.Client) {
	t.Helper()
	addr := "127.0.0.1:" + strconv.Itoa(freePort(t))
	startProc(t, "broker", "broker", "--addr", addr, "--data-dir", t.TempDir())
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	for topic, parts := range topics {
		checkFor(t, 30*time.Second, 100*time.Millisecond, func() error {
			_, err := kadm.NewClient(cl).CreateTopic(context.Background(), parts, 1, nil, topic)
			return err
		})
	}
	return addr, cl
}

// hsCreate creates a connector through a worker's REST API.
func hsCreate(t *testing.T, url, name string, config map[string]string) {
	t.Helper()
	body := map[string]any{"name": name, "config": config}
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		b, code, err := httpDo(http.MethodPost, url+"/connectors", body)
		if err != nil || code != 201 {
			return fmt.Errorf("create %s: %v %d %s", name, err, code, b)
		}
		return nil
	})
}

// hsReceiver is an HTTP endpoint that takes JSON arrays of {"n":i,...}
// events, optionally slowly or with a chosen status, and records every
// request with its idempotency key.
type hsReceiver struct {
	url       string
	keyHeader string

	mu       sync.Mutex
	seen     map[int]int         // event n -> deliveries accepted (2xx)
	keys     map[string]int      // idempotency key -> requests carrying it
	contents map[string][]string // idempotency key -> the distinct event lists sent with it (as "count first..last")
	requests int
	rejected map[int]int // event n -> times in a request answered with a non-2xx status
	attempts []hsAttempt
	noKey    int // requests without the idempotency header

	// respond picks the status and headers of a request (nil: 200 at once).
	respond func(req *http.Request, events []int, body []byte, h http.Header) int
	// delay is how long the receiver takes to answer (after reading the body).
	delay func() time.Duration
}

type hsAttempt struct {
	at     time.Time
	key    string
	status int
	n      int // events in the request
}

func newHSReceiver(t *testing.T, keyHeader string) *hsReceiver {
	r := &hsReceiver{keyHeader: keyHeader, seen: map[int]int{}, keys: map[string]int{}, contents: map[string][]string{}, rejected: map[int]int{}}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.url = srv.URL
	return r
}

func (r *hsReceiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return // the sender went away mid-body: nothing was accepted
	}
	var events []struct {
		N int `json:"n"`
	}
	if err := json.Unmarshal(body, &events); err != nil {
		http.Error(w, "not a JSON array: "+err.Error(), 422)
		return
	}
	ns := make([]int, len(events))
	for i, e := range events {
		ns[i] = e.N
	}
	key := req.Header.Get(r.keyHeader)
	status := 200
	h := http.Header{}
	if r.respond != nil {
		status = r.respond(req, ns, body, h)
	}
	// The receiver accepts (or rejects) the events as soon as it has read
	// them: a sender that dies while the answer is still pending (the slow
	// part below) does not know that they arrived, as with a real provider.
	r.mu.Lock()
	r.requests++
	r.attempts = append(r.attempts, hsAttempt{at: time.Now(), key: key, status: status, n: len(ns)})
	if key == "" {
		r.noKey++
	} else if status/100 == 2 {
		r.keys[key]++
		c := fmt.Sprint(len(ns), " events")
		if len(ns) > 0 {
			c = fmt.Sprintf("%d events %d..%d", len(ns), ns[0], ns[len(ns)-1])
		}
		if !slices.Contains(r.contents[key], c) {
			r.contents[key] = append(r.contents[key], c)
		}
	}
	for _, n := range ns {
		if status/100 == 2 {
			r.seen[n]++
		} else {
			r.rejected[n]++
		}
	}
	r.mu.Unlock()
	if r.delay != nil {
		time.Sleep(r.delay())
	}
	for k, v := range h {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	if status/100 != 2 {
		fmt.Fprintf(w, `{"code":%d,"error":"rejected by the test receiver"}`, status)
	}
}

// tally counts, for events [from, to): missing ones and extra deliveries.
func (r *hsReceiver) tally(from, to int) (missing, dups int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := from; i < to; i++ {
		switch n := r.seen[i]; {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	return
}

func (r *hsReceiver) delivered() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seen)
}

// keyStats counts requests whose idempotency key was seen before, and keys
// that were sent with different event lists (a receiver that dropped a
// request because it knew its key would lose the events that differ).
func (r *hsReceiver) keyStats() (dupRequests int, otherContent []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for k, n := range r.keys {
		dupRequests += n - 1
		if len(r.contents[k]) > 1 {
			otherContent = append(otherContent, k+": "+strings.Join(r.contents[k], ", then "))
		}
	}
	slices.Sort(otherContent)
	return
}

// hsMetric reads one per-task sample of a worker's /metrics.
func hsMetric(url, name, connector string, task int) (float64, error) {
	b, code, err := httpDo(http.MethodGet, url+"/metrics", nil)
	if err != nil || code != 200 {
		return 0, fmt.Errorf("/metrics: %v %d", err, code)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, name+"{") || !strings.Contains(line, `connector="`+connector+`"`) || !strings.Contains(line, `task="`+strconv.Itoa(task)+`"`) {
			continue
		}
		f := strings.Fields(line)
		return strconv.ParseFloat(f[len(f)-1], 64)
	}
	return 0, fmt.Errorf("no %s sample for %s/%d in /metrics", name, connector, task)
}

// TestHTTPSinkSIGKILLWhileEndpointSlowDeliversEverything: a worker is
// SIGKILLed while the endpoint takes 200-500 ms per request and requests are
// in flight; after a new worker takes over, every event arrived at least
// once, and the idempotency key lets the receiver count the re-sent
// requests.
func TestHTTPSinkSIGKILLWhileEndpointSlowDeliversEverything(t *testing.T) {
	if testing.Short() {
		t.Skip("process test is not short")
	}
	const (
		topic = "track"
		parts = 4
		tasks = 2
		batch = 100
		total = 12000
	)
	brokerAddr, cl := hsBroker(t, map[string]int32{topic: parts})
	rcv := newHSReceiver(t, "Idempotency-Key")
	rcv.delay = func() time.Duration { return 200*time.Millisecond + rand.N(300*time.Millisecond) }

	w1 := startWorker(t, "w1", brokerAddr)
	hsCreate(t, w1.url, "slow-http", map[string]string{
		"connector.class": "http-sink", "topics": topic, "tasks.max": strconv.Itoa(tasks),
		"http.api.url": rcv.url, "request.body.format": "json",
		"batch.max.size": strconv.Itoa(batch), "batch.key.pattern": "${topic}-${partition}",
		"max.in.flight.requests": "3", "request.idempotency.header": "Idempotency-Key",
		"retry.backoff.ms": "100",
	})
	spread(t, w1.url, "slow-http", map[string]int{w1.id: tasks})

	produced := make(chan struct{})
	go func() {
		defer close(produced)
		for i := 0; i < total; i += 500 {
			produce(t, cl, topic, i, i+500)
			time.Sleep(100 * time.Millisecond)
		}
	}()
	// Kill once a good part arrived, while requests are in flight.
	checkFor(t, 90*time.Second, 20*time.Millisecond, func() error {
		if n := rcv.delivered(); n < total/4 {
			return fmt.Errorf("only %d events delivered", n)
		}
		return nil
	})
	w1.kill()
	killedAt := time.Now()
	deliveredAtKill := rcv.delivered()
	rcv.mu.Lock()
	before, firstAt := rcv.requests, rcv.attempts[0].at
	rcv.mu.Unlock()
	t.Logf("SIGKILL after %d events accepted in %v (%.0f events/s through the slow endpoint)", deliveredAtKill,
		killedAt.Sub(firstAt).Round(100*time.Millisecond), float64(deliveredAtKill)/killedAt.Sub(firstAt).Seconds())

	w2 := startWorker(t, "w2", brokerAddr)
	spread(t, w2.url, "slow-http", map[string]int{w2.id: tasks})
	t.Logf("tasks running on the new worker %v after the SIGKILL", time.Since(killedAt).Round(100*time.Millisecond))
	<-produced
	checkFor(t, 180*time.Second, 250*time.Millisecond, func() error {
		if missing, _ := rcv.tally(0, total); missing > 0 {
			return fmt.Errorf("%d of %d events missing", missing, total)
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond) // anything still re-sent shows up in the counts
	_, dups := rcv.tally(0, total)
	dupReqs, otherContent := rcv.keyStats()
	rcv.mu.Lock()
	requests, noKey := rcv.requests, rcv.noKey
	rcv.mu.Unlock()
	t.Logf("SIGKILL with a slow endpoint: all %d events delivered (%d accepted by the kill, in %d requests; %d requests in all); "+
		"%d duplicate events; %d requests re-sent with an idempotency key the receiver had accepted before, %d of those keys with other events",
		total, deliveredAtKill, before, requests, dups, dupReqs, len(otherContent))
	if noKey > 0 {
		t.Errorf("%d requests without the Idempotency-Key header", noKey)
	}
	// A key names exactly its events: a provider dropping seen keys loses nothing.
	for _, c := range otherContent {
		t.Errorf("idempotency key sent again with other events: %s", c)
	}
	// Only what was accepted before the kill can arrive twice (the receiver
	// never times out, so nothing else is re-sent).
	if dups > deliveredAtKill {
		t.Errorf("%d duplicate events, more than the %d accepted before the kill", dups, deliveredAtKill)
	}
	// What a SIGKILL re-sends is what was delivered but not yet committed.
	// The runtime commits after a Put returns (at most every
	// offset.flush.interval.ms=1s) and a commit waits for the requests in
	// flight; with a slow endpoint one Put of a poll (up to 500 records)
	// takes seconds. So per task: the poll being put plus what the previous
	// commit interval delivered, under 4000 events.
	if limit := tasks * 4000; dups > limit {
		t.Errorf("%d duplicate events, more than the uncommitted window of %d tasks (%d)", dups, tasks, limit)
	}
	if dups > 0 && dupReqs == 0 {
		t.Logf("no re-sent request carried a key seen before: the batches were cut differently after the restart")
	}
	for _, k := range otherContent {
		// A receiver that drops a request whose key it knows would lose the
		// events the second request holds beyond the first.
		t.Logf("idempotency key re-sent with different events: %s", k)
	}
}

// hsProduceMarked produces {"n":i} events (with "bad":true for the marked
// ones) to one partition in order, so offset == n.
func hsProduceMarked(t *testing.T, cl *kgo.Client, topic string, total int, bad map[int]bool) {
	t.Helper()
	rs := make([]*kgo.Record, 0, total)
	for i := 0; i < total; i++ {
		v := fmt.Sprintf(`{"n":%d,"user":"u%d"}`, i, i%7)
		if bad[i] {
			v = fmt.Sprintf(`{"n":%d,"user":"u%d","bad":true}`, i, i%7)
		}
		rs = append(rs, &kgo.Record{Topic: topic, Partition: 0, Key: []byte("k" + strconv.Itoa(i)), Value: []byte(v),
			Headers: []kgo.RecordHeader{{Key: "origin", Value: []byte("test")}}})
	}
	if err := cl.ProduceSync(context.Background(), rs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

// TestHTTPSinkBadRequestGoesToDLQOrFailsTheTask: the endpoint answers 400
// to every request holding a "bad" event. With errors.tolerance=all and a
// DLQ the records of those requests land in the DLQ topic with
// __connect.errors.* headers and everything else is delivered; with the
// default tolerance the task is FAILED with a readable trace and its
// offsets stay before the failed batch.
func TestHTTPSinkBadRequestGoesToDLQOrFailsTheTask(t *testing.T) {
	if testing.Short() {
		t.Skip("process test is not short")
	}
	const (
		topic = "orders"
		dlq   = "orders-dlq"
		total = 1000
	)
	bad := map[int]bool{137: true, 555: true, 901: true}
	brokerAddr, cl := hsBroker(t, map[string]int32{topic: 1})
	hsProduceMarked(t, cl, topic, total, bad)
	rcv := newHSReceiver(t, "Idempotency-Key")
	rcv.respond = func(_ *http.Request, _ []int, body []byte, _ http.Header) int {
		if bytes.Contains(body, []byte(`"bad":true`)) {
			return 400
		}
		return 200
	}
	w := startWorker(t, "w1", brokerAddr)
	base := map[string]string{
		"connector.class": "io.confluent.connect.http.HttpSinkConnector", "topics": topic, "tasks.max": "1",
		"http.api.url": rcv.url, "request.body.format": "json", "batch.max.size": "25",
		"request.idempotency.header": "Idempotency-Key", "retry.backoff.ms": "50",
	}
	tolerant := map[string]string{"errors.tolerance": "all", "errors.deadletterqueue.topic.name": dlq,
		"errors.deadletterqueue.context.headers.enable": "true", "errors.log.enable": "true"}
	for k, v := range base {
		tolerant[k] = v
	}
	hsCreate(t, w.url, "to-http-dlq", tolerant)

	// Everything not rejected is delivered.
	checkFor(t, 90*time.Second, 200*time.Millisecond, func() error {
		rcv.mu.Lock()
		defer rcv.mu.Unlock()
		if len(rcv.seen)+len(rcv.rejected) < total {
			return fmt.Errorf("%d delivered, %d rejected of %d", len(rcv.seen), len(rcv.rejected), total)
		}
		return nil
	})
	rcv.mu.Lock()
	rejected := map[int]bool{}
	for n := range rcv.rejected {
		rejected[n] = true
	}
	for n := range rcv.seen {
		if rejected[n] {
			t.Errorf("event %d was both rejected and delivered", n)
		}
	}
	rcv.mu.Unlock()
	for n := range bad {
		if !rejected[n] {
			t.Errorf("bad event %d was not rejected", n)
		}
	}
	if len(rejected) > len(bad)*25 {
		t.Errorf("%d events rejected: more than the %d batches of 25 holding a bad event", len(rejected), len(bad))
	}

	// The rejected events are in the DLQ, with their key, value, headers
	// and the error context.
	dcl, err := kgo.NewClient(kgo.SeedBrokers(brokerAddr), kgo.ConsumeTopics(dlq), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer dcl.Close()
	inDLQ := map[int]*kgo.Record{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for len(inDLQ) < len(rejected) && ctx.Err() == nil {
		dcl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			var e struct {
				N int `json:"n"`
			}
			if err := json.Unmarshal(r.Value, &e); err != nil {
				t.Errorf("DLQ record value %q: %v", r.Value, err)
				return
			}
			if inDLQ[e.N] != nil {
				t.Errorf("event %d is in the DLQ twice", e.N)
			}
			inDLQ[e.N] = r
		})
	}
	if len(inDLQ) != len(rejected) {
		t.Fatalf("%d records in the DLQ, want the %d rejected ones", len(inDLQ), len(rejected))
	}
	var sample *kgo.Record
	for n := range rejected {
		r := inDLQ[n]
		if r == nil {
			t.Errorf("rejected event %d is not in the DLQ", n)
			continue
		}
		h := map[string]string{}
		for _, kv := range r.Headers {
			h[kv.Key] = string(kv.Value)
		}
		want := map[string]string{
			"origin": "test", "__connect.errors.topic": topic, "__connect.errors.partition": "0",
			"__connect.errors.offset": strconv.Itoa(n), "__connect.errors.connector.name": "to-http-dlq",
			"__connect.errors.task.id": "0", "__connect.errors.stage": "TASK_PUT",
		}
		for k, v := range want {
			if h[k] != v {
				t.Errorf("DLQ record of event %d: header %s = %q, want %q", n, k, h[k], v)
			}
		}
		if msg := h["__connect.errors.exception.message"]; !strings.Contains(msg, "status 400") || !strings.Contains(msg, topic+"/0@") {
			t.Errorf("DLQ record of event %d: exception.message %q does not name the status and records", n, msg)
		}
		if h["__connect.errors.exception.class.name"] == "" || h["__connect.errors.exception.stacktrace"] == "" {
			t.Errorf("DLQ record of event %d: no exception class or trace: %v", n, h)
		}
		if string(r.Key) != "k"+strconv.Itoa(n) {
			t.Errorf("DLQ record of event %d has key %q", n, r.Key)
		}
		sample = r
	}
	if sample != nil {
		for _, kv := range sample.Headers {
			if kv.Key == "__connect.errors.exception.message" || kv.Key == "__connect.errors.exception.class.name" {
				t.Logf("DLQ header %s: %s", kv.Key, kv.Value)
			}
		}
	}
	st, err := status(w.url, "to-http-dlq")
	if err != nil || len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
		t.Errorf("tolerant connector: %+v %v, want its task RUNNING", st, err)
	}
	t.Logf("errors.tolerance=all: %d events delivered, %d rejected by 400 and in the DLQ", total-len(rejected), len(rejected))

	// The default tolerance fails the task, with the request in the trace.
	hsCreate(t, w.url, "to-http-strict", base)
	var trace string
	checkFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		st, err := status(w.url, "to-http-strict")
		if err != nil {
			return err
		}
		if len(st.Tasks) != 1 || st.Tasks[0].State != "FAILED" {
			return fmt.Errorf("strict connector: %+v", st)
		}
		trace = st.Tasks[0].Trace
		return nil
	})
	t.Logf("trace of the FAILED task:\n%s", trace)
	for _, want := range []string{"Tolerance exceeded", "TASK_PUT", "POST " + rcv.url, "status 400", "rejected by the test receiver", topic + "/0@"} {
		if !strings.Contains(trace, want) {
			t.Errorf("trace does not say %q", want)
		}
	}
	// Its committed offset stays at or before the first failed record.
	first := total
	for n := range rejected {
		first = min(first, n)
	}
	time.Sleep(2 * time.Second) // past a commit interval
	offs, err := kadm.NewClient(cl).FetchOffsets(context.Background(), "connect-to-http-strict")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := offs.Lookup(topic, 0); ok && o.At > int64(first) {
		t.Errorf("the failed task committed offset %d, past the first failed record %d", o.At, first)
	} else {
		t.Logf("the failed task's committed offset: %v (first failed record at %d)", o.At, first)
	}
}

// TestHTTPSinkRetryAfterKeepsTaskRunning: the endpoint answers 429 with
// Retry-After: 1 for a while. The task stays RUNNING and reports that it is
// retrying, waits as long as Retry-After says (the configured backoff is
// 10 ms), and delivers everything once the endpoint accepts again.
func TestHTTPSinkRetryAfterKeepsTaskRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("process test is not short")
	}
	const (
		topic = "clicks"
		total = 2000
	)
	brokerAddr, cl := hsBroker(t, map[string]int32{topic: 2})
	rcv := newHSReceiver(t, "Idempotency-Key")
	var throttleMu sync.Mutex
	throttle := true
	rcv.respond = func(_ *http.Request, _ []int, _ []byte, h http.Header) int {
		throttleMu.Lock()
		defer throttleMu.Unlock()
		if throttle {
			h.Set("Retry-After", "1")
			return 429
		}
		return 200
	}
	w := startWorker(t, "w1", brokerAddr)
	hsCreate(t, w.url, "throttled", map[string]string{
		"connector.class": "http-sink", "topics": topic, "tasks.max": "1",
		"http.api.url": rcv.url, "request.body.format": "json", "batch.max.size": "100",
		"request.idempotency.header": "Idempotency-Key", "max.retries": "-1",
		"retry.backoff.ms": "10", "retry.backoff.max.ms": "20",
	})
	spread(t, w.url, "throttled", map[string]int{w.id: 1})
	produce(t, cl, topic, 0, total)

	// 6 s of 429s: the task stays RUNNING and says it retries.
	end := time.Now().Add(6 * time.Second)
	samples, retrying := 0, 0
	for time.Now().Before(end) {
		st, err := status(w.url, "throttled")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Tasks) != 1 || st.Tasks[0].State != "RUNNING" {
			t.Fatalf("task is not RUNNING while the endpoint answers 429: %+v", st)
		}
		if v, err := hsMetric(w.url, "spur_task_retrying", "throttled", 0); err == nil {
			samples++
			if v == 1 {
				retrying++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("while throttled: task RUNNING in every sample; spur_task_retrying=1 in %d of %d samples", retrying, samples)
	if retrying == 0 {
		t.Errorf("spur_task_retrying never showed the retry in %d samples", samples)
	}
	if missing, _ := rcv.tally(0, total); missing != total {
		t.Fatalf("%d events accepted while every request got 429", total-missing)
	}

	// Attempts of one request are at least Retry-After apart, and the 429
	// holds back the task's other requests too.
	rcv.mu.Lock()
	attempts := append([]hsAttempt(nil), rcv.attempts...)
	rcv.mu.Unlock()
	if len(attempts) < 3 {
		t.Fatalf("only %d attempts in 6 s of 429s", len(attempts))
	}
	last := map[string]time.Time{}
	minGap := time.Hour
	waves, waveStart := 1, attempts[0].at
	for _, a := range attempts {
		if p, ok := last[a.key]; ok {
			minGap = min(minGap, a.at.Sub(p))
		}
		last[a.key] = a.at
		// Attempts released together by the shared hold arrive within a
		// few ms; the next wave must wait for the next Retry-After.
		if gap := a.at.Sub(waveStart); gap > 50*time.Millisecond {
			if gap < 900*time.Millisecond {
				t.Errorf("an attempt %v after the previous ones, though they got 429 with Retry-After: 1", gap.Round(time.Millisecond))
			}
			waves, waveStart = waves+1, a.at
		}
	}
	if minGap < 900*time.Millisecond {
		t.Errorf("a request was retried %v after a 429 with Retry-After: 1", minGap)
	}
	t.Logf("%d attempts in %d waves in 6 s of 429 (Retry-After: 1, backoff 10 ms); smallest gap between attempts of one request %v",
		len(attempts), waves, minGap.Round(time.Millisecond))

	throttleMu.Lock()
	throttle = false
	throttleMu.Unlock()
	checkFor(t, 60*time.Second, 200*time.Millisecond, func() error {
		if missing, _ := rcv.tally(0, total); missing > 0 {
			return fmt.Errorf("%d of %d events missing after the endpoint recovered", missing, total)
		}
		return nil
	})
	if _, dups := rcv.tally(0, total); dups > 0 {
		t.Errorf("%d duplicates: a 429 is not an acceptance", dups)
	}
	checkFor(t, 30*time.Second, 200*time.Millisecond, func() error {
		if v, err := hsMetric(w.url, "spur_task_retrying", "throttled", 0); err != nil || v != 0 {
			return fmt.Errorf("spur_task_retrying %v %v after recovery", v, err)
		}
		st, err := status(w.url, "throttled")
		if err != nil || st.Tasks[0].State != "RUNNING" {
			return fmt.Errorf("status %+v %v after recovery", st, err)
		}
		return nil
	})
}
