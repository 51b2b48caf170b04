package httpsink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
)

func TestRetryAfterSecondsDelaysNextAttempt(t *testing.T) {
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		if n == 0 {
			w.Header().Set("Retry-After", "2")
			http.Error(w, `{"error":"rate limited"}`, http.StatusTooManyRequests)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyBackoff, "10"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if gap := reqs[1].At.Sub(reqs[0].At); gap < 2*time.Second {
		t.Fatalf("retry after %s, want >= 2s (Retry-After: 2)", gap)
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 || sc.RetryingErr() != nil {
		t.Fatalf("unacked %d double %d retrying %v", sc.Unacked(), sc.DoubleAcked(), sc.RetryingErr())
	}
}

func TestRetryAfterHTTPDate(t *testing.T) {
	var until time.Time
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		if n == 0 {
			until = time.Now().Add(3 * time.Second).Truncate(time.Second)
			w.Header().Set("Retry-After", until.UTC().Format(http.TimeFormat))
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyBackoff, "10"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	if reqs[1].At.Before(until) {
		t.Fatalf("retried at %s, before Retry-After %s", reqs[1].At.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
}

// A Retry-After answer pauses the task's other requests as well.
func TestRetryAfterPausesOtherRequests(t *testing.T) {
	var first atomic.Bool
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		if first.CompareAndSwap(false, true) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}
	})
	// The wait happens before an attempt, outside http.request.timeout.ms:
	// the other request waits ~0.9s, longer than its timeout, and must
	// still succeed on its first attempt.
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyBatchKey, "${partition}", keyMaxSize, "1", keyBackoff, "10",
		keyRequestTimeout, "300", keyMaxRetries, "1"))
	start := time.Now()
	put(t, task, sc, jsonRec("t", 0, 0, `{}`))
	time.Sleep(100 * time.Millisecond)
	put(t, task, sc, jsonRec("t", 1, 0, `{}`))
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 3 {
		t.Fatalf("got %d requests, want 3 (429, then both delivered)", len(reqs))
	}
	for _, r := range reqs[1:] {
		if r.At.Sub(start) < time.Second {
			t.Errorf("a request went out %s after the 429, inside Retry-After", r.At.Sub(start))
		}
	}
	if len(sc.Reports()) != 0 || sc.Unacked() != 0 {
		t.Fatalf("reports %+v unacked %d", sc.Reports(), sc.Unacked())
	}
}

func Test503Then200DeliversOnce(t *testing.T) {
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		if n == 0 {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyBackoff, "20"))
	put(t, task, sc, events("t", 5, 2)...)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 2 || string(reqs[0].Body) != string(reqs[1].Body) {
		t.Fatalf("got %d requests, want the same body twice", len(reqs))
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 || len(sc.Reports()) != 0 {
		t.Fatalf("unacked %d double %d reports %d", sc.Unacked(), sc.DoubleAcked(), len(sc.Reports()))
	}
	if sc.RetryingErr() != nil {
		t.Fatalf("Retrying not cleared: %v", sc.RetryingErr())
	}
}

// The endpoint refuses connections for a while: nothing is acked while it
// is down, everything is acked exactly once after it is back.
func TestEndpointDownLosesNothing(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	var mu sync.Mutex
	seen := map[string]int{}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			t.Error(err)
		}
		for _, e := range decodeLines(t, b) {
			mu.Lock()
			seen[e.(map[string]any)["event"].(string)]++
			mu.Unlock()
		}
	}))
	task, sc := startTask(t, cfg("http://"+addr+"/ingest", keyBodyFormat, "ndjson", keyMaxSize, "7",
		keyMaxRetries, "-1", keyBackoff, "20", keyBackoffMax, "100", keyInFlight, "3", keyBatchKey, "${partition}"))
	recs := events("t", 60, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	putDone := make(chan error, 1)
	go func() { putDone <- task.Put(ctx, sc.Track(recs...)) }()

	time.Sleep(700 * time.Millisecond)
	if n := sc.Unacked(); n != len(recs) {
		t.Fatalf("%d of %d records acked while the endpoint was down", len(recs)-n, len(recs))
	}
	if sc.RetryingErr() == nil || !strings.Contains(sc.RetryingErr().Error(), "connection refused") {
		t.Fatalf("Retrying got %v, want a connection error", sc.RetryingErr())
	}
	l2, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", addr, err)
	}
	srv.Listener = l2
	srv.Start()
	defer srv.Close()

	if err := <-putDone; err != nil {
		t.Fatal(err)
	}
	if err := task.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 || len(sc.Reports()) != 0 {
		t.Fatalf("unacked %d double %d reports %d", sc.Unacked(), sc.DoubleAcked(), len(sc.Reports()))
	}
	mu.Lock()
	defer mu.Unlock()
	for i := range recs {
		if seen[fmt.Sprintf("e%d", i)] != 1 {
			t.Errorf("event e%d delivered %d times", i, seen[fmt.Sprintf("e%d", i)])
		}
	}
	if sc.RetryingErr() != nil {
		t.Errorf("Retrying not cleared: %v", sc.RetryingErr())
	}
}

// A 400 on one batch: with errors tolerated its records go to Report with
// the status and body, and the other batches are delivered.
func Test400GoesToReport(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if strings.Contains(string(r.Body), `"e3"`) {
			http.Error(w, `{"code":400,"error":"missing event_type"}`, http.StatusBadRequest)
		}
	})
	task, sc := startTask(t, cfg(rec.URL+"/v1/batch", keyBodyFormat, "json", keyMaxSize, "2", keyInFlight, "1"))
	put(t, task, sc, events("t", 6, 1)...)
	flush(t, task)
	if got := len(rec.requests()); got != 3 {
		t.Fatalf("got %d requests, want 3 (400 is not retried by default)", got)
	}
	reps := sc.Reports()
	if len(reps) != 2 || reps[0].Record.Offset != 2 || reps[1].Record.Offset != 3 {
		t.Fatalf("reports %+v, want offsets 2 and 3", reps)
	}
	var de *DeliveryError
	if !errors.As(reps[0].Err, &de) || de.Status != 400 || !strings.Contains(de.Body, "missing event_type") {
		t.Fatalf("report error %v", reps[0].Err)
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 {
		t.Fatalf("unacked %d double %d", sc.Unacked(), sc.DoubleAcked())
	}
}

// Without tolerance the task fails with a readable error and the failed
// records stay unacked.
func Test400FailsTask(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		if strings.Contains(string(r.Body), `"e3"`) {
			http.Error(w, `{"error":"bad payload"}`, http.StatusBadRequest)
		}
	})
	u := strings.Replace(rec.URL, "http://", "http://user:pw@", 1) + "/collect?measurement_id=G-1&api_secret=s3cr3t"
	task, sc := startTask(t, cfg(u, keyBodyFormat, "json", keyMaxSize, "2", keyInFlight, "1"))
	sc.FailOnReport = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := task.Put(ctx, sc.Track(events("t", 6, 1)...))
	if err == nil {
		err = task.Flush(ctx)
	}
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, want := range []string{"status 400", "bad payload", "t/0@2..3", "POST http://127.0.0.1", "measurement_id=G-1", "attempt"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	for _, secret := range []string{"s3cr3t", "pw@"} {
		if strings.Contains(msg, secret) {
			t.Errorf("error %q leaks %q", msg, secret)
		}
	}
	if err2 := task.Flush(ctx); err2 == nil {
		t.Error("Flush after the failure returned nil")
	}
	if sc.Unacked() == 0 {
		t.Error("failed records were acked")
	}
}

func TestRetriesExhaustedThenReport(t *testing.T) {
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		http.Error(w, "down for maintenance", http.StatusBadGateway)
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxRetries, "2", keyBackoff, "5"))
	put(t, task, sc, events("t", 1, 1)...)
	flush(t, task)
	if got := len(rec.requests()); got != 3 {
		t.Fatalf("got %d attempts, want 3", got)
	}
	reps := sc.Reports()
	var de *DeliveryError
	if len(reps) != 1 || !errors.As(reps[0].Err, &de) || de.Status != 502 || de.Attempts != 3 {
		t.Fatalf("reports %+v", reps)
	}
}

func TestBehaviorOnErrorLogAndIgnore(t *testing.T) {
	for _, mode := range []string{"log", "ignore"} {
		t.Run(mode, func(t *testing.T) {
			rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) { w.WriteHeader(http.StatusBadRequest) })
			task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyOnError, mode, keyMaxBytes, "40"))
			put(t, task, sc, jsonRec("t", 0, 0, `{"a":1}`), jsonRec("t", 0, 1, `{"big":"`+strings.Repeat("x", 50)+`"}`))
			flush(t, task)
			if len(sc.Reports()) != 0 || sc.Unacked() != 0 {
				t.Fatalf("reports %d unacked %d", len(sc.Reports()), sc.Unacked())
			}
		})
	}
}

func TestDropAndSuccessStatuses(t *testing.T) {
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		switch {
		case strings.Contains(string(r.Body), `"e0"`):
			w.WriteHeader(http.StatusConflict) // success.on
		case strings.Contains(string(r.Body), `"e1"`):
			w.WriteHeader(http.StatusRequestEntityTooLarge) // drop.on
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keySuccessOn, "409", keyDropOn, "413", keyRetryOn, "400-"))
	put(t, task, sc, events("t", 3, 1)...)
	flush(t, task)
	if got := len(rec.requests()); got != 3 {
		t.Fatalf("got %d requests, want 3 (no retries)", got)
	}
	if len(sc.Reports()) != 0 || sc.Unacked() != 0 {
		t.Fatalf("reports %d unacked %d", len(sc.Reports()), sc.Unacked())
	}
}

func TestOversizedRecordGoesToReport(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyMaxBytes, "100"))
	big := jsonRec("t", 0, 1, `{"big":"`+strings.Repeat("x", 200)+`"}`)
	put(t, task, sc, jsonRec("t", 0, 0, `{"a":1}`), big, jsonRec("t", 0, 2, `{"a":2}`))
	flush(t, task)
	equalJSON(t, decode(t, one(t, rec.requests()).Body), mustJSON(t, `[{"a":1},{"a":2}]`))
	reps := sc.Reports()
	if len(reps) != 1 || reps[0].Record != big || !errors.Is(reps[0].Err, ErrRecordTooLarge) {
		t.Fatalf("reports %+v", reps)
	}
}

func TestBatchingByCountBytesAndLinger(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "4"))
		put(t, task, sc, events("t", 10, 1)...)
		flush(t, task)
		sizes := arraySizes(t, rec.requests())
		if fmt.Sprint(sizes) != "[4 4 2]" {
			t.Fatalf("batch sizes %v", sizes)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		rec := newRecorder(t, nil)
		// each element is 29-30 bytes; 100 bytes hold 3 with brackets and commas
		task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "100", keyMaxBytes, "100"))
		put(t, task, sc, events("t", 7, 1)...)
		flush(t, task)
		for _, r := range rec.requests() {
			if len(r.Body) > 100 {
				t.Errorf("body of %d bytes > batch.max.bytes", len(r.Body))
			}
		}
		if sizes := arraySizes(t, rec.requests()); fmt.Sprint(sizes) != "[3 3 1]" {
			t.Fatalf("batch sizes %v", sizes)
		}
	})
	t.Run("linger", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "100", keyLinger, "300"))
		start := time.Now()
		for _, r := range events("t", 3, 1) {
			put(t, task, sc, r)
		}
		time.Sleep(100 * time.Millisecond)
		if n := len(rec.requests()); n != 0 {
			t.Fatalf("%d requests before the linger time", n)
		}
		eventually(t, 5*time.Second, "the lingering batch", func() bool { return len(rec.requests()) == 1 })
		if d := rec.requests()[0].At.Sub(start); d < 300*time.Millisecond {
			t.Fatalf("sent after %s, before batch.linger.ms", d)
		}
		if sizes := arraySizes(t, rec.requests()); fmt.Sprint(sizes) != "[3]" {
			t.Fatalf("batch sizes %v", sizes)
		}
		eventually(t, 5*time.Second, "acks", func() bool { return sc.Unacked() == 0 })
	})
}

func arraySizes(t *testing.T, reqs []received) []int {
	var out []int
	for _, r := range reqs {
		out = append(out, len(decode(t, r.Body).([]any)))
	}
	return out
}

func TestNullValues(t *testing.T) {
	tomb := func(offset int64) *connect.Record {
		return &connect.Record{Topic: "users", Partition: 0, Offset: offset, Key: connect.RawData(connect.FormatString, []byte("u 1"))}
	}
	t.Run("ignore", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL))
		put(t, task, sc, tomb(0))
		flush(t, task)
		if len(rec.requests()) != 0 || sc.Unacked() != 0 {
			t.Fatal("tombstone not ignored")
		}
	})
	t.Run("log", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL, keyOnNull, "log"))
		put(t, task, sc, tomb(0))
		flush(t, task)
		if len(rec.requests()) != 0 || sc.Unacked() != 0 {
			t.Fatal("tombstone not skipped")
		}
	})
	t.Run("fail", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL, keyOnNull, "fail"))
		put(t, task, sc, tomb(0))
		flush(t, task)
		if len(sc.Reports()) != 1 || !strings.Contains(sc.Reports()[0].Err.Error(), "null value") {
			t.Fatalf("reports %+v", sc.Reports())
		}
	})
	t.Run("delete", func(t *testing.T) {
		rec := newRecorder(t, nil)
		task, sc := startTask(t, cfg(rec.URL+"/users/${key}?t=${topic}", keyOnNull, "delete", keyBodyFormat, "json", keyMaxSize, "10"))
		upd := keyedRec("users", 0, 0, "u 1", `{"name":"x"}`)
		put(t, task, sc, upd, tomb(1), keyedRec("users", 0, 2, "u 1", `{"name":"y"}`))
		flush(t, task)
		reqs := rec.requests()
		if len(reqs) != 3 {
			t.Fatalf("got %d requests", len(reqs))
		}
		if reqs[0].Method != "POST" || reqs[1].Method != "DELETE" || reqs[2].Method != "POST" {
			t.Fatalf("methods %s %s %s: the DELETE must keep its place in the partition", reqs[0].Method, reqs[1].Method, reqs[2].Method)
		}
		if reqs[1].Path != "/users/u 1" || reqs[1].Query != "t=users" || len(reqs[1].Body) != 0 {
			t.Fatalf("DELETE %s?%s body %q", reqs[1].Path, reqs[1].Query, reqs[1].Body)
		}
		if sc.Unacked() != 0 {
			t.Fatal("unacked")
		}
	})
}

func TestTemplatesGroupByRenderedTarget(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL+"/${topic}/${value.tenant}", keyBodyFormat, "json", keyMaxSize, "10",
		keyHeaders, "X-Tenant: ${value.tenant}|X-Partition:${partition}|X-Key:${key}", keyBatchKey, "${value.tenant}"))
	put(t, task, sc,
		keyedRec("orders", 0, 0, "k", `{"tenant":"a/b","n":1}`),
		keyedRec("orders", 0, 1, "k", `{"tenant":"c","n":2}`),
		keyedRec("orders", 0, 2, "k", `{"tenant":"a/b","n":3}`),
		keyedRec("orders", 0, 3, "k", `{"n":4}`), // no tenant: error path
	)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("got %d requests, want 2", len(reqs))
	}
	byPath := map[string]received{}
	for _, r := range reqs {
		byPath[r.Path] = r
	}
	a, ok := byPath["/orders/a/b"]
	if !ok || a.Header.Get("X-Tenant") != "a/b" || a.Header.Get("X-Partition") != "0" || a.Header.Get("X-Key") != "k" {
		t.Fatalf("requests %+v", byPath)
	}
	equalJSON(t, decode(t, a.Body), mustJSON(t, `[{"tenant":"a/b","n":1},{"tenant":"a/b","n":3}]`))
	reps := sc.Reports()
	if len(reps) != 1 || reps[0].Record.Offset != 3 || !strings.Contains(reps[0].Err.Error(), "value.tenant") {
		t.Fatalf("reports %+v", reps)
	}
}

func TestIdempotencyHeaderStableAcrossRetries(t *testing.T) {
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) {
		if n == 0 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "10", keyIdempotency, "Idempotency-Key", keyBackoff, "5"))
	recs := events("clicks", 3, 1)
	for i, r := range recs {
		r.Offset = int64(40 + i)
	}
	put(t, task, sc, recs...)
	flush(t, task)
	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	for _, r := range reqs {
		if got := r.Header.Get("Idempotency-Key"); got != "clicks-0-40-42" {
			t.Fatalf("Idempotency-Key %q", got)
		}
	}
}

// Records of one partition arrive in offset order while requests for other
// partitions run concurrently.
func TestOrderPerPartitionWithConcurrency(t *testing.T) {
	var inflight, most atomic.Int32
	var mu sync.Mutex
	last := map[float64]float64{}
	var disorder atomic.Int32
	rec := newRecorder(t, func(n int, r *received, w http.ResponseWriter) {
		cur := inflight.Add(1)
		for {
			m := most.Load()
			if cur <= m || most.CompareAndSwap(m, cur) {
				break
			}
		}
		time.Sleep(time.Duration(n%3) * 15 * time.Millisecond)
		if n%5 == 1 {
			inflight.Add(-1)
			w.WriteHeader(http.StatusServiceUnavailable) // retried: must not let later batches overtake
			return
		}
		mu.Lock()
		for _, e := range decode(t, r.Body).([]any) {
			m := e.(map[string]any)
			p, _ := m["p"].(interface{ Float64() (float64, error) }).Float64()
			o, _ := m["n"].(interface{ Float64() (float64, error) }).Float64()
			if prev, ok := last[p]; ok && o <= prev {
				disorder.Add(1)
			}
			last[p] = o
		}
		mu.Unlock()
		inflight.Add(-1)
	})
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "3", keyInFlight, "4",
		keyBatchKey, "${partition}", keyBackoff, "5"))
	recs := events("t", 200, 4)
	for i := 0; i < len(recs); i += 20 {
		put(t, task, sc, recs[i:i+20]...)
	}
	flush(t, task)
	if disorder.Load() != 0 {
		t.Fatalf("%d records arrived out of partition order", disorder.Load())
	}
	if most.Load() < 2 {
		t.Errorf("at most %d requests were in flight at once, want concurrency across partitions", most.Load())
	}
	if sc.Unacked() != 0 || sc.DoubleAcked() != 0 {
		t.Fatalf("unacked %d double %d", sc.Unacked(), sc.DoubleAcked())
	}
}

// Put blocks when too many requests are unfinished, instead of queueing.
func TestBackpressure(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) { <-release })
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "1", keyInFlight, "1"))
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err := task.Put(ctx, sc.Track(events("t", 10, 1)...))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Put returned %v while the endpoint hung, want it blocked until ctx expired", err)
	}
	if n := len(task.reqs); n > task.maxQueued {
		t.Fatalf("%d requests queued, more than %d", n, task.maxQueued)
	}
	close(release)
}

func TestRateLimit(t *testing.T) {
	rec := newRecorder(t, nil)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxSize, "1", keyRate, "20", keyInFlight, "4"))
	start := time.Now()
	put(t, task, sc, events("t", 11, 4)...)
	flush(t, task)
	// 11 requests at 20/s with a burst of 1: the last starts >= 500ms after the first.
	if d := time.Since(start); d < 450*time.Millisecond {
		t.Fatalf("11 requests took %s at 20 requests/s", d)
	}
}

func TestFlushHonoursContext(t *testing.T) {
	release := make(chan struct{})
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) { <-release })
	defer close(release)
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json"))
	put(t, task, sc, events("t", 1, 1)...)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := task.Flush(ctx)
	var re connect.Retriable
	if !errors.As(err, &re) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Flush returned %v, want a retriable deadline error", err)
	}
}

func TestStopLeavesInFlightRecordsUnacked(t *testing.T) {
	rec := newRecorder(t, func(n int, _ *received, w http.ResponseWriter) { w.WriteHeader(503) })
	task, sc := startTask(t, cfg(rec.URL, keyBodyFormat, "json", keyMaxRetries, "-1", keyBackoff, "10"))
	put(t, task, sc, events("t", 3, 1)...)
	eventually(t, 5*time.Second, "a retry", func() bool { return len(rec.requests()) >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := task.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if sc.Unacked() != 3 || len(sc.Reports()) != 0 {
		t.Fatalf("unacked %d reports %d after Stop", sc.Unacked(), len(sc.Reports()))
	}
}
