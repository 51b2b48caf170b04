package elasticsearch

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spur-connect/spur/connect"
	"github.com/spur-connect/spur/connect/connecttest"
)

// startTask parses cfg with the plugin spec, validates it like the runtime
// and starts a task on a fake sink context.
func startTask(t testing.TB, cfg map[string]string) (*Task, *connecttest.SinkContext) {
	t.Helper()
	task := NewTask()
	return task, connecttest.StartSink(t, Plugins()[0], task, "es", cfg)
}

func cfg(url string, kv ...string) map[string]string {
	m := map[string]string{keyURLs: url, keyLinger: "0"}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func rec(topic string, partition int32, offset int64, key, value string) *connect.Record {
	r := &connect.Record{Topic: topic, Partition: partition, Offset: offset, Timestamp: time.UnixMilli(1700000000000 + offset).UTC()}
	if key != "" {
		r.Key = connect.RawData(connect.FormatJSON, []byte(key))
	}
	if value != "" {
		r.Value = connect.RawData(connect.FormatJSON, []byte(value))
	}
	return r
}

// events makes n JSON records spread over partitions, offsets counting per
// partition, keyed "k<i mod keys>" when keys > 0.
func events(topic string, n, partitions, keys int) []*connect.Record {
	out := make([]*connect.Record, n)
	for i := range out {
		p := int32(i % partitions)
		key := ""
		if keys > 0 {
			key = fmt.Sprintf(`"k%d"`, i%keys)
		}
		out[i] = rec(topic, p, int64(i/partitions), key, fmt.Sprintf(`{"event":"e%d","n":%d,"p":%d}`, i, i, p))
	}
	return out
}

// checkSettled fails unless every tracked record was acknowledged exactly
// once (reported records are acknowledged by the fake context).
func checkSettled(t testing.TB, sc *connecttest.SinkContext) {
	t.Helper()
	if n := sc.Unacked(); n != 0 {
		t.Errorf("%d records not acknowledged", n)
	}
	if n := sc.DoubleAcked(); n != 0 {
		t.Errorf("%d records acknowledged twice", n)
	}
}

// cluster reads an Elasticsearch (real or stand-in) over its REST API, so
// the same checks run against both.
type cluster struct {
	t   testing.TB
	url string
}

func (c cluster) call(method, path string) (int, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.url+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	dec := json.NewDecoder(resp.Body)
	dec.UseNumber()
	if err := dec.Decode(&out); err != nil && err != io.EOF {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// count refreshes index and counts its documents.
func (c cluster) count(index string) int {
	c.t.Helper()
	c.call(http.MethodPost, "/"+index+"/_refresh")
	status, out := c.call(http.MethodGet, "/"+index+"/_count")
	if status != 200 {
		c.t.Fatalf("count %s: %d %v", index, status, out)
	}
	n, _ := out["count"].(json.Number).Int64()
	return int(n)
}

// doc returns a document's _source and _version, or nil if it is missing.
func (c cluster) doc(index, id string) (map[string]any, int64) {
	c.t.Helper()
	status, out := c.call(http.MethodGet, "/"+index+"/_doc/"+id)
	if status == 404 {
		return nil, 0
	}
	if status != 200 {
		c.t.Fatalf("get %s/%s: %d %v", index, id, status, out)
	}
	v, _ := out["_version"].(json.Number).Int64()
	src, _ := out["_source"].(map[string]any)
	return src, v
}

// uniqueTopic names a topic no earlier run used, so tests can share a real
// cluster; its index is deleted when the test ends.
func uniqueTopic(t testing.TB, c cluster, prefix string) string {
	name := fmt.Sprintf("%s-%s-%d", prefix, strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-")), time.Now().UnixNano())
	t.Cleanup(func() { c.call(http.MethodDelete, "/"+indexName(name)) })
	return name
}

var (
	put   = connecttest.Put
	flush = connecttest.Flush
)
