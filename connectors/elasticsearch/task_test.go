package elasticsearch

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
	"github.com/spur-connect/spur/connectors/elasticsearch/estest"
)

// realCluster returns the URL of a real Elasticsearch named by
// SPUR_TEST_ELASTICSEARCH_URL (e.g. from examples/elasticsearch), or skips.
func realCluster(t *testing.T) string {
	u := os.Getenv("SPUR_TEST_ELASTICSEARCH_URL")
	if u == "" {
		t.Skip("SPUR_TEST_ELASTICSEARCH_URL is not set (docker compose -f examples/elasticsearch/docker-compose.yml up -d; SPUR_TEST_ELASTICSEARCH_URL=http://127.0.0.1:9200)")
	}
	return strings.TrimRight(u, "/")
}

// TestScenario runs the sink's main behaviours against the stand-in and,
// when SPUR_TEST_ELASTICSEARCH_URL names one, against a real cluster; it
// reads the results over the REST API only, so both runs check the same.
func TestScenario(t *testing.T) {
	t.Run("stand-in", func(t *testing.T) { scenario(t, estest.New(t).URL) })
	t.Run("real", func(t *testing.T) { scenario(t, realCluster(t)) })
}

func scenario(t *testing.T, url string) {
	es := cluster{t, url}

	t.Run("offset ids are idempotent", func(t *testing.T) {
		topic := uniqueTopic(t, es, "events")
		task, sc := startTask(t, cfg(url, keyKeyIgnore, "true", keyBatchSize, "100"))
		recs := events(topic, 1000, 3, 0)
		put(t, task, sc, recs...)
		flush(t, task)
		checkSettled(t, sc)
		// A replay (a crash before the offset commit) rewrites the same documents.
		put(t, task, sc, events(topic, 500, 3, 0)...)
		flush(t, task)
		checkSettled(t, sc)
		if n := es.count(indexName(topic)); n != 1000 {
			t.Fatalf("%d documents, want 1000", n)
		}
		src, _ := es.doc(indexName(topic), topic+"+2+5")
		if src == nil || src["event"] != "e17" {
			t.Fatalf("document %s+2+5 = %v, want event e17", topic, src)
		}
	})

	t.Run("key ids are versioned by offset", func(t *testing.T) {
		topic := uniqueTopic(t, es, "users")
		task, sc := startTask(t, cfg(url))
		put(t, task, sc,
			rec(topic, 0, 10, `"u1"`, `{"name":"a"}`),
			rec(topic, 0, 11, `42`, `{"name":"b"}`),
			rec(topic, 0, 12, `"u1"`, `{"name":"c"}`),
		)
		flush(t, task)
		// An older write arriving late (a replay) loses against the stored one.
		put(t, task, sc, rec(topic, 0, 10, `"u1"`, `{"name":"a"}`))
		flush(t, task)
		checkSettled(t, sc)
		if len(sc.Reports()) != 0 {
			t.Fatalf("reports: %v", sc.Reports())
		}
		src, version := es.doc(indexName(topic), "u1")
		if src["name"] != "c" || version != 12 {
			t.Fatalf("u1 = %v version %d, want name c version 12", src, version)
		}
		if src, _ := es.doc(indexName(topic), "42"); src["name"] != "b" {
			t.Fatalf("42 = %v", src)
		}
	})

	t.Run("tombstones delete", func(t *testing.T) {
		topic := uniqueTopic(t, es, "profiles")
		task, sc := startTask(t, cfg(url, keyOnNull, "delete"))
		put(t, task, sc, rec(topic, 0, 1, `"p1"`, `{"x":1}`), rec(topic, 0, 2, `"p2"`, `{"x":2}`))
		put(t, task, sc, rec(topic, 0, 3, `"p1"`, ""), rec(topic, 0, 4, `"nobody"`, ""))
		flush(t, task)
		checkSettled(t, sc)
		if len(sc.Reports()) != 0 {
			t.Fatalf("reports: %v", sc.Reports())
		}
		if src, _ := es.doc(indexName(topic), "p1"); src != nil {
			t.Fatalf("p1 still there: %v", src)
		}
		if n := es.count(indexName(topic)); n != 1 {
			t.Fatalf("%d documents, want 1", n)
		}
	})

	t.Run("refused documents are reported with the reason", func(t *testing.T) {
		topic := uniqueTopic(t, es, "typed")
		task, sc := startTask(t, cfg(url, keyKeyIgnore, "true"))
		put(t, task, sc, rec(topic, 0, 0, "", `{"n":1}`))
		flush(t, task)
		put(t, task, sc, rec(topic, 0, 1, "", `{"n":"not a number"}`), rec(topic, 0, 2, "", `{"n":3}`))
		flush(t, task)
		checkSettled(t, sc)
		reps := sc.Reports()
		if len(reps) != 1 || reps[0].Record.Offset != 1 {
			t.Fatalf("reports: %v", reps)
		}
		var ie *ItemError
		if !errors.As(reps[0].Err, &ie) || ie.Status != 400 || !strings.Contains(ie.Type, "parsing_exception") || ie.ID != topic+"+0+1" {
			t.Fatalf("error %#v", reps[0].Err)
		}
		if n := es.count(indexName(topic)); n != 2 {
			t.Fatalf("%d documents, want 2", n)
		}
	})

	t.Run("upsert merges", func(t *testing.T) {
		topic := uniqueTopic(t, es, "carts")
		task, sc := startTask(t, cfg(url, keyWriteMethod, "upsert"))
		put(t, task, sc, rec(topic, 0, 0, `"c1"`, `{"a":1}`))
		flush(t, task)
		put(t, task, sc, rec(topic, 0, 1, `"c1"`, `{"b":2}`))
		flush(t, task)
		checkSettled(t, sc)
		src, _ := es.doc(indexName(topic), "c1")
		if fmt.Sprint(src) != "map[a:1 b:2]" {
			t.Fatalf("c1 = %v", src)
		}
	})

	t.Run("data stream", func(t *testing.T) {
		topic := uniqueTopic(t, es, "web")
		stream := "logs-spurtest-" + strings.ToLower(topic)
		t.Cleanup(func() { es.call(http.MethodDelete, "/_data_stream/"+stream) })
		task, sc := startTask(t, cfg(url, keyStreamType, "logs", keyStreamDataset, "spurtest"))
		put(t, task, sc, rec(topic, 0, 0, "", `{"msg":"hello"}`), rec(topic, 0, 1, "", `{"msg":"own","@timestamp":"2020-01-01T00:00:00Z"}`))
		flush(t, task)
		put(t, task, sc, rec(topic, 0, 0, "", `{"msg":"hello"}`)) // replayed: already there
		flush(t, task)
		checkSettled(t, sc)
		if len(sc.Reports()) != 0 {
			t.Fatalf("reports: %v", sc.Reports())
		}
		if n := es.count(stream); n != 2 {
			t.Fatalf("%d documents in %s, want 2", n, stream)
		}
	})
}

// standIn starts a stand-in and a task writing to it.
func standIn(t *testing.T, opts []estest.Option, kv ...string) (*estest.Server, *Task, *connecttest.SinkContext) {
	t.Helper()
	srv := estest.New(t, opts...)
	task, sc := startTask(t, cfg(srv.URL, kv...))
	return srv, task, sc
}

func TestItemsRejectedForOverloadAreRetried(t *testing.T) {
	var rejected atomic.Int32
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyBatchSize, "50", keyBackoff, "1")
	var mu sync.Mutex
	seen := map[string]bool{}
	srv.RejectItems(func(index, id string) int {
		mu.Lock()
		defer mu.Unlock()
		// the documents with ids ending in 0, 3, 6 or 9 are refused once
		if n := len(id); n > 0 && id[n-1]%3 == 0 && !seen[id] {
			seen[id] = true
			rejected.Add(1)
			return http.StatusTooManyRequests
		}
		return 0
	})
	put(t, task, sc, events("clicks", 300, 2, 0)...)
	flush(t, task)
	checkSettled(t, sc)
	if rejected.Load() == 0 || len(sc.Reports()) != 0 {
		t.Fatalf("rejected %d, reports %v", rejected.Load(), sc.Reports())
	}
	if n := srv.Count("clicks"); n != 300 {
		t.Fatalf("%d documents, want 300", n)
	}
	if sc.RetryingErr() != nil {
		t.Fatalf("retry note not cleared: %v", sc.RetryingErr())
	}
}

func TestFailedRequestsAreRetriedThenFailTheTask(t *testing.T) {
	t.Run("recovers", func(t *testing.T) {
		srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyBackoff, "1")
		srv.FailRequests(3, http.StatusServiceUnavailable)
		put(t, task, sc, events("t", 100, 1, 0)...)
		flush(t, task)
		checkSettled(t, sc)
		if n := srv.Count("t"); n != 100 {
			t.Fatalf("%d documents", n)
		}
	})
	t.Run("gives up", func(t *testing.T) {
		srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyBackoff, "1", keyMaxRetries, "2")
		srv.FailRequests(1000, http.StatusTooManyRequests)
		put(t, task, sc, events("t", 100, 1, 0)...)
		err := task.Flush(context.Background())
		if err == nil || !strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "429") {
			t.Fatalf("Flush: %v", err)
		}
		// Nothing acknowledged, nothing reported: the records are consumed again after a restart.
		if n := sc.Unacked(); n != 100 || len(sc.Reports()) != 0 {
			t.Fatalf("unacked %d reports %d", n, len(sc.Reports()))
		}
		if err := task.Put(context.Background(), nil); err == nil {
			t.Fatal("Put after the failure returned nil")
		}
	})
	t.Run("refused request", func(t *testing.T) {
		srv := estest.New(t, estest.WithBasicAuth("elastic", "right"))
		task, sc := startTask(t, cfg(srv.URL, keyUser, "elastic", keyPassword, "wrong", keyKeyIgnore, "true"))
		put(t, task, sc, events("t", 10, 1, 0)...)
		err := task.Flush(context.Background())
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), keyUser) {
			t.Fatalf("Flush: %v", err)
		}
		if strings.Contains(err.Error(), "wrong") {
			t.Fatalf("the password leaked into %v", err)
		}
	})
}

func TestMalformedDocuments(t *testing.T) {
	for _, behavior := range []string{"fail", "warn", "ignore"} {
		t.Run(behavior, func(t *testing.T) {
			srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyOnMalformed, behavior)
			srv.CreateIndex("strict", map[string]string{"a": "long"}, true)
			put(t, task, sc, rec("strict", 0, 0, "", `{"a":1}`), rec("strict", 0, 1, "", `{"a":1,"b":2}`), rec("strict", 0, 2, "", `{"a":3}`))
			flush(t, task)
			checkSettled(t, sc)
			reps := sc.Reports()
			if behavior != "fail" {
				if len(reps) != 0 {
					t.Fatalf("reports: %v", reps)
				}
			} else if len(reps) != 1 || reps[0].Record.Offset != 1 || !strings.Contains(reps[0].Err.Error(), "strict_dynamic_mapping_exception") {
				t.Fatalf("reports: %v", reps)
			}
			if n := srv.Count("strict"); n != 2 {
				t.Fatalf("%d documents", n)
			}
		})
	}
}

func TestRecordsThatCannotBeDocuments(t *testing.T) {
	cases := []struct {
		name string
		kv   []string
		rec  *connect.Record
		want string // in the reported error; "" when the record is dropped
	}{
		{"null key", nil, rec("t", 0, 0, "", `{"a":1}`), "null key"},
		{"object key", nil, rec("t", 0, 0, `{"id":1}`, `{"a":1}`), "must be a string or an integer"},
		{"fractional key", nil, rec("t", 0, 0, `1.5`, `{"a":1}`), "must be a string or an integer"},
		{"array value", []string{keyKeyIgnore, "true"}, rec("t", 0, 0, "", `[1,2]`), "an array, not a JSON object"},
		{"string value", []string{keyKeyIgnore, "true"}, &connect.Record{Topic: "t", Value: connect.RawData(connect.FormatString, []byte("hi"))}, "a string, not a JSON object"},
		{"tombstone", []string{keyKeyIgnore, "true"}, rec("t", 0, 0, "", ""), "behavior.on.null.values=fail"},
		{"tombstone ignored", []string{keyKeyIgnore, "true", keyOnNull, "ignore"}, rec("t", 0, 0, "", ""), ""},
		{"dropped", []string{keyDropInvalid, "true"}, rec("t", 0, 0, "", `{"a":1}`), ""},
		{"missing version header", []string{keyVersionHeader, "v"}, rec("t", 0, 0, `"k"`, `{"a":1}`), "has no header v"},
		{"bad topic for an index", []string{keyKeyIgnore, "true"}, rec("a*b", 0, 0, "", `{"a":1}`), "invalid index name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, task, sc := standIn(t, nil, c.kv...)
			put(t, task, sc, c.rec)
			flush(t, task)
			checkSettled(t, sc)
			reps := sc.Reports()
			if c.want == "" {
				if len(reps) != 0 {
					t.Fatalf("reports: %v", reps)
				}
			} else if len(reps) != 1 || !strings.Contains(reps[0].Err.Error(), c.want) || !strings.Contains(reps[0].Err.Error(), c.rec.Coordinates()) {
				t.Fatalf("reports %v, want one naming %q and the record", reps, c.want)
			}
			if n := len(srv.BulkRequests()); n != 0 {
				t.Fatalf("%d bulk requests for a record that cannot be written", n)
			}
		})
	}
}

func TestVersionFromHeader(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyVersionHeader, "v")
	r1 := rec("t", 0, 5, `"a"`, `{"n":1}`)
	r1.Headers.Add("v", []byte("100"))
	r2 := rec("t", 0, 6, `"a"`, `{"n":2}`)
	r2.Headers.Add("v", []byte("99")) // older by the header, though later in the topic
	put(t, task, sc, r1, r2)
	flush(t, task)
	checkSettled(t, sc)
	d, ok := srv.Doc("t", "a")
	if !ok || d.Version != 100 || string(d.Source) != `{"n":1}` {
		t.Fatalf("doc %+v", d)
	}
}

func TestInFlightRequestsAreBounded(t *testing.T) {
	for _, c := range []struct {
		kv   []string
		most int
	}{
		{[]string{keyInFlight, "3"}, 3},
		{[]string{keyInFlight, "3", keyWriteMethod, "upsert"}, 1},
	} {
		srv, task, sc := standIn(t, nil, append(c.kv, keyBatchSize, "10")...)
		srv.SetDelay(20 * time.Millisecond)
		put(t, task, sc, events("t", 200, 4, 50)...)
		flush(t, task)
		checkSettled(t, sc)
		if got := srv.MaxConcurrentBulk(); got > c.most || (c.most > 1 && got < 2) {
			t.Fatalf("%v: up to %d requests at once, want up to %d", c.kv, got, c.most)
		}
		if n := srv.Count("t"); n != 50 {
			t.Fatalf("%d documents", n)
		}
	}
}

func TestBatchesAreBoundedByCountAndBytes(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyBatchSize, "7", keyBulkBytes, "2048")
	recs := events("t", 100, 1, 0)
	big := rec("t", 0, 100, "", `{"blob":"`+strings.Repeat("x", 4000)+`"}`)
	put(t, task, sc, append(recs, big)...)
	flush(t, task)
	checkSettled(t, sc)
	items := 0
	for _, r := range srv.BulkRequests() {
		items += r.Items
		if r.Items > 7 || (r.Bytes > 2048 && r.Items > 1) {
			t.Fatalf("request of %d items, %d bytes", r.Items, r.Bytes)
		}
	}
	if items != 101 || srv.Count("t") != 101 {
		t.Fatalf("%d items sent, %d documents", items, srv.Count("t"))
	}
}

func TestLingerSendsWithoutFlush(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyLinger, "20")
	put(t, task, sc, events("t", 5, 1, 0)...)
	deadline := time.Now().Add(5 * time.Second)
	for srv.Count("t") != 5 {
		if time.Now().After(deadline) {
			t.Fatalf("%d documents after 5 s", srv.Count("t"))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCompressionAndAuthentication(t *testing.T) {
	srv := estest.New(t, estest.WithBasicAuth("elastic", "s3cret"))
	task, sc := startTask(t, cfg(srv.URL, keyUser, "elastic", keyPassword, "s3cret", keyCompression, "true", keyKeyIgnore, "true"))
	put(t, task, sc, events("t", 50, 1, 0)...)
	flush(t, task)
	checkSettled(t, sc)
	reqs := srv.BulkRequests()
	if len(reqs) == 0 || !reqs[0].Gzip || !strings.HasPrefix(reqs[0].ContentType, "application/x-ndjson") {
		t.Fatalf("requests %+v", reqs)
	}
	if srv.Count("t") != 50 {
		t.Fatalf("%d documents", srv.Count("t"))
	}
}

func TestPrettyPrintedValuesStayOneLine(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true")
	put(t, task, sc, rec("t", 0, 0, "", "{\n  \"a\": \"x\\ny\",\n  \"b\": [1,\n 2]\n}\n"))
	flush(t, task)
	checkSettled(t, sc)
	d, ok := srv.Doc("t", "t+0+0")
	var got map[string]any
	if !ok || json.Unmarshal(d.Source, &got) != nil || got["a"] != "x\ny" {
		t.Fatalf("doc %s", d.Source)
	}
}

func TestStopLeavesRecordsInFlightUnacknowledged(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true")
	srv.SetDelay(time.Hour)
	put(t, task, sc, events("t", 10, 1, 0)...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := task.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if n := sc.Unacked(); n != 10 {
		t.Fatalf("%d unacknowledged, want 10", n)
	}
}

func TestExternalResources(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyResourceUsage, "INDEX", keyResourceMapping, "orders:orders-v2")
	srv.CreateIndex("orders-v2", nil, false)
	put(t, task, sc, rec("orders", 0, 0, "", `{"a":1}`), rec("other", 0, 0, "", `{"a":1}`))
	flush(t, task)
	checkSettled(t, sc)
	if srv.Count("orders-v2") != 1 || len(sc.Reports()) != 1 || !strings.Contains(sc.Reports()[0].Err.Error(), keyResourceMapping) {
		t.Fatalf("count %d reports %v", srv.Count("orders-v2"), sc.Reports())
	}
}

func TestDataStreamTimestampField(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyStreamType, "METRICS", keyStreamDataset, "iot", keyStreamNamespace, "prod", keyStreamTSField, "ts,meta.time")
	put(t, task, sc, rec("sensors", 0, 0, "", `{"ts":"2024-05-01T10:00:00Z","v":1}`), rec("sensors", 0, 1, "", `{"meta":{"time":"2024-05-01T11:00:00Z"},"v":2}`), rec("sensors", 0, 2, "", `{"v":3}`))
	flush(t, task)
	checkSettled(t, sc)
	want := map[string]string{"sensors+0+0": "2024-05-01T10:00:00Z", "sensors+0+1": "2024-05-01T11:00:00Z", "sensors+0+2": "2023-11-14T22:13:20.002Z"}
	for id, ts := range want {
		d, ok := srv.Doc("metrics-iot-prod", id)
		var got map[string]any
		if !ok || json.Unmarshal(d.Source, &got) != nil || got["@timestamp"] != ts {
			t.Fatalf("%s: %s, want @timestamp %s", id, d.Source, ts)
		}
	}
}

func TestIndexNames(t *testing.T) {
	for topic, want := range map[string]string{
		"Orders":                 "orders",
		"_private":               "private",
		"-x":                     "x",
		".":                      "dot",
		"..":                     "dotdot",
		strings.Repeat("a", 300): strings.Repeat("a", 255),
	} {
		if got := indexName(topic); got != want {
			t.Errorf("indexName(%q) = %q, want %q", topic, got, want)
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		kv  []string
		key string
	}{
		{[]string{keyURLs, "ftp://x"}, keyURLs},
		{[]string{keyUser, "u"}, keyPassword},
		{[]string{keyAPIKey, "k", keyUser, "u", keyPassword, "p"}, keyAPIKey},
		{[]string{keyWriteMethod, "upsert", keyAutoIDs, "true"}, keyAutoIDs},
		{[]string{keyOnNull, "delete", keyKeyIgnore, "true"}, keyOnNull},
		{[]string{keyStreamType, "LOGS"}, keyStreamDataset},
		{[]string{keyStreamType, "LOGS", keyStreamDataset, "Bad Name"}, keyStreamDataset},
		{[]string{keyStreamTSField, "ts"}, keyStreamTSField},
		{[]string{keyResourceUsage, "INDEX"}, keyResourceMapping},
		{[]string{keyResourceUsage, "INDEX", keyResourceMapping, "a:x,b:x"}, keyResourceMapping},
		{[]string{keyResourceMapping, "a:x"}, keyResourceMapping},
		{[]string{keyKerberosUser, "me@REALM"}, keyKerberosUser},
		{[]string{keyBulkBytes, "10"}, keyBulkBytes},
		{[]string{keyTrustLocation, "/x.pem"}, keyTrustLocation},
		{[]string{keySecurity, "SSL", keyTrustLocation, "/does/not/exist.pem"}, keyTrustLocation},
		{[]string{keyOnNull, "delete", keyTopicKeyIgnore, "a"}, keyOnNull},
		{[]string{keyOnNull, "delete", keyStreamType, "LOGS", keyStreamDataset, "x"}, keyOnNull},
		{[]string{keyVersionHeader, "v", keyKeyIgnore, "true"}, keyVersionHeader},
		{[]string{keyProxyHost, "http://proxy"}, keyProxyHost},
	}
	for _, c := range cases {
		raw := map[string]string{keyURLs: "http://127.0.0.1:9200"}
		for i := 0; i+1 < len(c.kv); i += 2 {
			raw[c.kv[i]] = c.kv[i+1]
		}
		conf, errs := Spec().Parse(raw)
		all := append([]connect.KeyError(nil), errs...)
		if len(errs) == 0 {
			all = append(all, validateSettings(conf)...)
		}
		found := false
		for _, e := range all {
			found = found || e.Key == c.key
		}
		if !found {
			t.Errorf("%v: errors %v, want one naming %s", c.kv, all, c.key)
		}
	}
}

func TestTLSWithTrustStoreAndAPIKey(t *testing.T) {
	es := estest.New(t)
	backend, _ := url.Parse(es.URL)
	var auth atomic.Value
	proxy := httputil.NewSingleHostReverseProxy(backend)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth.Store(r.Header.Get("Authorization"))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// Without the trust store the server's certificate is refused: the
	// request fails for good, naming the cause.
	task, sc := startTask(t, cfg(srv.URL, keyKeyIgnore, "true", keyMaxRetries, "0"))
	put(t, task, sc, events("t", 3, 1, 0)...)
	if err := task.Flush(context.Background()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Flush without a trust store: %v", err)
	}

	task, sc = startTask(t, cfg(srv.URL, keyKeyIgnore, "true", keySecurity, "SSL", keyTrustLocation, ca, keyAPIKey, "c2VjcmV0"))
	put(t, task, sc, events("t", 3, 1, 0)...)
	flush(t, task)
	checkSettled(t, sc)
	if es.Count("t") != 3 || auth.Load() != "ApiKey c2VjcmV0" {
		t.Fatalf("count %d, Authorization %v", es.Count("t"), auth.Load())
	}
}

func TestIDsElasticsearchWouldRefuseAreRefusedOneByOne(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyOnNull, "delete")
	long := `"` + strings.Repeat("x", 600) + `"`
	put(t, task, sc, rec("t", 0, 0, `"ok1"`, `{"a":1}`), rec("t", 0, 1, long, `{"a":2}`), rec("t", 0, 2, `""`, ""),
		rec("t", 0, 3, `"caf\u00e9"`, `{"a":3}`), rec("t", 0, 4, `"ok2"`, `{"a":4}`))
	flush(t, task)
	checkSettled(t, sc)
	reps := sc.Reports()
	if len(reps) != 2 || !strings.Contains(reps[0].Err.Error(), "over 512 bytes") || !strings.Contains(reps[1].Err.Error(), "empty document id") {
		t.Fatalf("reports %v", reps)
	}
	if _, ok := srv.Doc("t", "café"); !ok || srv.Count("t") != 3 {
		t.Fatalf("%d documents; café there: %v", srv.Count("t"), ok)
	}
}

func TestRequestRefusedAsAWholeIsSplitToFindTheCulprit(t *testing.T) {
	es := estest.New(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") {
			body, _ := io.ReadAll(r.Body)
			if bytes.Contains(body, []byte("poison")) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusRequestEntityTooLarge)
				io.WriteString(w, `{"error":{"type":"content_too_long_exception","reason":"entity too large"},"status":413}`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		es.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	task, sc := startTask(t, cfg(srv.URL, keyKeyIgnore, "true", keyBatchSize, "100"))
	recs := events("t", 40, 1, 0)
	recs[17] = rec("t", 0, 17, "", `{"poison":true}`)
	put(t, task, sc, recs...)
	flush(t, task)
	checkSettled(t, sc)
	reps := sc.Reports()
	if len(reps) != 1 || reps[0].Record.Offset != 17 || !strings.Contains(reps[0].Err.Error(), "413") {
		t.Fatalf("reports %v", reps)
	}
	if es.Count("t") != 39 {
		t.Fatalf("%d documents", es.Count("t"))
	}
}

func TestUpsertTombstonesDelete(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyWriteMethod, "upsert", keyOnNull, "delete")
	put(t, task, sc, rec("t", 0, 0, `"c1"`, `{"a":1}`), rec("t", 0, 1, `"c1"`, `{"b":1}`), rec("t", 0, 2, `"c1"`, `{"c":1}`))
	flush(t, task)
	put(t, task, sc, rec("t", 0, 3, `"c1"`, ""))
	flush(t, task)
	checkSettled(t, sc)
	if _, ok := srv.Doc("t", "c1"); ok || len(sc.Reports()) != 0 {
		t.Fatalf("c1 still there after its tombstone (reports %v)", sc.Reports())
	}
}

func TestLingerAfterARefusedFirstRecord(t *testing.T) {
	srv, task, sc := standIn(t, nil, keyKeyIgnore, "true", keyLinger, "20")
	put(t, task, sc, rec("t", 0, 0, "", `[1]`), rec("t", 0, 1, "", `{"a":1}`))
	deadline := time.Now().Add(5 * time.Second)
	for srv.Count("t") != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the record after a refused one was not sent by the linger timer")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestStalledResponseIsRetried(t *testing.T) {
	es := estest.New(t)
	release := make(chan struct{})
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/_bulk") && n.Add(1) == 1 {
			w.WriteHeader(http.StatusOK) // headers, then nothing
			w.(http.Flusher).Flush()
			<-release
			return
		}
		es.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // before srv.Close, which waits for the handler
	task, sc := startTask(t, cfg(srv.URL, keyKeyIgnore, "true", keyConnTimeout, "100", keyReadTimeout, "100", keyBackoff, "1"))
	put(t, task, sc, events("t", 5, 1, 0)...)
	flush(t, task)
	checkSettled(t, sc)
	if es.Count("t") != 5 || n.Load() < 2 {
		t.Fatalf("%d documents after %d requests", es.Count("t"), n.Load())
	}
}
