package elasticsearch

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/spur-connect/spur/connect"
)

var benchValue = []byte(`{"event_id":"0f8fad5b-d9cb-469f-a165-70867728950e","event":"page_view","user_id":"u-12345","ts":"2024-05-01T10:00:00.000Z","page":{"url":"https://shop.example.com/p/123","title":"Product 123"},"props":{"price":19.99,"currency":"EUR","qty":2}}`)

// BenchmarkAppendItem measures building one bulk item from a ~250 B JSON
// event: go test -run XXX -bench AppendItem -benchmem ./connectors/elasticsearch/
func BenchmarkAppendItem(b *testing.B) {
	for _, mode := range []struct {
		name string
		kv   []string
	}{
		{"offset-id", []string{keyKeyIgnore, "true"}},
		{"key-id-versioned", nil},
		{"upsert", []string{keyWriteMethod, "upsert"}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			c, _ := Spec().Parse(cfg("http://127.0.0.1:1", mode.kv...))
			s, _ := newSettings(c)
			task := &Task{s: s}
			r := &connect.Record{Topic: "events", Partition: 3, Offset: 123456789,
				Key: connect.RawData(connect.FormatJSON, []byte(`"u-12345"`)), Value: connect.RawData(connect.FormatJSON, benchValue)}
			buf := make([]byte, 0, 1<<20)
			b.SetBytes(int64(len(benchValue)))
			b.ReportAllocs()
			for b.Loop() {
				if len(buf) > 1<<20-1024 {
					buf = buf[:0]
				}
				var err error
				if buf, _, err = task.appendItem(buf, r, "events"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDelivery measures the task end to end (Put, bulk requests,
// acknowledgements) against a receiver that reads each body and answers
// "errors":false, as Elasticsearch does when every item succeeded; it
// bounds what the sink can do, not what a cluster can index:
// go test -run XXX -bench Delivery -benchmem ./connectors/elasticsearch/
func BenchmarkDelivery(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead {
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"took":1,"errors":false,"items":[]}`)
	}))
	defer srv.Close()
	for _, gzip := range []string{"false", "true"} {
		b.Run("gzip="+gzip, func(b *testing.B) {
			task, sc := startTask(b, cfg(srv.URL, keyKeyIgnore, "true", keyCompression, gzip, keyBatchSize, "2000"))
			const per = 500
			batch := make([]*connect.Record, per)
			b.SetBytes(int64(len(benchValue)) * per)
			b.ReportAllocs()
			off := int64(0)
			for b.Loop() {
				for i := range batch {
					batch[i] = &connect.Record{Topic: "events", Partition: int32(off % 6), Offset: off, Value: connect.RawData(connect.FormatJSON, benchValue)}
					off++
				}
				put(b, task, sc, batch...)
			}
			flush(b, task)
			b.ReportMetric(float64(off)/b.Elapsed().Seconds(), "records/s")
			if n := sc.Unacked(); n != 0 {
				b.Fatal(fmt.Sprint(n, " unacked"))
			}
		})
	}
}
