package httpsink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

// received is one request as the test server saw it, body gunzipped.
type received struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	At     time.Time
}

// recorder is an httptest server that records requests and answers with
// respond (200 when nil).
type recorder struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []received
	respond func(n int, r *received, w http.ResponseWriter) // n counts from 0
}

func newRecorder(t testing.TB, respond func(n int, r *received, w http.ResponseWriter)) *recorder {
	rec := &recorder{respond: respond}
	rec.Server = httptest.NewServer(http.HandlerFunc(rec.handle))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) handle(w http.ResponseWriter, r *http.Request) {
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip: "+err.Error(), 400)
			return
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		http.Error(w, "read: "+err.Error(), 400)
		return
	}
	got := received{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: b, At: time.Now()}
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.reqs = append(rec.reqs, got)
	rec.mu.Unlock()
	if rec.respond != nil {
		rec.respond(n, &got, w)
	}
}

func (rec *recorder) requests() []received {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]received(nil), rec.reqs...)
}

// startTask parses cfg with the plugin spec, validates it like the runtime
// and starts a task on a fake sink context.
func startTask(t testing.TB, cfg map[string]string) (*Task, *connecttest.SinkContext) {
	t.Helper()
	task := NewTask()
	return task, connecttest.StartSink(t, Plugins()[0], task, "http", cfg)
}

func jsonRec(topic string, partition int32, offset int64, value string) *connect.Record {
	return &connect.Record{Topic: topic, Partition: partition, Offset: offset,
		Value: connect.RawData(connect.FormatJSON, []byte(value))}
}

func keyedRec(topic string, partition int32, offset int64, key, value string) *connect.Record {
	r := jsonRec(topic, partition, offset, value)
	r.Key = connect.RawData(connect.FormatString, []byte(key))
	return r
}

// events makes n JSON records spread over partitions, offsets counting per partition.
func events(topic string, n, partitions int) []*connect.Record {
	out := make([]*connect.Record, n)
	for i := range out {
		p := int32(i % partitions)
		out[i] = jsonRec(topic, p, int64(i/partitions), fmt.Sprintf(`{"event":"e%d","n":%d,"p":%d}`, i, i, p))
	}
	return out
}

// decode parses one JSON document keeping numbers exact.
func decode(t testing.TB, b []byte) any {
	t.Helper()
	v, err := connect.DecodeJSON(b)
	if err != nil {
		t.Fatalf("server received invalid JSON %q: %v", b, err)
	}
	return v
}

// decodeLines parses NDJSON.
func decodeLines(t testing.TB, b []byte) []any {
	t.Helper()
	if len(b) == 0 || b[len(b)-1] != '\n' {
		t.Fatalf("NDJSON body %q does not end with a newline", b)
	}
	var out []any
	for _, line := range bytes.Split(bytes.TrimSuffix(b, []byte("\n")), []byte("\n")) {
		out = append(out, decode(t, line))
	}
	return out
}

func mustJSON(t testing.TB, s string) any {
	t.Helper()
	return decode(t, []byte(s))
}

func asJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// eventually polls cond until it holds or the timeout passes.
func eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func cfg(url string, kv ...string) map[string]string {
	m := map[string]string{keyURL: url}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

var (
	put   = connecttest.Put
	flush = connecttest.Flush
)
